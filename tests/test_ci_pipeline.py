"""The workflows' multi-command steps (.ci/pipeline.py), with fake `aws` and `gh` on PATH whose
answers have the shapes of the real APIs (botocore's model of DescribeServices, GitHub's REST)."""

from __future__ import annotations

import io
import json
import os
import sys
import re
import textwrap

import botocore.session
import pytest

from aws_shapes import _enum_errors
from testkit import ROOT

import pipeline

DIGEST = "sha256:" + "ab" * 32
IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/ecs-fargate/app@{DIGEST}"
CLUSTER = "ecs-fargate-dev"
REGION = "eu-west-1"
NEW = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:8"
OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"


def fake(tmp_path, monkeypatch, name: str, body: str) -> None:
    """An executable `name` on PATH that records its arguments and stdin in calls.jsonl."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    script.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                      f"log = open({str(tmp_path / 'calls.jsonl')!r}, 'a')\n"
                      "stdin = sys.stdin.read() if not sys.stdin.isatty() else ''\n"
                      "log.write(json.dumps({'argv': sys.argv[1:], 'stdin': stdin}) + '\\n'); log.close()\n"
                      + textwrap.dedent(body))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def calls(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]


# --- stacks and config-map ------------------------------------------------------------------

def test_stacks_are_listed_in_deploy_order(tmp_path):
    for stack in ("prod", "qa", "dev", "staging"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    assert pipeline.stacks(tmp_path) == ["dev", "staging", "prod", "qa"]


def test_config_map_carries_the_release_image_under_the_projects_namespace():
    assert json.loads(pipeline.config_map(IMAGE)) == {
        "ecs-fargate:releaseImage": {"value": IMAGE, "secret": False}}
    assert pipeline.config_map("") == "{}"  # a stack CI never deployed: the stack file decides


@pytest.mark.parametrize("image", [f"{IMAGE.split('@')[0]}:latest", "app@" + DIGEST, IMAGE[:-1],
                                   IMAGE + "; rm -rf /"])
def test_config_map_refuses_anything_but_a_digest(image):
    with pytest.raises(SystemExit, match="registry/repository@sha256"):
        pipeline.config_map(image)


# --- verify-rollout ---------------------------------------------------------------------------

def ecs_service(name: str, running: str, rollout: str = "COMPLETED") -> dict:
    return {"serviceName": name, "status": "ACTIVE", "taskDefinition": running,
            "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": running,
                             "rolloutState": rollout, "rolloutStateReason": "ECS deployment circuit breaker: "
                             "tasks failed to start." if rollout == "FAILED" else "steady"}],
            "events": [{"id": "e1", "message": f"(service {name}) has reached a steady state."}]}


def test_fake_describe_services_answers_in_the_shape_botocore_models():
    shape = botocore.session.get_session().get_service_model("ecs").operation_model("DescribeServices").output_shape
    response = {"services": [ecs_service("web", NEW, "FAILED")], "failures": [{"arn": "x", "reason": "MISSING"}]}

    def unknown_keys(value, shape, path):
        if shape.type_name == "structure":
            return [f"{path}.{k}" for k in value if k not in shape.members] + [
                e for k in value if k in shape.members for e in unknown_keys(value[k], shape.members[k], f"{path}.{k}")]
        if shape.type_name == "list":
            return [e for i, item in enumerate(value) for e in unknown_keys(item, shape.member, f"{path}[{i}]")]
        return []

    assert unknown_keys(response, shape, "DescribeServices") == []
    assert _enum_errors(response, shape, "DescribeServices") == []


@pytest.fixture
def ecs(tmp_path, monkeypatch):
    """A fake `aws ecs describe-services` answering from services.json (name -> service)."""
    state = tmp_path / "services.json"

    def answer(services: dict) -> None:
        state.write_text(json.dumps(services))
    fake(tmp_path, monkeypatch, "aws", f"""
        known = json.load(open({str(state)!r}))
        names = sys.argv[sys.argv.index('--services') + 1:sys.argv.index('--output')]
        print(json.dumps({{'services': [known[n] for n in names if n in known],
                           'failures': [{{'arn': n, 'reason': 'MISSING'}} for n in names if n not in known]}}))
    """)
    return answer


def outputs(**services: str) -> dict:
    """The stack's `services` output: key -> serviceName and the deployed task definition."""
    return {key: {"serviceName": f"{key}-svc", "taskDefinitionArn": arn} for key, arn in services.items()}


