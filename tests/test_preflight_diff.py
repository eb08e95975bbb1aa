"""preflight diff: our program at two commits of a scratch repository, compared offline."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import shutil
import subprocess

import pytest
import yaml

from testkit import ROOT
from preflight.__main__ import main
from preflight.diff import RULES, compare, run, to_json, to_text
from test_preflight import project_copy

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(repo, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, **GIT_IDENTITY})


def commit(repo, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def change_stack(repo, stack: str, change) -> None:
    path = repo / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    change(document["config"])
    path.write_text(yaml.safe_dump(document))


@pytest.fixture
def repo(tmp_path):
    """Our program (dev and prod stacks) committed once in a scratch repository."""
    program = project_copy(tmp_path, "dev", lambda config: None)
    git(program, "init", "-q")
    commit(program, "base")
    return program


def diff(capsys, repo, *args: str, base: str = "HEAD~1", stack: str = "dev") -> tuple[int, str, str]:
    code = main(["diff", "--base", base, "--stack", stack, "--cwd", str(repo), *args])
    out, err = capsys.readouterr()
    return code, out, err


def diff_json(capsys, repo, **options) -> tuple[int, dict]:
    code, out, _ = diff(capsys, repo, "--json", **options)
    return code, json.loads(out)


def by_name(document: dict) -> dict[str, dict]:
    return {change["name"]: change for change in document["changes"]}


def test_cpu_and_memory_of_the_dev_service_replace_its_task_definition(capsys, repo):
    change_stack(repo, "dev", lambda config: config["ecs-fargate:services"]["web"].update(cpu=512, memory=1024))
    commit(repo, "bigger web")
    code, document = diff_json(capsys, repo)
    assert code == 0
    assert set(document) == {"stack", "base", "changes"}
    assert (document["stack"], document["base"]) == ("dev", "HEAD~1")
    changes = by_name(document)
    assert set(changes) == {"web-task", "web-service"}
    task = changes["web-task"]
    assert set(task) == {"urn", "type", "name", "op", "diffs"}
    assert task["urn"].endswith(f"{TASK_DEFINITION}::web-task")
    assert (task["type"], task["op"]) == (TASK_DEFINITION, "replace"), "task definitions are immutable"
    assert task["diffs"] == [{"path": "cpu", "old": "256", "new": "512"},
                             {"path": "memory", "old": "512", "new": "1024"}]
    # The service keeps its settings but points at the new revision.
    [moved] = changes["web-service"]["diffs"]
    assert changes["web-service"]["op"] == "update"
    assert moved["path"] == "taskDefinition"
    assert moved["old"].startswith("arn:aws:ecs:") and moved["new"] == "(known after replace)"


def test_no_change_is_an_empty_list(capsys, repo):
    assert diff_json(capsys, repo, base="HEAD") == (0, {"stack": "dev", "base": "HEAD", "changes": []})


def test_a_component_module_change_shows_as_a_readable_path(capsys, repo):
    """Each tree runs its own `components`, not the first tree's cached modules."""
    module = repo / "components" / "task_definition.py"
    module.write_text(module.read_text().replace('"mode": "non-blocking"', '"mode": "blocking"'))
    commit(repo, "blocking logs")
    code, out, err = diff(capsys, repo)
    assert code == 0, err
    assert out.startswith("### preflight diff: stack `dev`, `HEAD~1` → working tree\n\n"
                          "**1** to replace · **1** to update · **0** to create · **0** to delete · ")
    block = out.split("```diff\n", 1)[1].split("```", 1)[0].splitlines()
    assert block[:3] == [
        f"+- replace {TASK_DEFINITION} web-task",
        '    containerDefinitions[0].logConfiguration.options.mode: "non-blocking" → "blocking" (forces replacement)',
        "~ update aws:ecs/service:Service web-service",
    ]
    assert block[3].startswith('    taskDefinition: "arn:aws:ecs:') and block[3].endswith("→ (known after replace)")


def test_a_new_service_is_created(capsys, repo):
    def add_worker(config):
        config["ecs-fargate:services"]["jobs"] = {"image": "public.ecr.aws/docker/library/python:3.12-slim",
                                                  "command": ["python", "-c", "pass"], "cpu": 256, "memory": 512}
    change_stack(repo, "dev", add_worker)
    commit(repo, "jobs worker")
    code, document = diff_json(capsys, repo)
    assert code == 0
    changes = by_name(document)
    assert {c["op"] for c in changes.values()} == {"create"}
    assert {"jobs", "jobs-task", "jobs-service", "jobs-logs"} <= set(changes)
    assert {"path": "family", "old": None, "new": "ecs-fargate-dev-jobs"} in changes["jobs-task"]["diffs"]


def test_a_removed_service_is_deleted(capsys, repo):
    change_stack(repo, "prod", lambda config: config["ecs-fargate:services"].pop("worker"))
    commit(repo, "no worker")
    code, document = diff_json(capsys, repo, stack="prod")
    assert code == 0
    changes = by_name(document)
    assert {c["op"] for c in changes.values()} == {"delete"}
    assert {"worker", "worker-task", "worker-service", "worker-sg"} <= set(changes)
    assert all(d["new"] is None for c in changes.values() for d in c["diffs"])


def test_a_new_stack_is_all_creates_and_says_so(capsys, repo):
    shutil.copy(ROOT / "Pulumi.staging.yaml", repo / "Pulumi.staging.yaml")
    commit(repo, "staging")
    code, out, _ = diff(capsys, repo, stack="staging")
    assert code == 0
    assert "**0** to replace · **0** to update · **" in out and " to create · **0** to delete · 0 unchanged" in out
    assert "> Pulumi.staging.yaml does not exist at HEAD~1: a new stack, every resource is a create." in out


