"""The steps of the GitHub workflows that are more than one command, testable offline.

    python3 .ci/pipeline.py stacks
    python3 .ci/pipeline.py pr-report --base SHA [--summary FILE]
    python3 .ci/pipeline.py preview-failed --stack S --pr N --run-url URL [--sha SHA]
    python3 .ci/pipeline.py config-map --release-image REF
    python3 .ci/pipeline.py verify-rollout --cluster NAME --services JSON
    python3 .ci/pipeline.py drift-report --stack S --preview-json FILE [--summary FILE]

Standard library only (steps run it with the runner's python3 before any virtualenv exists),
except pr-report, which runs `python -m preflight` with the interpreter it is started with.
External commands (`gh`, `aws`) are looked up on PATH, so tests put fakes there.
"""

from __future__ import annotations

import argparse
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


def preview_failed(stack: str, pr: int, run_url: str, sha: str | None, repo: str, root: Path = ROOT) -> str:
    """Replace this stack's preview comment (the action's, found as the action finds it) with a
    failure note, or post one: a failed preview must not leave an earlier passing comment."""
    heading = COMMENT_HEADING.format(project=project_name(root), stack=stack)
    body = "\n".join([
        heading, "",
        f":x: **The preview of `{stack}` failed**" + (f" at {sha[:12]}" if sha else "") + ": a policy "
        "violation, a program error or a cloud error. An earlier report of this stack is no longer current.",
        "", f"See the log of [this run]({run_url}). This comment is replaced when a preview passes.", "",
        "<details>", COMMENT_SUMMARY, "", "No report: the preview did not finish.", "</details>",
    ])
    comments = [json.loads(line) for line in _gh(
        "--paginate", f"repos/{repo}/issues/{pr}/comments", "--jq", ".[] | {id, body}").splitlines() if line]
    ours = next((c for c in comments if c["body"].startswith(heading) and COMMENT_SUMMARY in c["body"]), None)
    if ours:
        _gh("-X", "PATCH", f"repos/{repo}/issues/comments/{ours['id']}", body={"body": body})
        return f"updated comment {ours['id']}"
    _gh("-X", "POST", f"repos/{repo}/issues/{pr}/comments", body={"body": body})
    return "posted a new comment"


RELEASE_IMAGE = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$")


def config_map(release_image: str, root: Path = ROOT) -> str:
    """The pulumi/actions `config-map` that sets the release image ({} when there is none)."""
    if not release_image:
        return "{}"
    if not RELEASE_IMAGE.match(release_image):
        raise SystemExit(f"release image {release_image!r} is not registry/repository@sha256:<64 hex>")
    return json.dumps({f"{project_name(root)}:releaseImage": {"value": release_image, "secret": False}})


def _describe(cluster: str, names: list[str]) -> dict:
    result = subprocess.run(["aws", "ecs", "describe-services", "--cluster", cluster, "--services", *names,
                             "--output", "json"], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"aws ecs describe-services failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def verify_rollout(cluster: str, services: dict) -> list[str]:
    """What is wrong with the services after `pulumi up` ([] when each runs, as its primary
    deployment, the task definition this deploy registered, with a completed rollout)."""
    expected = {s["serviceName"]: (key, s["taskDefinitionArn"]) for key, s in services.items()}
    problems = []
    names = sorted(expected)
    for start in range(0, len(names), ECS_BATCH):
        described = _describe(cluster, names[start:start + ECS_BATCH])
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
        steps = json.loads(preview).get("steps") or []
    except (json.JSONDecodeError, AttributeError):
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
    config = commands.add_parser("config-map", help="pulumi/actions config-map for the release image")
    config.add_argument("--release-image", default="")
    verify = commands.add_parser("verify-rollout", help="ECS runs the deployed task definitions")
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
        print(preview_failed(args.stack, args.pr, args.run_url, args.sha, os.environ["GITHUB_REPOSITORY"]))
    elif args.command == "config-map":
        print(config_map(args.release_image))
    elif args.command == "verify-rollout":
        problems = verify_rollout(args.cluster, json.loads(args.services or "{}"))
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