def test_a_completed_rollout_of_the_deployed_task_definition_passes(ecs, tmp_path):
    ecs({"web-svc": ecs_service("web-svc", NEW)})
    assert pipeline.verify_rollout(CLUSTER, outputs(web=NEW), REGION) == []
    [call] = calls(tmp_path)
    # In the stack's region, which may not be the workflow's.
    assert call["argv"][:6] == ["ecs", "describe-services", "--region", REGION, "--cluster", CLUSTER]


def test_a_circuit_breaker_rollback_fails_and_says_what_runs(ecs):
    """After a rollback the service is stable again on the old task definition: pulumi up passed."""
    ecs({"web-svc": ecs_service("web-svc", OLD)})
    [problem] = pipeline.verify_rollout(CLUSTER, outputs(web=NEW), REGION)
    assert "service web" in problem and OLD in problem and NEW in problem and "rolled it back" in problem
    assert "steady state" in problem  # the latest events, for the reviewer


def test_a_failed_rollout_state_fails_with_its_reason(ecs):
    ecs({"web-svc": ecs_service("web-svc", NEW, "FAILED")})
    [problem] = pipeline.verify_rollout(CLUSTER, outputs(web=NEW), REGION)
    assert "rollout FAILED" in problem and "circuit breaker" in problem


def test_a_service_ecs_does_not_know_fails(ecs):
    ecs({})
    [problem] = pipeline.verify_rollout(CLUSTER, outputs(web=NEW), REGION)
    assert "web-svc" in problem and "MISSING" in problem


def test_services_are_described_ten_at_a_time(ecs, tmp_path):
    """DescribeServices takes at most 10 services per call."""
    names = {f"s{i:02}": NEW for i in range(23)}
    ecs({f"{key}-svc": ecs_service(f"{key}-svc", NEW) for key in names})
    assert pipeline.verify_rollout(CLUSTER, outputs(**names), REGION) == []
    sizes = [len(c["argv"]) - c["argv"].index("--services") - 3 for c in calls(tmp_path)]
    assert sizes == [10, 10, 3]


def test_verify_rollout_command_exits_non_zero_with_an_annotation(ecs, capsys):
    ecs({"web-svc": ecs_service("web-svc", OLD)})
    assert pipeline.main(["verify-rollout", "--stack", "dev", "--cluster", CLUSTER,
                          "--services", json.dumps(outputs(web=NEW))]) == 1
    assert capsys.readouterr().out.startswith("::error title=rollout::service web")


# --- preview-failed ---------------------------------------------------------------------------

HEADING = "#### :tropical_drink: `preview` on ecs-fargate/dev"


def gh_with_comments(tmp_path, monkeypatch, comments: list[dict]) -> None:
    """A fake `gh api`: lists `comments` (as --jq '.[] | {id, body}' prints them), accepts writes."""
    fake(tmp_path, monkeypatch, "gh", f"""
        if '--jq' in sys.argv:
            for c in {comments!r}:
                print(json.dumps({{'id': c['id'], 'body': c['body']}}))
        else:
            print('{{}}')
    """)


