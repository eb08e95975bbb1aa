"""The steps of the GitHub workflows that are more than one command, testable offline.

    python3 .ci/pipeline.py stacks
    python3 .ci/pipeline.py pr-report --base SHA [--summary FILE]
    python3 .ci/pipeline.py preview-failed --stack S --pr N --run-url URL [--sha SHA] [--reason TEXT]
    python3 .ci/pipeline.py release-tag --context app
    python3 .ci/pipeline.py config-map --release-image REF [--require]
    python3 .ci/pipeline.py newer-deployed --stack S --sha SHA
    python3 .ci/pipeline.py verify-rollout --cluster NAME --services JSON --region REGION
    python3 .ci/pipeline.py drift-report --stack S --preview-json FILE [--summary FILE]

Standard library only (steps run it with the runner's python3 before any virtualenv exists),
except pr-report, which runs `python -m preflight` with the interpreter it is started with.
External commands (`gh`, `aws`, `docker`, `pulumi`, `git`) are looked up on PATH, so tests put
fakes there.
"""

from __future__ import annotations

import argparse
import hashlib
import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACK_FILE = re.compile(r"^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$")
# What pulumi/actions writes at the top of its PR comment, and the marker it looks for when it
# edits one (src/libs/pr.ts of the pinned version): our failure note must be found by it too.
COMMENT_HEADING = "#### :tropical_drink: `preview` on {project}/{stack}"
COMMENT_SUMMARY = "<summary>Pulumi report</summary>"
ECS_BATCH = 10  # DescribeServices takes at most 10 services per call


def project_name(root: Path = ROOT) -> str:
    """The `name:` of Pulumi.yaml (read without a YAML library: a top-level scalar)."""
    for line in (root / "Pulumi.yaml").read_text().splitlines():
        match = re.match(r"^name:\s*['\"]?([^'\"#\s]+)", line)
        if match:
            return match.group(1)
    raise SystemExit("Pulumi.yaml has no name")


def stacks(root: Path = ROOT) -> list[str]:
    """Every stack with a Pulumi.<stack>.yaml, in deploy order: dev, staging, prod, then others."""
    found = [m.group(1) for p in root.iterdir() if (m := STACK_FILE.match(p.name))]
    order = {"dev": 0, "staging": 1, "prod": 2}
    return sorted(found, key=lambda s: (order.get(s, 3), s))


def _fenced(text: str) -> str:
    return "```text\n" + text.rstrip().replace("```", "`\u200b``") + "\n```\n"


def pr_report(base: str, summary, root: Path = ROOT, python: str = sys.executable) -> int:
    """The policy report and the offline diff of every stack, as Markdown. Exit 1 when a stack
    fails the pack (or cannot be judged); a diff that cannot be made is reported, not fatal."""
    status = 0
    summary.write("## Offline checks of every stack (preflight, under mocks)\n\n")
    for stack in stacks(root):
        judged = subprocess.run([python, "-m", "preflight", "--stack", stack], cwd=root,
                                capture_output=True, text=True)
        verdict = {0: "passes", 1: "**fails** (mandatory policy violations)"}.get(
            judged.returncode, "**cannot be judged**")
        if judged.returncode:
            status = 1
            print(f"::error title=preflight {stack}::{stack} {verdict.replace('*', '')}; see the job summary")
        summary.write(f"### {stack}: {verdict}\n\n")
        summary.write(_fenced(judged.stdout + judged.stderr))
        diff = subprocess.run([python, "-m", "preflight", "diff", "--base", base, "--stack", stack], cwd=root,
                              capture_output=True, text=True)
        summary.write(f"\n<details><summary>What this pull request changes in {stack}</summary>\n\n")
        if diff.returncode == 0:
            summary.write(diff.stdout.rstrip() + "\n")
        else:
            print(f"::warning title=preflight diff {stack}::no offline diff: {diff.stderr.strip()[:300]}")
            summary.write("No offline diff:\n\n" + _fenced(diff.stderr))
        summary.write("\n</details>\n\n")
    return status