SECRETIVE = """\
import pulumi
import pulumi_aws as aws

config = pulumi.Config()
aws.ssm.Parameter("token", type="SecureString", value=config.require_secret("token"))
aws.ssm.Parameter("token-read-plainly", type="String", value=config.require("token"))
aws.ssm.Parameter("banner", type="String", value=pulumi.Output.secret(config.require("banner")))
"""


def test_secrets_that_change_are_masked(tmp_path):
    """Also: a project in a subdirectory of its repository."""
    program = tmp_path / "infra"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: secretive\nruntime: python\n")
    (program / "__main__.py").write_text(SECRETIVE)
    stack_file = program / "Pulumi.test.yaml"
    stack_file.write_text("config:\n  secretive:token:\n    secure: AAABAOldCiphertext\n  secretive:banner: hunter2\n")
    git(tmp_path, "init", "-q")
    commit(tmp_path, "base")
    stack_file.write_text("config:\n  secretive:token:\n    secure: AAABANewCiphertext\n  secretive:banner: hunter3\n")

    result = run("HEAD", "test", program)
    assert result.notes == []
    masked = {"path": "value", "old": "[secret]", "new": "[secret]"}
    assert {(c["name"], c["op"]): c["diffs"] for c in json.loads(to_json(result))["changes"]} == {
        ("banner", "update"): [masked], ("token", "update"): [masked], ("token-read-plainly", "update"): [masked]}
    for text in (to_json(result), to_text(result)):
        assert "hunter" not in text and "Ciphertext" not in text
    assert "    value: [secret] → [secret]" in to_text(result)


def test_a_bad_ref_is_one_message(capsys, repo):
    code, out, err = diff(capsys, repo, base="no-such-branch")
    assert (code, out) == (2, "")
    assert err == f"preflight: --base no-such-branch: no such commit in {repo}\n"


def test_outside_a_git_repository_is_one_message(capsys, tmp_path):
    code, out, err = diff(capsys, tmp_path, "--json")
    assert code == 2
    assert json.loads(out)["error"] == f"{tmp_path}: not in a git repository (preflight diff compares with a git ref)"
    assert err.startswith("preflight: ") and "Traceback" not in err


# -- the comparison itself, on hand-made declarations ----------------------------------------

def declared(name: str, typ: str, inputs: dict, **extra) -> dict:
    return {"urn": f"urn:pulumi:s::p::{typ}::{name}", "type": typ, "name": name, "custom": True, "inputs": inputs,
            "dependencies": {}, "ignoreChanges": [], "regenerated": [], **extra}


def stack_of(*resources: dict) -> dict[str, dict]:
    return {r["urn"]: r for r in resources}


def test_what_carries_a_replaced_resources_arn_is_known_after_replace():
    group = "aws:lb/targetGroup:TargetGroup"
    tg = declared("tg", group, {"port": 80, "name": "tg"}, regenerated=["arn:tg/1"])
    rule_inputs = {"actions": [{"targetGroupArn": "arn:tg/1"}], "priority": 10, "tags": {"name": "tg"}}
    rule = declared("rule", "aws:lb/listenerRule:ListenerRule", rule_inputs,
                    dependencies={"actions": [tg["urn"]], "tags": [tg["urn"]]})
    changes, unchanged = compare(stack_of(tg, rule), stack_of({**tg, "inputs": {"port": 8080, "name": "tg"}}, rule))
    assert unchanged == 0
    assert [(c.name, c.op, [(d.path, d.new) for d in c.diffs]) for c in changes] == [
        ("tg", "replace", [("port", 8080)]),
        ("rule", "update", [("actions", "(known after replace)")]),  # its tags hold only the declared name
    ]


def test_switching_a_rules_source_replaces_it_and_ignored_changes_are_no_changes():
    typ = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    rule = declared("in", typ, {"securityGroupId": "sg-1", "cidrIpv4": "10.0.0.0/8", "fromPort": 80})
    service = declared("svc", "aws:ecs/service:Service", {"desiredCount": 2}, ignoreChanges=["desiredCount"])
    switched = {**rule, "inputs": {"securityGroupId": "sg-1", "referencedSecurityGroupId": "sg-2", "fromPort": 80}}
    changes, unchanged = compare(stack_of(rule, service), stack_of(switched, {**service, "inputs": {"desiredCount": 5}}))
    assert [(c.name, c.op) for c in changes] == [("in", "replace")] and unchanged == 1
    ported = {**rule, "inputs": {**rule["inputs"], "fromPort": 443}}
    assert [c.op for c in compare(stack_of(rule), stack_of(ported))[0]] == ["update"]


# -- the replace data file ---------------------------------------------------------------------

def test_every_type_our_stacks_register_has_its_replace_properties(dev, staging, prod):
    registered = {r.type for rendering in (dev, staging, prod) for r in rendering.resources
                  if r.custom and not r.type.startswith("pulumi:providers:")}
    assert registered - set(RULES) == set()


@pytest.mark.parametrize("typ", sorted(t for t in RULES if t.startswith("aws:")))
def test_replace_properties_are_inputs_of_their_type(typ):
    _, module, name = typ.split(":")
    args = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), f"{name}Args")
    inputs = {getattr(member.fget, "_pulumi_name", attribute)
              for attribute, member in inspect.getmembers(args) if isinstance(member, property)}
    rule = RULES[typ]
    assert set(rule["replace"]).union(*rule.get("replaceWhenSwitching", [])) <= inputs