def test_a_failed_preview_overwrites_the_actions_passing_comment(tmp_path, monkeypatch):
    passing = f"{HEADING}\n\n<details>\n<summary>Pulumi report</summary>\n<pre>\n+ 3 to create\n</pre>\n</details>"
    gh_with_comments(tmp_path, monkeypatch, [
        {"id": 1, "body": "LGTM"},
        {"id": 2, "body": passing.replace("/dev", "/prod")},  # another stack's comment stays
        {"id": 3, "body": passing},
    ])
    assert pipeline.preview_failed("dev", 7, "https://ci/run/1", "0123456789abcdef", "o/r") == "updated comment 3"
    listing, patch = calls(tmp_path)
    assert "repos/o/r/issues/7/comments" in listing["argv"] and "--paginate" in listing["argv"]
    assert patch["argv"][:4] == ["api", "-X", "PATCH", "repos/o/r/issues/comments/3"]
    body = json.loads(patch["stdin"])["body"]
    # pulumi/actions finds its comment by these two, so its next passing preview replaces ours.
    assert body.startswith(HEADING) and "<summary>Pulumi report</summary>" in body
    assert "No current preview of `dev`" in body and "https://ci/run/1" in body and "0123456789ab" in body


def test_a_failed_first_preview_posts_a_comment(tmp_path, monkeypatch):
    gh_with_comments(tmp_path, monkeypatch, [{"id": 1, "body": "LGTM"}])
    assert pipeline.preview_failed("dev", 7, "https://ci/run/1", None, "o/r") == "posted a new comment"
    assert calls(tmp_path)[-1]["argv"][:4] == ["api", "-X", "POST", "repos/o/r/issues/7/comments"]


def test_the_comment_heading_is_the_pinned_actions():
    """If pulumi/actions changes how it titles its comment, the failure note must follow."""
    source = (ROOT / ".github" / "pinned-actions.json").read_text()
    assert "8e5e406f4007fca908480587cb9893c07090f58d" in source, "re-read src/libs/pr.ts of the new pin"
    assert pipeline.COMMENT_HEADING.format(project="p", stack="s") == "#### :tropical_drink: `preview` on p/s"


# --- drift-report -----------------------------------------------------------------------------

def step(op: str, name: str, typ: str = "aws:ecs/service:Service", **extra) -> dict:
    return {"op": op, "urn": f"urn:pulumi:dev::ecs-fargate::ecs-fargate:index:FargateService${typ}::{name}", **extra}


def test_drift_lists_each_drifted_resource_and_its_properties(capsys):
    preview = json.dumps({"steps": [
        step("same", "web-logs", "aws:cloudwatch/logGroup:LogGroup"),
        step("refresh", "web-sg", "aws:ec2/securityGroup:SecurityGroup"),  # refreshed, unchanged
        step("update", "web-service", detailedDiff={"desiredCount": {"kind": "update"}}, diffReasons=["desiredCount"]),
        step("refresh", "web-role", "aws:iam/role:Role", detailedDiff={"managedPolicyArns": {"kind": "add"}}),
    ], "changeSummary": {"same": 1, "update": 1}})
    summary = io.StringIO()
    assert pipeline.drift_report("dev", preview, summary) == 1
    text = summary.getvalue()
    assert "2 resource(s) differ" in text
    assert "| update | `aws:ecs/service:Service` | web-service | `desiredCount` |" in text
    assert "web-role" in text and "`managedPolicyArns`" in text
    assert "web-logs" not in text and "web-sg" not in text
    assert "::error title=drift in dev::2 resource(s) drifted: web-service, web-role" in capsys.readouterr().out


def test_no_drift_passes():
    summary = io.StringIO()
    assert pipeline.drift_report("dev", json.dumps({"steps": [step("same", "a")]}), summary) == 0
    assert "no changes" in summary.getvalue()


def test_a_preview_that_produced_no_report_is_a_failure_not_a_pass():
    summary = io.StringIO()
    assert pipeline.drift_report("dev", "error: could not log in", summary) == 1
    assert "failed before it could list changes" in summary.getvalue()


# --- pr-report --------------------------------------------------------------------------------