def _gh(*args: str, body: dict | None = None) -> str:
    result = subprocess.run(["gh", "api", *args, *(["--input", "-"] if body is not None else [])],
                            input=json.dumps(body) if body is not None else None,
                            capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"gh api {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def _is_stack_comment(body: str, heading: str) -> bool:
    """The action's own test (startsWith(heading) and the summary tag), on the whole first line:
    `.../prod` must not take `.../prod-eu`'s comment."""
    return body.split("\n", 1)[0].rstrip() == heading and COMMENT_SUMMARY in body


def preview_failed(stack: str, pr: int, run_url: str, sha: str | None, repo: str, reason: str = "",
                   root: Path = ROOT) -> str:
    """Replace this stack's preview comment (the action's, found as the action finds it) with a
    failure note, or post one: a failed preview must not leave an earlier passing comment."""
    heading = COMMENT_HEADING.format(project=project_name(root), stack=stack)
    why = reason or "a policy violation, a program error or a cloud error"
    body = "\n".join([
        heading, "",
        f":x: **No current preview of `{stack}`**" + (f" at {sha[:12]}" if sha else "") + f": {why}. "
        "An earlier report of this stack is no longer current.",
        "", f"See the log of [this run]({run_url}). This comment is replaced when a preview passes.", "",
        "<details>", COMMENT_SUMMARY, "", "No report: the preview did not finish.", "</details>",
    ])
    comments = [json.loads(line) for line in _gh(
        "--paginate", f"repos/{repo}/issues/{pr}/comments", "--jq", ".[] | {id, body}").splitlines() if line]
    ours = [c for c in comments if _is_stack_comment(c["body"], heading)]
    for comment in ours:  # every copy: past 30 comments the action may have posted more than one
        _gh("-X", "PATCH", f"repos/{repo}/issues/comments/{comment['id']}", body={"body": body})
    if ours:
        return "updated comment " + ", ".join(str(c["id"]) for c in ours)
    _gh("-X", "POST", f"repos/{repo}/issues/{pr}/comments", body={"body": body})
    return "posted a new comment"


def _run(command: list[str], what: str, cwd: Path | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if result.returncode:
        raise SystemExit(f"{what} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


FROM_LINE = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<image>\S+)(?:\s+AS\s+(?P<stage>\S+))?",
                       re.IGNORECASE | re.MULTILINE)


def release_tag(context: str, root: Path = ROOT) -> str:
    """The tag that names what the image is made of: the git tree of the build context and the
    digest each base image's tag points to now. An unchanged app/ on an unchanged base reuses its
    image (no new digest, no rollout); a base image that moved (a security fix) builds anew."""
    tree = _run(["git", "rev-parse", f"HEAD:{context}"], "git rev-parse", root).strip()
    stages, bases = set(), []
    for match in FROM_LINE.finditer((root / context / "Dockerfile").read_text()):
        image = match.group("image")
        if image.lower() not in stages and image != "scratch":
            bases.append(image)
        if match.group("stage"):
            stages.add(match.group("stage").lower())
    pinned = []
    for image in bases:
        manifest = _run(["docker", "buildx", "imagetools", "inspect", image, "--format", "{{json .Manifest}}"],
                        f"docker buildx imagetools inspect {image}")
        pinned.append(f"{image}@{json.loads(manifest)['digest']}")
    key = hashlib.sha256("\n".join([tree, *pinned]).encode()).hexdigest()[:40]
    return f"app-{key}"


RELEASE_IMAGE = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$")


def config_map(release_image: str, require: bool = False, root: Path = ROOT) -> str:
    """The pulumi/actions `config-map` that sets the release image ({} when there is none, which
    a deploy refuses: it would deploy the stack file's image instead of the release)."""
    if not release_image:
        if require:
            raise SystemExit("no release image: a deploy needs the release job's digest")
        return "{}"
    if not RELEASE_IMAGE.match(release_image):
        raise SystemExit(f"release image {release_image!r} is not registry/repository@sha256:<64 hex>")
    return json.dumps({f"{project_name(root)}:releaseImage": {"value": release_image, "secret": False}})


def newer_deployed(stack: str, sha: str, root: Path = ROOT) -> str | None:
    """The commit of the stack's last successful update when it is newer than `sha` (a descendant
    of it), else None. Deploys of one stack queue in one concurrency group but not in commit
    order: a run that waited longer must not put an older program and image back."""
    history = json.loads(_run(["pulumi", "stack", "history", "--stack", stack, "--json", "--page-size", "20"],
                              "pulumi stack history") or "null") or []  # a new stack: null or nothing
    deployed = next((u.get("environment", {}).get("git.head") for u in history
                     if u.get("kind") == "update" and u.get("result") == "succeeded"), None)
    if not deployed or deployed == sha:
        return None
    ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", sha, deployed], cwd=root,
                              capture_output=True, text=True)
    return deployed if ancestor.returncode == 0 else None


