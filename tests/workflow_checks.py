"""What the delivery pipeline must be, checked on the workflow files as GitHub reads them.

`problems(root)` returns every way the workflows under `root/.github` fall short; the tests
assert it is empty for ours and non-empty for each deliberate breakage (test_ci_mutations.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
import yaml

SHA_PIN = re.compile(r"^\s*-?\s*uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})\s+#\s*(v\d+(?:\.\d+)*)\s*$")
PULUMI_ACTION = "pulumi/actions"
AWS_CREDENTIALS = "aws-actions/configure-aws-credentials"
PULUMI_AUTH = "pulumi/auth-actions"
CHECKOUT = "actions/checkout"
SETUP_PYTHON = "actions/setup-python"
# Per job, the most a job may hold; id-token only where cloud credentials are requested.
ALLOWED_WRITE = {"id-token", "pull-requests"}


class GitHubLoader(yaml.SafeLoader):
    """YAML as GitHub reads workflows: `on`, `yes`, `no` are strings, not booleans (PyYAML's
    YAML 1.1 resolver would turn the `on:` key into True, and triggers would go unchecked)."""


GitHubLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
GitHubLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))


def load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=GitHubLoader)


def workflows(root: Path) -> dict[str, dict]:
    return {p.name: load(p) for p in sorted((root / ".github" / "workflows").glob("*.yml"))}


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def action(step: dict) -> str:
    return step.get("uses", "").split("@")[0]


def all_steps(flows: dict[str, dict]):
    for file, flow in flows.items():
        for job_id, job in flow.get("jobs", {}).items():
            for step in steps(job):
                yield file, job_id, job, step


def _sdk_version(root: Path) -> str:
    return re.search(r"^pulumi==(\S+)$", (root / "requirements.txt").read_text(), re.MULTILINE).group(1)


def pin_problems(root: Path) -> list[str]:
    """Every remote action pinned to a commit with its version beside it, matching the pins file;
    every `with:` input declared by that commit's action.yml, every required input given."""
    found = []
    pins = json.loads((root / ".github" / "pinned-actions.json").read_text())
    for path in sorted((root / ".github" / "workflows").glob("*.yml")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "uses:" not in line or re.search(r"uses:\s*\./", line):
                continue
            match = SHA_PIN.match(line)
            if not match:
                found.append(f"{path.name}:{number}: not pinned as owner/repo@<40-hex commit> # vX.Y.Z: {line.strip()}")
                continue
            name, sha, version = match.groups()
            pin = pins.get(name)
            if not pin or (pin["sha"], pin["version"]) != (sha, version):
                found.append(f"{path.name}:{number}: {name}@{sha} # {version} is not the pin in pinned-actions.json")
    flows = workflows(root)
    for file, job_id, _, step in all_steps(flows):
        name = action(step)
        if not name or name.startswith("./") or name not in pins:
            continue
        declared = load(root / ".github" / pins[name]["action_yml"]).get("inputs") or {}
        given = set(step.get("with") or {})
        for key in sorted(given - set(declared)):
            found.append(f"{file} {job_id}: {name} has no input {key!r} (its action.yml declares "
                         f"{', '.join(sorted(declared))})")
        for key, spec in declared.items():
            if (spec or {}).get("required") is True and "default" not in (spec or {}) and key not in given:
                found.append(f"{file} {job_id}: {name} needs input {key!r}")
    return found


def hygiene_problems(root: Path) -> list[str]:
    found = []
    flows = workflows(root)
    sdk = _sdk_version(root)
    for file, flow in flows.items():
        triggers = flow.get("on") or {}
        if "pull_request_target" in triggers:
            found.append(f"{file}: pull_request_target runs fork code with secrets; use pull_request")
        if flow.get("permissions") != {}:
            found.append(f"{file}: top-level permissions must be {{}} (each job asks for its own)")
        for job_id, job in flow.get("jobs", {}).items():
            where = f"{file} {job_id}"
            if "uses" not in job and "timeout-minutes" not in job:
                found.append(f"{where}: no timeout-minutes")
            permissions = job.get("permissions")
            if not isinstance(permissions, dict):
                found.append(f"{where}: no job permissions")
                permissions = {}
            for scope, level in permissions.items():
                if level == "write" and scope not in ALLOWED_WRITE:
                    found.append(f"{where}: {scope}: write is more than any job here needs")
            uses = {action(s) for s in steps(job)}
            wants_token = bool(uses & {AWS_CREDENTIALS, PULUMI_AUTH}) or "uses" in job
            if wants_token and permissions.get("id-token") != "write":
                found.append(f"{where}: requests cloud credentials through OIDC without id-token: write")
            if not wants_token and permissions.get("id-token"):
                found.append(f"{where}: id-token without any OIDC login")
            for step in steps(job):
                if action(step) == CHECKOUT and (step.get("with") or {}).get("persist-credentials") is not False:
                    found.append(f"{where}: checkout keeps its credentials (persist-credentials: false)")
                if action(step) == CHECKOUT and "ref" in (step.get("with") or {}):
                    found.append(f"{where}: checkout of another ref than the event's")
                if action(step) == PULUMI_ACTION and str((step.get("with") or {}).get("pulumi-version")) != sdk:
                    found.append(f"{where}: pulumi/actions must pin pulumi-version {sdk} (the SDK's version)")
                if action(step) == SETUP_PYTHON and (step.get("with") or {}).get("cache") != "pip":
                    found.append(f"{where}: setup-python without the pip cache (every job installs the pins)")
                found += _step_problems(where, job, step, flow)
            # Job outputs and the environment's URL read steps' outputs too.
            found += _step_problems(f"{where} (job)", job, {"outputs": job.get("outputs"),
                                                            "environment": job.get("environment")}, flow)
            if any(action(s) == PULUMI_ACTION for s in steps(job)) \
                    and (job.get("env") or {}).get("PULUMI_DEFAULT_ORGANIZATION") != "${{ vars.PULUMI_ORG }}":
                found.append(f"{where}: unqualified stack names need PULUMI_DEFAULT_ORGANIZATION (vars.PULUMI_ORG)")
    return found


def _exports(root: Path) -> set[str]:
    return set(re.findall(r'pulumi\.export\("(\w+)"', (root / "__main__.py").read_text()))


_ROOT: list[Path] = []


def _step_problems(where: str, job: dict, step: dict, flow: dict) -> list[str]:
    """Outputs read exist where they are read from; no step fails open."""
    found = []
    given = step.get("with") or {}
    text = json.dumps(step)
    for producer, name in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", text):
        source = next((s for s in steps(job) if s.get("id") == producer), None)
        if source is None:
            found.append(f"{where}: reads steps.{producer}, which this job has no step for")
        elif action(source) == PULUMI_ACTION:
            if name not in _exports(_ROOT[0]):
                found.append(f"{where}: reads stack output {name!r}, which __main__.py does not export")
        elif "uses" not in source and f'echo "{name}=' not in source.get("run", ""):
            found.append(f"{where}: reads steps.{producer}.outputs.{name}, which that step never writes")
    for needed, name in re.findall(r"needs\.([\w-]+)\.outputs\.([\w-]+)", text):
        if name not in flow.get("jobs", {}).get(needed, {}).get("outputs", {}):
            found.append(f"{where}: reads needs.{needed}.outputs.{name}, which that job does not output")
    for line in step.get("run", "").splitlines():
        if "$(" in line and "GITHUB_OUTPUT" in line:
            found.append(f"{where}: `echo k=$(cmd) >> $GITHUB_OUTPUT` fails open; assign first: {line.strip()}")
    if action(step) == PULUMI_ACTION:
        if given.get("cloud-url") != "${{ vars.PULUMI_BACKEND_URL }}":
            found.append(f"{where}: pulumi/actions without cloud-url: vars.PULUMI_BACKEND_URL (S3 backends)")
        if given.get("command") in ("preview", "up") and not str(given.get("config-map", "")).startswith("${{ steps."):
            found.append(f"{where}: {given.get('command')} without the release image (config-map)")
        if step.get("continue-on-error") and given.get("command") != "output":
            found.append(f"{where}: a {given.get('command')} that may fail without failing the job")
    return found


def _pulumi_steps(job: dict, command: str) -> list[dict]:
    return [s for s in steps(job) if action(s) == PULUMI_ACTION and (s.get("with") or {}).get("command") == command]


def _policy_gated(where: str, job: dict, step: dict) -> list[str]:
    given = step.get("with") or {}
    found = []
    if given.get("policyPacks") != "policies":
        found.append(f"{where}: {given.get('command')} is not gated by the policy pack (policyPacks: policies)")
    config = str(given.get("policyPackConfigs", ""))
    match = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", config)
    source = next((s for s in steps(job) if match and s.get("id") == match.group(1)), None)
    if not source or '=$(.venv/bin/python -m preflight --stack "$STACK" --print-policy-config)\n' \
            not in source.get("run", "") \
            or f"{match.group(2)}=" not in source.get("run", ""):
        found.append(f"{where}: policyPackConfigs must be the stack's environment's file "
                     "(preflight --print-policy-config)")
    return found


def _credentials(job: dict) -> str:
    [login] = [s for s in steps(job) if action(s) == AWS_CREDENTIALS] or [{}]
    return str((login.get("with") or {}).get("role-to-assume", ""))


def pull_request_problems(root: Path) -> list[str]:
    flow = workflows(root).get("pull-request.yml")
    if not flow:
        return ["pull-request.yml is missing"]
    found = []
    if set(flow.get("on") or {}) != {"pull_request"}:
        found.append(f"pull-request.yml: triggers {sorted(flow.get('on') or {})}, expected pull_request only")
    jobs = flow.get("jobs", {})
    checks, preview = jobs.get("checks", {}), jobs.get("preview", {})
    runs = " ".join(s.get("run", "") for s in steps(checks))
    if "if" in checks:
        found.append("checks: must run on every pull request, forks included")
    for needed in (".ci/run", "pipeline.py pr-report", "pipeline.py stacks"):
        if needed not in runs:
            found.append(f"checks: does not run {needed}")
    report = next((s.get("run", "") for s in steps(checks) if "pipeline.py pr-report" in s.get("run", "")), "")
    if '--summary "$GITHUB_STEP_SUMMARY"' not in report:
        found.append("checks: the reports do not reach the job summary")
    if preview.get("if", "").replace(" ", "") != "github.event.pull_request.head.repo.full_name==github.repository":
        found.append("preview: must run for same-repository pull requests only (forks get no credentials)")
    if preview.get("needs") != "checks" or "needs.checks.outputs.stacks" not in str(preview.get("strategy")):
        found.append("preview: the matrix must be every stack (needs.checks.outputs.stacks)")
    if preview.get("permissions", {}).get("pull-requests") != "write":
        found.append("preview: cannot comment (pull-requests: write)")
    if "AWS_PREVIEW_ROLE_ARN" not in _credentials(preview):
        found.append("preview: must use the read-only preview role (vars.AWS_PREVIEW_ROLE_ARN)")
    previews = _pulumi_steps(preview, "preview")
    if len(previews) != 1:
        found.append("preview: needs exactly one pulumi/actions preview step")
    for step in previews:
        given = step.get("with") or {}
        if given.get("stack-name") != "${{ matrix.stack }}":
            found.append("preview: stack-name must be the matrix stack")
        if given.get("comment-on-pr") is not True or given.get("diff") is not True:
            found.append("preview: must post the diff as a PR comment (diff, comment-on-pr)")
        found += _policy_gated("preview", preview, step)
    failed = [s for s in steps(preview) if "pipeline.py preview-failed" in s.get("run", "")]
    if not failed or failed[0].get("if") != "failure()":
        found.append("preview: a failed preview must replace the stack's PR comment (if: failure())")
    triggers = flow.get("on") or {}
    if (triggers.get("pull_request") or {}).get("types"):
        found.append("pull-request.yml: pull_request limited to some types: new pushes would keep stale previews")
    if (next((s for s in steps(checks) if action(s) == CHECKOUT), {}).get("with") or {}).get("fetch-depth") != 0:
        found.append("checks: preflight diff needs the PR's base commit (checkout fetch-depth: 0)")
    gate = jobs.get("previews", {})
    if gate.get("if") != "always()" or set(gate.get("needs", [])) != {"checks", "preview"} \
            or "needs.checks.result" not in json.dumps(gate) or "needs.preview.result" not in json.dumps(gate):
        found.append("previews: one always-reporting check must sum up checks and every preview (a skipped "
                     "matrix never reports its per-stack checks)")
    jobs_with_secrets = [j for j, job in jobs.items() if "secrets." in json.dumps(job)]
    if jobs_with_secrets:
        found.append(f"pull-request.yml: {jobs_with_secrets} read secrets; previews use OIDC only")
    return found


def main_problems(root: Path) -> list[str]:
    flows = workflows(root)
    flow, deploy = flows.get("main.yml"), flows.get("deploy-stack.yml")
    if not flow or not deploy:
        return ["main.yml or deploy-stack.yml is missing"]
    found = []
    if flow.get("on") != {"push": {"branches": ["main"]}}:
        found.append(f"main.yml: triggers {flow.get('on')}, expected push to main only")
    jobs = flow.get("jobs", {})
    release = jobs.get("release", {})
    builds = [s for s in steps(release) if "docker buildx build app " in s.get("run", "")]
    build = builds[0]["run"] if len(builds) == 1 else ""
    if "--push" not in build or "for arch in amd64 arm64" not in build:
        found.append("release: must build app/ once, for both Fargate architectures, and push it")
    if "--provenance=false --sbom=false" not in build:
        found.append("release: attestation manifests are untagged children an expiry rule may delete")
    if not any('imagetools create --tag "$REPOSITORY:$GITHUB_SHA"' in s.get("run", "") for s in steps(release)):
        found.append("release: the image must be tagged with the git SHA")
    qemu = [s for s in steps(release) if action(s) == "docker/setup-qemu-action"]
    if not qemu or "arm64" not in str(qemu[0].get("with", {}).get("platforms")):
        found.append("release: building for arm64 on an x86 runner needs QEMU")
    if "release-tag --context app" not in json.dumps(release):
        found.append("release: reuse must be keyed on the build context and its base images (release-tag)")
    if "AWS_RELEASE_ROLE_ARN" not in _credentials(release):
        found.append("release: must push with the release role (vars.AWS_RELEASE_ROLE_ARN)")
    if "image" not in release.get("outputs", {}) or not any(
            'echo "image=$REPOSITORY@$DIGEST"' in s.get("run", "") for s in steps(release)):
        found.append("release: must output the image by digest (repository@sha256:...)")
    order = [("deploy-dev", "dev", {"release"}), ("deploy-staging", "staging", {"release", "deploy-dev"}),
             ("deploy-prod", "prod", {"release", "deploy-dev", "deploy-staging"})]
    for job_id, stack, needs in order:
        job = jobs.get(job_id, {})
        given = job.get("with") or {}
        if job.get("uses") != "./.github/workflows/deploy-stack.yml" or given.get("stack") != stack:
            found.append(f"{job_id}: must deploy {stack} through deploy-stack.yml")
        if given.get("image") != "${{ needs.release.outputs.image }}":
            found.append(f"{job_id}: must deploy the release job's digest (the same image everywhere)")
        job_needs = job.get("needs", [])
        if not needs <= set([job_needs] if isinstance(job_needs, str) else job_needs):
            found.append(f"{job_id}: must wait for {sorted(needs)}")
    condition = " ".join(str(jobs.get("deploy-prod", {}).get("if", "")).split())
    if condition != ("!cancelled() && needs.deploy-dev.result == 'success' "
                     "&& contains(fromJSON('[\"success\", \"skipped\"]'), needs.deploy-staging.result)"):
        found.append(f"deploy-prod: must run only after dev (and staging, when it exists) succeeded: {condition}")
    if jobs.get("deploy-staging", {}).get("if") != "contains(fromJSON(needs.test.outputs.stacks), 'staging')":
        found.append("deploy-staging: must run only when the repository has a staging stack")

    if set(deploy.get("on") or {}) != {"workflow_call"}:
        found.append("deploy-stack.yml: must only be called by main.yml (workflow_call)")
    [job] = deploy.get("jobs", {}).values() or [{}]
    if job.get("environment", {}).get("name") != "${{ inputs.stack }}":
        found.append("deploy-stack.yml: the job must run in the stack's GitHub environment (reviewers, role)")
    concurrency = job.get("concurrency", {})
    if concurrency.get("group") != "deploy-${{ inputs.stack }}" or concurrency.get("cancel-in-progress") is not False:
        found.append("deploy-stack.yml: one concurrency group per stack that never cancels a running update")
    if "AWS_DEPLOY_ROLE_ARN" not in _credentials(job):
        found.append("deploy-stack.yml: must use the environment's deploy role (vars.AWS_DEPLOY_ROLE_ARN)")
    lasts = 60 * int(job.get("timeout-minutes", 360))
    for step in steps(job):
        given = step.get("with") or {}
        if action(step) == AWS_CREDENTIALS and int(given.get("role-duration-seconds", 3600)) < lasts:
            found.append("deploy-stack.yml: AWS credentials expire before the job's timeout")
        if action(step) == PULUMI_AUTH and int(given.get("token-expiration", 0)) < lasts:
            found.append("deploy-stack.yml: the Pulumi token may expire before the job's timeout")
    if (next((s for s in steps(job) if action(s) == CHECKOUT), {}).get("with") or {}).get("fetch-depth") != 0:
        found.append("deploy-stack.yml: the order check needs the history (checkout fetch-depth: 0)")
    ups = _pulumi_steps(job, "up")
    if len(ups) != 1:
        found.append("deploy-stack.yml: needs exactly one pulumi/actions up step")
    order = next((s for s in steps(job) if "pipeline.py newer-deployed" in s.get("run", "")), None)
    if not order or (ups and steps(job).index(order) > steps(job).index(ups[0])) \
            or any(s.get("if") != f"steps.{order.get('id')}.outputs.deploy == 'true'"
                   for s in steps(job) if s in ups or "verify-rollout" in s.get("run", "")):
        found.append("deploy-stack.yml: an older commit could deploy over a newer one (newer-deployed before up)")
    gates = [s for s in _pulumi_steps(job, "preview") if ups and steps(job).index(s) < steps(job).index(ups[0])]
    if not gates:
        found.append("deploy-stack.yml: no policy-gated preview before up (up skips its preview)")
    for step in ups + gates:
        given = step.get("with") or {}
        if given.get("stack-name") != "${{ inputs.stack }}":
            found.append("deploy-stack.yml: stack-name must be inputs.stack")
        found += _policy_gated("deploy-stack.yml", job, step)
        config = next((s for s in steps(job) if s.get("id") == "stack"), {})
        if given.get("config-map") != "${{ steps.stack.outputs.config-map }}" \
                or "config-map --release-image \"$IMAGE\" --require" not in config.get("run", "") \
                or config.get("env", {}).get("IMAGE") != "${{ inputs.image }}":
            found.append("deploy-stack.yml: the release image must reach the stack as config")
        after = steps(job)[steps(job).index(step) + 1:]
        if step in ups and not any("pipeline.py verify-rollout" in s.get("run", "") for s in after):
            found.append("deploy-stack.yml: nothing fails the deploy when ECS rolls it back (verify-rollout)")
    return found


def drift_problems(root: Path) -> list[str]:
    flow = workflows(root).get("drift.yml")
    if not flow:
        return ["drift.yml is missing"]
    found = []
    if "schedule" not in (flow.get("on") or {}):
        found.append("drift.yml: not scheduled")
    job = flow.get("jobs", {}).get("drift", {})
    if "needs.stacks.outputs.stacks" not in str(job.get("strategy")):
        found.append("drift: the matrix must be every stack")
    if "AWS_PREVIEW_ROLE_ARN" not in _credentials(job):
        found.append("drift: must use the read-only preview role")
    previews = _pulumi_steps(job, "preview")
    if len(previews) != 1:
        found.append("drift: needs exactly one pulumi/actions preview step")
    for step in previews:
        given = step.get("with") or {}
        if given.get("refresh") is not True or given.get("expect-no-changes") is not True:
            found.append("drift: the preview must refresh and expect no changes")
    if _pulumi_steps(job, "up") or _pulumi_steps(job, "refresh") or _pulumi_steps(job, "destroy"):
        found.append("drift: must not change anything")
    reports = [s for s in steps(job) if "pipeline.py drift-report" in s.get("run", "")]
    if not reports or "failure()" not in reports[0].get("if", ""):
        found.append("drift: a drifted stack must say which resources drifted (drift-report on failure)")
    return found


def make_problems(root: Path) -> list[str]:
    """Commands the workflows run exist: make targets and .ci/pipeline.py subcommands."""
    targets = set(re.findall(r"^([a-z-]+):", (root / "Makefile").read_text(), re.MULTILINE))
    pipeline = (root / ".ci" / "pipeline.py").read_text()
    found = []
    for file, job_id, _, step in all_steps(workflows(root)):
        run = step.get("run", "")
        for target in re.findall(r"\bmake ([a-z-]+)", run):
            if target not in targets:
                found.append(f"{file} {job_id}: `make {target}`: no such target")
        for command in re.findall(r"pipeline\.py ([a-z-]+)", run):
            if f'add_parser("{command}"' not in pipeline:
                found.append(f"{file} {job_id}: `.ci/pipeline.py {command}`: no such command")
    return found


def problems(root: Path) -> list[str]:
    _ROOT[:] = [root]
    return (pin_problems(root) + hygiene_problems(root) + pull_request_problems(root) + main_problems(root)
            + drift_problems(root) + make_problems(root))