@pytest.fixture
def fake_preflight(tmp_path):
    """A python that answers `-m preflight ...` per stack: prod fails the pack, diff of staging breaks."""
    script = tmp_path / "python"
    script.write_text(f"""#!{sys.executable}
import sys
args = sys.argv[1:]
stack = args[args.index('--stack') + 1]
if 'diff' in args:
    if stack == 'staging':
        sys.exit(print('preflight: base does not render', file=sys.stderr) or 2)
    print(f'### {{stack}}: 1 to update')
    sys.exit(0)
print(f'preflight {{stack}}: report')
sys.exit(1 if stack == 'prod' else 0)
""")
    script.chmod(0o755)
    return str(script)


def test_pr_report_judges_and_diffs_every_stack(fake_preflight, capsys):
    summary = io.StringIO()
    assert pipeline.pr_report("abc123", summary, python=fake_preflight) == 1  # prod fails the pack
    text = summary.getvalue()
    for stack in ("dev", "staging", "prod"):
        assert f"preflight {stack}: report" in text
    assert "### prod: **fails**" in text and "### dev: passes" in text
    assert "### dev: 1 to update" in text
    assert "No offline diff" in text and "base does not render" in text
    out = capsys.readouterr().out
    assert "::error title=preflight prod::" in out and "::warning title=preflight diff staging::" in out


# --- review findings: fail closed, exact matches, ordering, reuse keys ------------------------

def test_a_deploy_refuses_to_run_without_the_release_image():
    with pytest.raises(SystemExit, match="needs the release job's digest"):
        pipeline.config_map("", require=True)


def test_the_release_image_config_reaches_the_program(tmp_path):
    """The key pipeline.py writes is the key settings reads: dev runs the image, builds nothing."""
    from testkit import render_stack

    [(key, entry)] = json.loads(pipeline.config_map(IMAGE)).items()
    rendering = render_stack("dev", overrides={key: entry["value"]})
    assert not rendering.of_type("docker-build:index:Image")
    [task] = rendering.of_type("aws:ecs/taskDefinition:TaskDefinition")
    assert json.loads(task.inputs["containerDefinitions"])[0]["image"] == IMAGE


def test_an_empty_services_output_fails_the_rollout_check(ecs):
    ecs({})
    assert pipeline.verify_rollout(CLUSTER, {}, REGION) != []
    assert pipeline.verify_rollout("", outputs(web=NEW), REGION) != []


def test_the_rollout_check_asks_the_stacks_own_region():
    assert pipeline.stack_region("prod") == "us-east-1"
    with pytest.raises(SystemExit):
        pipeline.stack_region("no-such-stack")


def test_a_stack_named_like_another_keeps_its_own_comment(tmp_path, monkeypatch):
    prod_eu = "#### :tropical_drink: `preview` on ecs-fargate/prod-eu\n\n<details>\n<summary>Pulumi report</summary>"
    gh_with_comments(tmp_path, monkeypatch, [{"id": 5, "body": prod_eu}])
    assert pipeline.preview_failed("prod", 7, "https://ci/run/1", None, "o/r") == "posted a new comment"


def test_every_copy_of_a_stacks_comment_is_marked(tmp_path, monkeypatch):
    """Past 30 comments pulumi/actions cannot find its own and posts another."""
    passing = f"{HEADING}\n\n<details>\n<summary>Pulumi report</summary>\n</details>"
    gh_with_comments(tmp_path, monkeypatch, [{"id": 3, "body": passing}, {"id": 9, "body": passing}])
    assert pipeline.preview_failed("dev", 7, "u", None, "o/r", reason="the checks failed") == "updated comment 3, 9"
    bodies = [json.loads(c["stdin"])["body"] for c in calls(tmp_path) if "PATCH" in c["argv"]]
    assert len(bodies) == 2 and all("the checks failed" in body for body in bodies)


def test_a_preview_that_failed_with_diagnostics_is_not_no_drift():
    """`pulumi preview --json` that fails prints its diagnostics and no steps."""
    report = json.dumps({"diagnostics": [{"severity": "error", "message": "AccessDenied: ec2:DescribeVpcs"}]})
    summary = io.StringIO()
    assert pipeline.drift_report("dev", report, summary) == 1
    assert "failed before it could list changes" in summary.getvalue()