def stack_region(stack: str, root: Path = ROOT) -> str:
    """The stack's aws:region as the CLI resolves it (stack file, else the project's default);
    needs the project's virtualenv (preflight), which the deploy job has."""
    sys.path.insert(0, str(root))
    from preflight.stack_config import StackConfigError, load_stack_config

    try:
        region = load_stack_config(root, stack).config.get("aws:region")
    except StackConfigError as error:
        raise SystemExit(str(error)) from None
    if not isinstance(region, str) or not region:
        raise SystemExit(f"stack {stack} sets no aws:region")
    return region


def _describe(cluster: str, names: list[str], region: str) -> dict:
    return json.loads(_run(["aws", "ecs", "describe-services", "--region", region, "--cluster", cluster,
                            "--services", *names, "--output", "json"], "aws ecs describe-services"))


def verify_rollout(cluster: str, services: dict, region: str) -> list[str]:
    """What is wrong with the services after `pulumi up` ([] when each runs, as its primary
    deployment, the task definition this deploy registered, with a completed rollout)."""
    if not cluster or not services:
        # Every stack has a service (settings refuses none): an empty output is a renamed or
        # missing export, and a check that sees nothing must not pass.
        return ["no clusterName or services output: the check cannot see what was deployed"]
    expected = {s["serviceName"]: (key, s["taskDefinitionArn"]) for key, s in services.items()}
    problems = []
    names = sorted(expected)
    for start in range(0, len(names), ECS_BATCH):
        described = _describe(cluster, names[start:start + ECS_BATCH], region)
        for failure in described.get("failures", []):
            problems.append(f"{failure.get('arn')}: {failure.get('reason')} {failure.get('detail', '')}".strip())
        for service in described.get("services", []):
            key, want = expected[service["serviceName"]]
            primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
            running = primary.get("taskDefinition", service.get("taskDefinition"))
            events = "; ".join(e.get("message", "") for e in service.get("events", [])[:3])
            if running != want:
                problems.append(f"service {key}: ECS runs {running}, not the deployed {want} "
                                f"(the deployment circuit breaker rolled it back). Latest events: {events}")
            elif primary.get("rolloutState") not in (None, "COMPLETED"):
                problems.append(f"service {key}: rollout {primary.get('rolloutState')}: "
                                f"{primary.get('rolloutStateReason', '')} Latest events: {events}")
    return problems


# Steps of `pulumi preview --json` (display.PreviewStep) that change nothing.
UNCHANGED_OPS = {"same", "read", "refresh"}


def drift_report(stack: str, preview: str, summary) -> int:
    """List the resources a `pulumi preview --refresh --json` would change: the drift."""
    try:
        report = json.loads(preview)
        errors = [d for d in report.get("diagnostics") or [] if d.get("severity") == "error"]
        if errors or ("steps" not in report and "changeSummary" not in report):
            raise ValueError("; ".join(d.get("message", "").strip() for d in errors))
        steps = report.get("steps") or []
    except (json.JSONDecodeError, AttributeError, ValueError):
        summary.write(f"## Drift check of {stack}: failed before it could list changes\n\n"
                      "The preview did not produce its JSON report; see the job log.\n")
        print(f"::error title=drift {stack}::the preview failed before listing changes; see the log")
        return 1
    drifted = [s for s in steps if s.get("op") not in UNCHANGED_OPS
               or (s.get("op") == "refresh" and (s.get("detailedDiff") or s.get("diffReasons")))]
    if not drifted:
        summary.write(f"## Drift check of {stack}: no changes\n")
        return 0
    summary.write(f"## Drift check of {stack}: {len(drifted)} resource(s) differ from the last deploy\n\n"
                  "| operation | type | name | properties |\n|---|---|---|---|\n")
    for step in drifted:
        parts = step.get("urn", "").split("::", 3)  # urn:pulumi:STACK::PROJECT::TYPE::NAME
        typ, name = (parts[2].rsplit("$", 1)[-1], parts[3]) if len(parts) == 4 else ("?", step.get("urn"))
        properties = sorted(step.get("detailedDiff") or {}) or step.get("diffReasons") or step.get("replaceReasons") or []
        summary.write(f"| {step.get('op')} | `{typ}` | {name} | {', '.join(f'`{p}`' for p in properties) or '-'} |\n")
    names = ", ".join(step.get("urn", "").split("::")[-1] for step in drifted)
    print(f"::error title=drift in {stack}::{len(drifted)} resource(s) drifted: {names}")
    summary.write("\nRun `pulumi refresh` to accept the cloud's values into the state, or `pulumi up` "
                  "to put the program's back (see docs/ci-cd.md).\n")
    return 1


