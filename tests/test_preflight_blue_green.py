"""End to end: a foreign program deploying a service blue/green (tests/fixtures/foreign/ecs-blue-green)
through preflight at prod's levels. The listener rules' resource options reach AnalyzeStack as the
engine sends them (`options.ignoreChanges`), so ecs-deployment-rules-not-reverted passes the rules that
ignore their actions and blocks those that would put ECS's weights back - in an update, where the
service names the rules by ARN, and in a first preview, where only its dependencies name them."""

from __future__ import annotations

import json

import pytest

from preflight.__main__ import main
from preflight.render import render
from testkit import ROOT

PROGRAM = ROOT / "tests" / "fixtures" / "foreign" / "ecs-blue-green"
PROD = str(ROOT / "policies" / "config" / "prod.json")
POLICY = "ecs-deployment-rules-not-reverted"
RULE = "aws:lb/listenerRule:ListenerRule"


def run(capsys, stack: str, preview: bool) -> tuple[int, dict]:
    code = main(["--stack", stack, "--cwd", str(PROGRAM), "--policy-config", PROD, "--json",
                 *(["--preview"] if preview else [])])
    return code, json.loads(capsys.readouterr().out)


def test_the_rules_resource_options_are_rendered_as_the_program_gives_them():
    for ignore, expected in (("true", ["actions"]), ("false", [])):
        rendering = render(PROGRAM, project="ecs-blue-green", stack="test",
                           config={"aws:region": "us-east-1", "ecs-blue-green:ignoreActions": ignore})
        assert [r.ignore_changes for r in rendering.resources if r.type == RULE] == [expected, expected]
        [service] = [r for r in rendering.resources if r.type == "aws:ecs/service:Service"]
        assert service.inputs["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"


@pytest.mark.parametrize("preview", [False, True], ids=["update", "first preview"])
def test_rules_that_ignore_their_actions_pass(capsys, preview):
    _, report = run(capsys, "ignoring", preview)
    assert [v for v in report["violations"] if v["policy"] == POLICY] == []
    assert report["notEvaluated"] == [] and report["answeredWithNothing"] == []


@pytest.mark.parametrize("preview", [False, True], ids=["update", "first preview"])
def test_rules_that_own_their_actions_are_blocked(capsys, preview):
    status, report = run(capsys, "reverting", preview)
    assert status == 1
    found = [v for v in report["violations"] if v["policy"] == POLICY]
    assert sorted(v["urn"].rsplit("::", 1)[1] for v in found) == ["production", "test"]
    assert {v["enforcementLevel"] for v in found} == {"mandatory"}
    messages = " ".join(v["message"] for v in found)
    assert "of ECS service 'web'" in messages and "ignoreChanges: none" in messages
    if not preview:  # by ARN: each rule's role is known
        assert "is the production (loadBalancers[0].advancedConfiguration.productionListenerRule)" in messages
        assert "is the test (loadBalancers[0].advancedConfiguration.testListenerRule)" in messages


@pytest.mark.parametrize("preview", [False, True], ids=["update", "first preview"])
def test_the_blue_green_service_without_rollback_alarms_is_blocked_in_prod(capsys, preview):
    """The program bakes 5 minutes (the minimum) but gives the service no alarms to roll back on."""
    _, report = run(capsys, "ignoring", preview)
    [found] = [v for v in report["violations"] if v["policy"] == "ecs-deployment-safe-rollback"]
    assert found["enforcementLevel"] == "mandatory" and found["urn"].endswith("::web")
    assert "ECS service 'web' deploys BLUE_GREEN without rollback alarms (alarms is not set)" in found["message"]