def git(repo, *args) -> str:
    import subprocess

    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def history(tmp_path, monkeypatch):
    """A repository with commits a <- b <- c, and a fake `pulumi stack history --json`."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    shas = []
    for name in "abc":
        (repo / name).write_text(name)
        git(repo, "add", name)
        git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", name)
        shas.append(git(repo, "rev-parse", "HEAD"))
    updates = tmp_path / "history.json"

    def deployed(*entries: dict) -> None:
        updates.write_text(json.dumps(list(entries)))
    fake(tmp_path, monkeypatch, "pulumi", f"print(open({str(updates)!r}).read())")
    return repo, shas, deployed


def update(sha: str, kind: str = "update", result: str = "succeeded") -> dict:
    """An entry of `pulumi stack history --json` (updateInfoJSON in pulumi's stack_history.go)."""
    return {"version": 7, "kind": kind, "startTime": "2026-11-28T08:00:00Z", "message": "deploy",
            "environment": {"git.head": sha, "exec.kind": "auto.local"}, "result": result}


def test_an_older_commit_does_not_deploy_over_a_newer_one(history):
    repo, (a, b, c), deployed = history
    deployed(update(c))
    assert pipeline.newer_deployed("dev", a, root=repo) == c
    deployed(update(a))
    assert pipeline.newer_deployed("dev", c, root=repo) is None  # newer over older: deploy
    deployed(update(c))
    assert pipeline.newer_deployed("dev", c, root=repo) is None  # a re-run of the same commit


def test_only_successful_updates_count_and_unknown_commits_deploy(history, tmp_path):
    repo, (a, b, c), deployed = history
    deployed(update(c, result="failed"), update(c, kind="refresh"), update(a))
    assert pipeline.newer_deployed("dev", b, root=repo) is None  # a failed deploy of c does not block b
    deployed(update("f" * 40))  # a commit this clone does not have (a branch deployed by hand)
    assert pipeline.newer_deployed("dev", b, root=repo) is None
    deployed()
    assert pipeline.newer_deployed("dev", b, root=repo) is None  # a stack never deployed
    (tmp_path / "history.json").write_text("null")
    assert pipeline.newer_deployed("dev", b, root=repo) is None


def test_the_release_tag_follows_the_build_context_and_its_base_images(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "Dockerfile").write_text(
        "FROM --platform=$BUILDPLATFORM python:3.12-slim AS build\nRUN true\n"
        "FROM build AS test\nFROM gcr.io/distroless/python3\nCOPY --from=build /x /x\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a")
    digests = tmp_path / "digests.json"
    digests.write_text(json.dumps({"python:3.12-slim": "sha256:" + "1" * 64,
                                   "gcr.io/distroless/python3": "sha256:" + "2" * 64}))
    fake(tmp_path, monkeypatch, "docker", f"""
        image = sys.argv[sys.argv.index('inspect') + 1]
        print(json.dumps({{'mediaType': 'application/vnd.oci.image.index.v1+json',
                           'digest': json.load(open({str(digests)!r}))[image]}}))
    """)
    first = pipeline.release_tag("app", root=repo)
    assert re.fullmatch(r"app-[0-9a-f]{40}", first)
    inspected = [c["argv"][3] for c in calls(tmp_path)]
    assert inspected == ["python:3.12-slim", "gcr.io/distroless/python3"]  # not the stage `build`
    assert pipeline.release_tag("app", root=repo) == first  # nothing changed: the same image
    digests.write_text(digests.read_text().replace("1" * 64, "3" * 64))
    assert pipeline.release_tag("app", root=repo) != first  # the base image moved: build anew
    digests.write_text(digests.read_text().replace("3" * 64, "1" * 64))
    (repo / "app" / "server.py").write_text("print()")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "b")
    assert pipeline.release_tag("app", root=repo) != first  # app/ changed: build anew