def _summary_file(path: str | None):
    return open(path, "a", encoding="utf-8") if path else contextlib.nullcontext(sys.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=".ci/pipeline.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("stacks", help="JSON list of the repository's stacks")
    report = commands.add_parser("pr-report", help="preflight and preflight diff of every stack")
    report.add_argument("--base", required=True)
    report.add_argument("--summary")
    failed = commands.add_parser("preview-failed", help="mark a stack's preview comment as failed")
    failed.add_argument("--stack", required=True)
    failed.add_argument("--pr", required=True, type=int)
    failed.add_argument("--run-url", required=True)
    failed.add_argument("--sha")
    failed.add_argument("--reason", default="")
    tag = commands.add_parser("release-tag", help="the tag naming the build context and its base images")
    tag.add_argument("--context", required=True)
    config = commands.add_parser("config-map", help="pulumi/actions config-map for the release image")
    config.add_argument("--release-image", default="")
    config.add_argument("--require", action="store_true", help="refuse an empty release image")
    newer = commands.add_parser("newer-deployed", help="is the stack's last update newer than SHA?")
    newer.add_argument("--stack", required=True)
    newer.add_argument("--sha", required=True)
    verify = commands.add_parser("verify-rollout", help="ECS runs the deployed task definitions")
    verify.add_argument("--stack", required=True, help="whose region to ask (its aws:region)")
    verify.add_argument("--cluster", required=True)
    verify.add_argument("--services", required=True, help="the stack's `services` output (JSON)")
    drift = commands.add_parser("drift-report", help="which resources a refresh preview would change")
    drift.add_argument("--stack", required=True)
    drift.add_argument("--preview-json", required=True)
    drift.add_argument("--summary")
    args = parser.parse_args(argv)

    if args.command == "stacks":
        print(json.dumps(stacks()))
    elif args.command == "pr-report":
        with _summary_file(args.summary) as summary:
            return pr_report(args.base, summary)
    elif args.command == "preview-failed":
        print(preview_failed(args.stack, args.pr, args.run_url, args.sha, os.environ["GITHUB_REPOSITORY"],
                             args.reason))
    elif args.command == "release-tag":
        print(release_tag(args.context))
    elif args.command == "config-map":
        print(config_map(args.release_image, args.require))
    elif args.command == "newer-deployed":
        deployed = newer_deployed(args.stack, args.sha)
        if deployed:
            print(f"::notice title=deploy {args.stack} skipped::the stack runs {deployed[:12]}, which is newer "
                  f"than {args.sha[:12]}", file=sys.stderr)
        print("false" if deployed else "true")
    elif args.command == "verify-rollout":
        problems = verify_rollout(args.cluster, json.loads(args.services or "{}"), stack_region(args.stack))
        for problem in problems:
            print(f"::error title=rollout::{problem}")
        if not problems:
            print("every service runs the task definition this deploy registered")
        return 1 if problems else 0
    elif args.command == "drift-report":
        preview = Path(args.preview_json).read_text() if Path(args.preview_json).is_file() else ""
        with _summary_file(args.summary) as summary:
            return drift_report(args.stack, preview, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
