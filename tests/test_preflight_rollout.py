"""preflight's Rollout section and JSON `rollout`: each ECS service's modeled deployment and rollback
(preflight/rollout.py over components/rollout.py), for our stacks, a foreign program with one
service per strategy (tests/fixtures/foreign/rollout), awsx, and values unknown until deployment."""

from __future__ import annotations

import json

import pytest

import components.fargate_service as fargate_service
from components.rollout import RolloutInputs, inputs_for_service, model, with_aws_defaults
from preflight.__main__ import main
from preflight.render import render
from preflight.report import Result, to_json, to_text
from preflight.rollout import duration_seconds, rollouts
from testkit import ROOT, render_stack

FOREIGN = ROOT / "tests" / "fixtures" / "foreign"
PROGRAM = FOREIGN / "rollout"
DEV = str(ROOT / "policies" / "config" / "dev.json")

# The foreign program's timing: healthy after 3 × 15 s = 45 s, 60 s deregistration, 10 s stopTimeout.
TIMING = dict(health_check_interval_seconds=15, healthy_threshold=3, unhealthy_threshold=2,
              health_check_timeout_seconds=5, deregistration_delay_seconds=60, stop_timeout_seconds=10)
EXPECTED = {
    # 4 tasks, min 50 % / max 100 %: 4 − 2 = 2 per batch, 2 batches of 60 + 45 + 60 + 10 = 175: 350 s,
    # then ECS's alarm bake, modeled as the alarm's 3 periods of 60 s: 530 s.
    # Rollback: its alarm 180 + the same 350 = 530 s.
    "rolling": (RolloutInputs(strategy="ROLLING", desired_count=4, minimum_healthy_percent=50, maximum_percent=100,
                              grace_period_seconds=30, alarm_evaluation_minutes=3, **TIMING), 530, 530),
    # 60 + 45 + 0 (at once) + 15 min bake 900 + 60 + 10 = 1075 s; rollback 60 + 10 = 70 s.
    "blue-green": (RolloutInputs(strategy="BLUE_GREEN", desired_count=2, bake_time_minutes=15, **TIMING), 1075, 70),
    # 20 % steps: 5 steps, 4 waits × 5 min = 1200; 60 + 45 + 1200 + 0 bake + 70 = 1375 s.
    "linear": (RolloutInputs(strategy="LINEAR", desired_count=2, step_percent=20.0, step_bake_minutes=5,
                             **TIMING), 1375, 70),
    # 60 + 45 + pause 20 min 1200 + canary 3 min 180 + bake 5 min 300 + 70 = 1855 s.
    "canary": (RolloutInputs(strategy="CANARY", desired_count=2, canary_percent=10.0, canary_bake_minutes=3,
                             bake_time_minutes=5, pause_minutes=(20,), **TIMING), 1855, 70),
}


def same(rollout, expected) -> bool:
    """preflight's model is components/rollout.py loaded under its own name: compare values."""
    return (rollout.strategy, tuple(rollout.deploy), tuple(rollout.rollback), rollout.failed_task_seconds) == \
        (expected.strategy, expected.deploy, expected.rollback, expected.failed_task_seconds)


def preflight_json(capsys, program, stack: str, *extra: str) -> tuple[int, dict]:
    code = main(["--stack", stack, "--cwd", str(program), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def foreign(preview: bool = False, **config) -> dict:
    rendering = render(PROGRAM, project="rollout", stack="test", preview=preview,
                       config={"aws:region": "us-east-1", **{f"rollout:{k}": v for k, v in config.items()}})
    return {r.name: r for r in rollouts(rendering)}


@pytest.mark.parametrize("preview", [False, True], ids=["update", "first preview"])
def test_each_strategy_is_timed_as_the_model_times_it(preview):
    found = foreign(preview)
    assert sorted(found) == sorted(EXPECTED)
    for name, (inputs, deploy, rollback) in EXPECTED.items():
        entry = found[name]
        assert entry.strategy == inputs.strategy and entry.unknown == [] and entry.note is None, name
        assert (entry.rollout.deploy_seconds, entry.rollout.rollback_seconds) == (deploy, rollback), name
        assert same(entry.rollout, model(inputs)), name
        assert same(entry.aws_defaults, model(with_aws_defaults(inputs))), name


def test_aws_defaults_of_the_foreign_services():
    found = foreign()
    # rolling: 2 × (60 + 150 + 300 + 30) + 180 alarm bake = 1260 s; blue/green: 60 + 150 + 900 + 300 + 30 = 1440 s.
    assert found["rolling"].aws_defaults.deploy_seconds == 1260
    assert found["blue-green"].aws_defaults.deploy_seconds == 1440


def test_the_timeout_flag_fires_when_short_and_not_when_long():
    found = foreign()
    # No custom_timeouts: the provider's 20 min. linear (22 min 55 s) and canary (30 min 55 s) outgrow it.
    assert {name for name, entry in found.items() if entry.warning} == {"linear", "canary"}
    assert "the provider's default create and update timeout (20 min) shorter than the modeled deployment " \
           "(22 min 55 s)" in found["linear"].warning
    assert "at least 35m" in found["linear"].warning         # 1375 × 1.5 = 2062.5 s -> 35 min
    found = foreign(timeouts=json.dumps({"rolling": "5m", "linear": "30m", "canary": "1h"}))
    # rolling 530 s > 5 min; linear 1375 s < 30 min; canary 1855 s < 60 min.
    assert {name for name, entry in found.items() if entry.warning} == {"rolling"}
    assert found["rolling"].warning.startswith("rolling: customTimeouts.create 5m and customTimeouts.update 5m "
                                               "shorter than the modeled deployment (8 min 50 s)")
    assert found["canary"].timeout_seconds == 3600


def test_a_flagged_timeout_is_a_warning_that_leaves_the_exit_status_alone(capsys):
    rendering = render(PROGRAM, project="rollout", stack="test", config={"aws:region": "us-east-1"})
    result = Result(rendering=rendering, environment=None, pack_name="pack", policy_config=None, preview=False,
                    diagnostics=[])
    assert result.exit_code == 0
    text = to_text(result)
    assert "  warning: linear: the provider's default create and update timeout (20 min) shorter" in text
    assert text.splitlines()[-1].endswith(": passed")
    rows = {row["service"]: row for row in json.loads(to_json(result))["rollout"]}
    assert rows["linear"]["warning"] and rows["linear"]["timeoutSeconds"] == 1200
    assert rows["linear"]["suggestedTimeoutMinutes"] == 35
    assert rows["rolling"]["warning"] is None
    # Through the command line too (this program has other findings at dev's levels).
    _, document = preflight_json(capsys, PROGRAM, "test", "--policy-config", DEV)
    assert sorted(row["service"] for row in document["rollout"] if row["warning"]) == ["canary", "linear"]


def test_unknown_inputs_are_named_not_guessed():
    for preview in (False, True):
        found = foreign(preview, extras="true")
        outside = found["outside"]
        assert outside.rollout is None and outside.warning is None
        assert outside.unknown == ["the target group (arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                                   "targetgroup/elsewhere/0123456789abcdef is not in this program)"]
        assert found["codedeploy"].note == "the CODE_DEPLOY deployment controller is not modeled"
        assert found["codedeploy"].rollout is None
    # The image is the repository's URL: known in an update, not before the first deployment.
    assert foreign(False, extras="true")["built"].rollout.deploy_seconds == 60 + 45 + 60 + 10
    built = foreign(True, extras="true")["built"]
    assert built.rollout is None and built.unknown == ["task definition built containerDefinitions"]
    assert built.line() == "built ROLLING: unknown until deployment: task definition built containerDefinitions"


def test_the_custom_timeouts_option_is_rendered():
    rendering = render(PROGRAM, project="rollout", stack="test",
                       config={"aws:region": "us-east-1", "rollout:timeouts": json.dumps({"canary": "1h30m"})})
    services = {r.name: r for r in rendering.of_type("aws:ecs/service:Service")}
    assert services["canary"].custom_timeouts == {"create": "1h30m", "update": "1h30m"}
    assert services["linear"].custom_timeouts == {}


def test_go_durations():
    assert [duration_seconds(t) for t in ("20m", "1h30m", "90s", "1.5h", "", "20", "soon")] == \
        [1200, 5400, 90, 5400, None, None, None]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_report_each_service(capsys, stack):
    code, document = preflight_json(capsys, ROOT, stack)
    assert code == 0
    services = [r for r in document["resources"] if r["type"] == "aws:ecs/service:Service"]
    assert [row["urn"] for row in document["rollout"]] == [s["urn"] for s in services]
    for row in document["rollout"]:
        assert row["strategy"] in ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"), row
        assert row["unknown"] == [] and row["deploySeconds"] > 0 and row["rollbackSeconds"] > 0, row
        assert row["awsDefaultsDeploySeconds"] >= row["deploySeconds"], row
        assert row["deploySeconds"] == sum(p["seconds"] for p in row["deployPhases"]), row
        # pulumi up waits for each deployment, so its timeout must cover the model.
        assert row["waitForSteadyState"] is True and row["warning"] is None, row
        assert row["timeoutSeconds"] >= row["deploySeconds"], row


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_agree_with_the_component_model(monkeypatch, stack):
    """What preflight reads back from the rendered resources is what FargateService's own
    model of its ServiceSpec gives: one model for both."""
    specs = {}
    original = fargate_service.FargateService.__init__

    def recording(self, name, args, opts=None):
        specs[f"{name}-service"] = args.service
        original(self, name, args, opts)

    monkeypatch.setattr(fargate_service.FargateService, "__init__", recording)
    found = {r.name: r for r in rollouts(render_stack(stack))}
    assert sorted(found) == sorted(specs) and specs
    for name, spec in specs.items():
        assert same(found[name].rollout, model(inputs_for_service(spec))), name


def test_shipped_stack_text_has_a_rollout_line_per_service(capsys):
    assert main(["--stack", "prod", "--cwd", str(ROOT)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Rollout: "))
    rows = [line for line in lines[start + 1:] if line.startswith("  ")]
    assert len(rows) >= 2 and all("deploy " in row and "(AWS defaults: " in row for row in rows), rows
    assert lines[-1].startswith("Summary: ")


@pytest.mark.parametrize("preview", [False, True], ids=["update", "first preview"])
def test_awsx_and_foreign_blue_green_programs(preview):
    awsx = rollouts(render(FOREIGN / "awsx-fargate", project="awsx-fargate", stack="test",
                           config={"aws:region": "us-east-1"}, preview=preview))
    # awsx's default target group sets no timing: AWS's, so both figures are the defaults':
    # 60 + 5 × 30 + 300 + 30 = 540 s.
    assert [(r.strategy, r.rollout.deploy_seconds, r.aws_defaults.deploy_seconds) for r in awsx] == \
        [("ROLLING", 540, 540)]
    blue_green = rollouts(render(FOREIGN / "ecs-blue-green", project="ecs-blue-green", stack="test",
                                 config={"aws:region": "us-east-1", "ecs-blue-green:ignoreActions": "true"},
                                 preview=preview))
    # 60 + 150 + 0 + 5 min bake 300 + 300 + 30 = 840 s; it does not wait, so no timeout warning.
    assert [(r.strategy, r.rollout.deploy_seconds, r.wait, r.warning) for r in blue_green] == \
        [("BLUE_GREEN", 840, False, None)]


def test_preflight_does_not_import_the_components_package():
    """A program rendered later (another tree in `preflight diff`, a foreign program with a
    `components` package of its own) must import its own `components`."""
    import subprocess
    import sys
    code = "import sys, preflight.__main__; print(sorted(m for m in sys.modules if m.startswith('components')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_unknown_rollback_alarm_name_makes_the_figures_unknown():
    from pulumi.runtime import rpc

    from preflight.rollout import _Program, service_rollout
    rendering = render(PROGRAM, project="rollout", stack="test", config={"aws:region": "us-east-1"})
    [service] = [r for r in rendering.of_type("aws:ecs/service:Service") if r.name == "rolling"]
    service.inputs["alarms"] = {**service.inputs["alarms"], "alarmNames": [rpc.UNKNOWN]}
    entry = service_rollout(_Program(rendering), service)
    assert (entry.rollout, entry.unknown) == (None, ["alarms.alarmNames"])


def test_an_unforeseen_input_shape_is_a_note_not_a_crash():
    rendering = render(PROGRAM, project="rollout", stack="test", config={"aws:region": "us-east-1"})
    [service] = [r for r in rendering.of_type("aws:ecs/service:Service") if r.name == "linear"]
    service.inputs["deploymentConfiguration"] = {**service.inputs["deploymentConfiguration"],
                                                 "linearConfiguration": {"stepPercent": 0}}
    entry = {r.name: r for r in rollouts(rendering)}["linear"]
    assert entry.rollout is None and entry.note.startswith("preflight could not model it: ZeroDivisionError")


def test_the_releases_doc_table_is_what_preflight_reports():
    """docs/deployments.md's table of the shipped stacks' rollout times, row by row, against preflight."""
    from components.rollout import format_duration

    text = (ROOT / "docs" / "deployments.md").read_text()
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| dev ") or line.startswith("| staging ") or line.startswith("| prod ")]
    assert {row[0] for row in rows} == {"dev", "staging", "prod"}
    reported = {}
    for stack in ("dev", "staging", "prod"):
        for found in rollouts(render_stack(stack)):
            reported[(stack, found.name.removesuffix("-service"))] = found
    assert {(row[0], row[1]) for row in rows} == set(reported)
    names = {"ROLLING": "rolling", "BLUE_GREEN": "blueGreen", "LINEAR": "linear", "CANARY": "canary"}
    for stack, service, strategy, deploy, rollback, defaults in rows:
        found = reported[(stack, service)]
        assert strategy == names[found.strategy], (stack, service)
        assert (deploy, rollback) == (format_duration(found.rollout.deploy_seconds),
                                      format_duration(found.rollout.rollback_seconds)), (stack, service)
        assert defaults == f"{format_duration(found.aws_defaults.deploy_seconds)} / " \
                           f"{format_duration(found.aws_defaults.rollback_seconds)}", (stack, service)


def test_the_releases_doc_quotes_prods_rollout_section_as_preflight_prints_it(capsys):
    assert main(["--stack", "prod", "--cwd", str(ROOT)]) == 0
    printed = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(printed) if line.startswith("Rollout:"))
    section = printed[start:start + 1 + sum(1 for line in printed[start + 1:] if line.startswith("  ") and "tasks:" in line)]
    text = (ROOT / "docs" / "deployments.md").read_text()
    assert "\n".join(section) in text


SETUP_AND_PREVIEW_MINUTES = 20
"""What the deploy job spends besides `pulumi up`'s wait for the services: set-up, the policy-gated
preview, verify-rollout (generous; a slow runner)."""


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_ci_deploy_job_outlasts_the_longest_service_wait(stack):
    """pulumi up updates a stack's services in parallel and may wait for each up to its update
    timeout: the deploy job (and the credentials it asks for) must last that long, or the runner
    dies mid-update and leaves the stack locked with pending operations."""
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy-stack.yml").read_text())
    job = workflow["jobs"]["deploy"]
    budget_minutes = job["timeout-minutes"]
    credentials = [step["with"] for step in job["steps"] if "role-duration-seconds" in step.get("with", {})]
    assert credentials and all(int(w["role-duration-seconds"]) >= budget_minutes * 60 for w in credentials)
    waits = [entry.timeouts["update"] / 60 for entry in rollouts(render_stack(stack)) if entry.wait]
    assert waits and max(waits) + SETUP_AND_PREVIEW_MINUTES <= budget_minutes, (stack, waits, budget_minutes)


def test_a_metric_math_alarm_is_timed_by_its_queries_periods():
    """The components' alarms over both target groups keep their period on each query's metric:
    preflight reads it there (a 300 s metric is five times a 60 s one), not the top-level default."""
    import copy

    rendering = render(ROOT / "tests" / "fixtures" / "strategies-program", project="strategies-program",
                       stack="prod", config={"aws:region": "eu-west-1"})

    def detection(rendered) -> float:
        found = next(r for r in rollouts(rendered) if r.name == "can-service")
        return next(p.seconds for p in found.rollout.rollback if p.label.startswith("detect"))

    # The canary service's alarms: 3 evaluation periods of 60 s.
    assert detection(rendering) == 3 * 60
    slower = copy.deepcopy(rendering)
    for alarm in slower.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        for query in alarm.inputs.get("metricQueries") or []:
            if query.get("metric"):
                query["metric"]["period"] = 300
    assert detection(slower) == 3 * 300
