"""A service's `deployment` (ECS's rolling, blueGreen, linear and canary strategies, their knobs and
lifecycle hooks), the rollback alarm's p99 latency and the load balancer's test listener, as a stack
file sets them: every key reaches the spec, every value ECS would refuse is reported under its key
path, a knob of another strategy is an error, no secret is echoed, and the schema agrees."""

from __future__ import annotations

import copy
import json
import math

import jsonschema
import pytest

import config_reference
import settings
from components.deployment import HOOK_STAGES, KNOB_STRATEGY, STRATEGIES, DeploymentSpec, LifecycleHookSpec
from settings import SettingsError, parse
from testkit import FIXTURE_STACKS, ROOT, fixture_stack, render_fixture_stack

WEB = {"image": "nginx:1.27", "port": 80}
WORKER = {"image": "busybox:1"}
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"
TEST_LISTENER = {"testListenerPort": 8443, "testListenerCidrs": ["10.20.0.0/16"]}
SECRET = "Hunter2-s3cr3t"


def valid(deployment: dict | None = None, load_balancer: dict | None = None, **service) -> dict:
    """A dev stack with one web service `api` and this deployment."""
    api = {**WEB, **service, **({"deployment": deployment} if deployment is not None else {})}
    return {"environment": "dev", "services": {"api": api},
            **({"loadBalancer": load_balancer} if load_balancer is not None else {})}


def parsed(raw: dict, region: str = "us-east-1", secret_keys=()) -> settings.Settings:
    return parse(raw, project="ecs-fargate", stack="test", region=region, secret_keys=secret_keys)


def problems(raw: dict, region: str = "us-east-1", secret_keys=()) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parsed(raw, region, secret_keys)
    return caught.value.problems


def deployment_of(raw: dict) -> DeploymentSpec:
    return parsed(raw).services[0].deployment


# -- Every key reaches the spec ---------------------------------------------------------------------

def test_without_deployment_a_service_rolls_as_before():
    assert deployment_of(valid()) == DeploymentSpec() and DeploymentSpec().strategy == "rolling"
    assert deployment_of(valid({})) == DeploymentSpec()
    assert deployment_of(valid({"strategy": "rolling"})) == DeploymentSpec()
    worker = parsed({"environment": "dev", "services": {"w": {**WORKER, "deployment": {"strategy": "rolling"}}}})
    assert worker.services[0].deployment == DeploymentSpec()


@pytest.mark.parametrize("raw, expected", [
    (valid({"strategy": "blueGreen", "bakeTimeMinutes": 0}), DeploymentSpec(strategy="blueGreen", bake_time_minutes=0)),
    (valid({"strategy": "canary", "canaryPercent": 2.5, "canaryBakeMinutes": 0, "bakeTimeMinutes": 1440}),
     DeploymentSpec(strategy="canary", canary_percent=2.5, canary_bake_minutes=0, bake_time_minutes=1440)),
    (valid({"strategy": "canary", "canaryPercent": 100}), DeploymentSpec(strategy="canary", canary_percent=100)),
    (valid({"strategy": "canary", "canaryPercent": 0.1}), DeploymentSpec(strategy="canary", canary_percent=0.1)),
    (valid({"strategy": "linear", "stepPercent": 3, "stepBakeMinutes": 1440}),
     DeploymentSpec(strategy="linear", step_percent=3, step_bake_minutes=1440)),
    (valid({"strategy": "linear", "stepPercent": 33.3}), DeploymentSpec(strategy="linear", step_percent=33.3)),
    (valid({"strategy": "blueGreen", "bakeTimeMinutes": "30"}), DeploymentSpec(strategy="blueGreen",
                                                                               bake_time_minutes=30)),
], ids=["blueGreen", "canary", "canary-100", "canary-0.1", "linear", "linear-33.3", "minutes-as-digits"])
def test_each_strategys_knobs_reach_the_spec(raw, expected):
    assert deployment_of(raw) == expected


def test_the_defaults_are_ecss_but_the_bake_time_ours():
    """botocore's ECS model: canary 5.0 % for 10 minutes, linear 10.0 % steps every 6 minutes; ECS has
    no bake time default (BLUE_GREEN requires one), this project writes 10."""
    spec = deployment_of(valid({"strategy": "canary"}))
    assert (spec.canary_percent, spec.canary_bake_minutes, spec.bake_time_minutes) == (5.0, 10, 10)
    spec = deployment_of(valid({"strategy": "linear"}))
    assert (spec.step_percent, spec.step_bake_minutes) == (10.0, 6)
    for key in settings.DEPLOYMENT:
        assert key.default == getattr(DeploymentSpec(), settings._snake(key.name)) or key.name == "hooks"


def test_hooks_reach_the_spec_in_order():
    spec = deployment_of(valid({"strategy": "canary", "hooks": [
        {"stages": ["POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"], "functionArn": LAMBDA},
        {"stages": ["POST_SCALE_UP"], "functionArn": f"{LAMBDA}:live"},
        {"stages": ["PRE_SCALE_UP"], "pause": True, "timeoutMinutes": 20160, "timeoutAction": "CONTINUE"},
        {"stages": ["POST_SCALE_UP"], "pause": "true"},
    ]}))
    assert spec.hooks == (
        LifecycleHookSpec(stages=("POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"), function_arn=LAMBDA),
        LifecycleHookSpec(stages=("POST_SCALE_UP",), function_arn=f"{LAMBDA}:live"),
        LifecycleHookSpec(stages=("PRE_SCALE_UP",), pause=True, timeout_minutes=20160, timeout_action="CONTINUE"),
        LifecycleHookSpec(stages=("POST_SCALE_UP",), pause=True),
    )


def test_test_traffic_and_the_test_listener_reach_the_specs():
    stack = parsed(valid({"strategy": "blueGreen", "testTraffic": True}, TEST_LISTENER))
    assert stack.services[0].deployment.test_traffic is True
    assert (stack.load_balancer.test_listener_port, stack.load_balancer.test_listener_cidrs) == (8443, ("10.20.0.0/16",))
    assert stack.warnings == ()


def test_p99_latency_reaches_the_rollback_alarm():
    alarm = parsed(valid(rollbackAlarm={"targetErrorsPerMinute": 5, "p99LatencyMs": 1500})).services[0].rollback_alarm
    assert (alarm.target_errors_per_minute, alarm.evaluation_minutes, alarm.p99_latency_ms) == (5, 2, 1500)
    assert parsed(valid(rollbackAlarm={"targetErrorsPerMinute": 5})).services[0].rollback_alarm.p99_latency_ms is None


def test_an_error_rate_reaches_the_rollback_alarm():
    alarm = parsed(valid(rollbackAlarm={"targetErrorsPerMinute": 5, "errorRatePercent": 5})).services[0].rollback_alarm
    assert (alarm.target_errors_per_minute, alarm.error_rate_percent, alarm.p99_latency_ms) == (5, 5, None)
    assert parsed(valid(rollbackAlarm={"targetErrorsPerMinute": 5})).services[0].rollback_alarm.error_rate_percent \
        is None
    key = settings.declared(settings.ROLLBACK_ALARM, "errorRatePercent")
    assert (key.kind, key.low, key.high, key.default) == ("int", 1, 100, None)


# -- Numbers -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [valid({"strategy": "canary", "canaryPercent": value})
                                 for value in (0.3, 0.7, 1.1, 2.5, 5.7, 33.3, 99.9, 10, 10.0, 100)])
def test_a_multiple_of_a_tenth_is_one_whatever_binary_floating_point_makes_of_it(raw):
    """0.3 / 0.1 is 2.9999999999999996 in floating point; ECS takes 0.3."""
    assert deployment_of(raw).canary_percent == raw["services"]["api"]["deployment"]["canaryPercent"]


def test_a_whole_number_written_as_a_float_in_yaml_reaches_the_program_as_an_int(tmp_path):
    """The CLI reads `2.0` into Go's float64 and marshals it as the JSON 2 (preflight.stack_config)."""
    from preflight.stack_config import load_stack_config

    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.t.yaml").write_text(
        "config:\n  ecs-fargate:environment: dev\n  ecs-fargate:services:\n    api:\n      image: nginx:1\n"
        "      port: 80\n      deployment: {strategy: linear, stepPercent: 20.0}\n")
    config = load_stack_config(tmp_path, "t").config
    step = config["ecs-fargate:services"]["api"]["deployment"]["stepPercent"]
    assert step == 20 and type(step) is int
    assert deployment_of(valid({"strategy": "linear", "stepPercent": step})).step_percent == 20


@pytest.mark.parametrize("raw, key, message", [
    (valid({"strategy": "canary", "canaryPercent": "5"}), "services.api.deployment.canaryPercent",
     "expected a number from 0.1 to 100, got '5', a string: write it unquoted, or set it with "
     "`pulumi config set --path --type float`"),
    (valid({"strategy": "canary", "canaryPercent": " 2.5 "}), "services.api.deployment.canaryPercent",
     "a string: write it unquoted"),
    (valid({"strategy": "canary", "canaryPercent": "five"}), "services.api.deployment.canaryPercent",
     "expected a number from 0.1 to 100, got 'five'"),
    (valid({"strategy": "canary", "canaryPercent": True}), "services.api.deployment.canaryPercent",
     "expected a number from 0.1 to 100, got true"),
    (valid({"strategy": "canary", "canaryPercent": [5]}), "services.api.deployment.canaryPercent",
     "expected a number from 0.1 to 100, got [5]"),
    (valid({"strategy": "linear", "stepPercent": math.nan}), "services.api.deployment.stepPercent",
     "expected a number from 3 to 100"),
    (valid({"strategy": "linear", "stepPercent": math.inf}), "services.api.deployment.stepPercent",
     "is out of range; valid: 3 to 100"),
])
def test_a_number_is_an_int_or_a_float_and_nothing_else(raw, key, message):
    found = [p for p in problems(raw) if p.startswith(f"{key}: ")]
    assert len(found) == 1 and message in found[0], found


# -- Every value ECS would refuse, under its key path -------------------------------------------

@pytest.mark.parametrize("raw, key, message", [
    (valid({"strategy": "blue-green"}), "services.api.deployment.strategy",
     "'blue-green' is not one of: rolling, blueGreen, linear, canary"),
    (valid({"strategy": "BLUE_GREEN"}), "services.api.deployment.strategy", "not one of: rolling, blueGreen"),
    (valid({"stratgy": "canary"}), "services.api.deployment.stratgy", "did you mean 'strategy'?"),
    (valid("canary"), "services.api.deployment", "expected a mapping, got 'canary'"),
    (valid({"strategy": "blueGreen", "bakeTimeMinutes": 1441}), "services.api.deployment.bakeTimeMinutes",
     "1441 is out of range; valid: 0 to 1440"),
    (valid({"strategy": "blueGreen", "bakeTimeMinutes": -1}), "services.api.deployment.bakeTimeMinutes",
     "-1 is out of range; valid: 0 to 1440"),
    (valid({"strategy": "blueGreen", "bakeTimeMinutes": 2.5}), "services.api.deployment.bakeTimeMinutes",
     "expected a whole number from 0 to 1440, got 2.5"),
    (valid({"strategy": "canary", "canaryPercent": 0}), "services.api.deployment.canaryPercent",
     "0 is out of range; valid: 0.1 to 100"),
    (valid({"strategy": "canary", "canaryPercent": 0.05}), "services.api.deployment.canaryPercent",
     "0.05 is out of range; valid: 0.1 to 100"),
    (valid({"strategy": "canary", "canaryPercent": 100.1}), "services.api.deployment.canaryPercent",
     "100.1 is out of range; valid: 0.1 to 100"),
    (valid({"strategy": "canary", "canaryPercent": 5.55}), "services.api.deployment.canaryPercent",
     "5.55 is not a multiple of 0.1"),
    (valid({"strategy": "canary", "canaryBakeMinutes": 1441}), "services.api.deployment.canaryBakeMinutes",
     "1441 is out of range; valid: 0 to 1440"),
    (valid({"strategy": "linear", "stepPercent": 2.9}), "services.api.deployment.stepPercent",
     "2.9 is out of range; valid: 3 to 100"),
    (valid({"strategy": "linear", "stepPercent": 101}), "services.api.deployment.stepPercent",
     "101 is out of range; valid: 3 to 100"),
    (valid({"strategy": "linear", "stepPercent": 12.34}), "services.api.deployment.stepPercent",
     "12.34 is not a multiple of 0.1"),
    (valid({"strategy": "linear", "stepBakeMinutes": -1}), "services.api.deployment.stepBakeMinutes",
     "-1 is out of range; valid: 0 to 1440"),
    (valid({"strategy": "canary", "testTraffic": "yes"}, TEST_LISTENER), "services.api.deployment.testTraffic",
     "expected true or false, got 'yes'"),
    (valid(rollbackAlarm={"targetErrorsPerMinute": 5, "p99LatencyMs": 0}), "services.api.rollbackAlarm.p99LatencyMs",
     "0 is out of range; valid: 1 to 3600000"),
    (valid(rollbackAlarm={"targetErrorsPerMinute": 5, "p99LatencyMs": 3600001}),
     "services.api.rollbackAlarm.p99LatencyMs", "3600001 is out of range; valid: 1 to 3600000"),
    (valid(rollbackAlarm={"targetErrorsPerMinute": 5, "errorRatePercent": 0}),
     "services.api.rollbackAlarm.errorRatePercent", "0 is out of range; valid: 1 to 100"),
    (valid(rollbackAlarm={"targetErrorsPerMinute": 5, "errorRatePercent": 101}),
     "services.api.rollbackAlarm.errorRatePercent", "101 is out of range; valid: 1 to 100"),
    (valid(rollbackAlarm={"targetErrorsPerMinute": 5, "errorRatePercent": 2.5}),
     "services.api.rollbackAlarm.errorRatePercent", "expected a whole number from 1 to 100, got 2.5"),
    (valid(rollbackAlarm={"targetErrorsPerMinute": 5, "errorRatePercent": "5%"}),
     "services.api.rollbackAlarm.errorRatePercent", "expected a whole number from 1 to 100, got '5%'"),
    (valid(rollbackAlarm={"targetErrorsPerMinute": 5, "p99LatencyMS": 100}),
     "services.api.rollbackAlarm.p99LatencyMS", "did you mean 'p99LatencyMs'?"),
    (valid(load_balancer={**TEST_LISTENER, "testListenerPort": 0}), "loadBalancer.testListenerPort",
     "0 is out of range; valid: 1 to 65535"),
    (valid(load_balancer={**TEST_LISTENER, "testListenerPort": 65536}), "loadBalancer.testListenerPort",
     "65536 is out of range; valid: 1 to 65535"),
    (valid(load_balancer={**TEST_LISTENER, "testListenerPort": 80}), "loadBalancer.testListenerPort",
     "80 is a production listener's port; choose another, e.g. 8443"),
    (valid(load_balancer={**TEST_LISTENER, "testListenerPort": 443}), "loadBalancer.testListenerPort",
     "443 is a production listener's port; choose another, e.g. 8443"),
    (valid(load_balancer={**TEST_LISTENER, "testListenerPort": "443"}), "loadBalancer.testListenerPort",
     "443 is a production listener's port"),
    (valid(load_balancer={"testListenerPort": 8443}), "loadBalancer.testListenerCidrs",
     "required with testListenerPort: who may reach the test listener (e.g. your office or VPN CIDR)"),
    (valid(load_balancer={"testListenerPort": 8443, "testListenerCidrs": []}), "loadBalancer.testListenerCidrs",
     "required with testListenerPort"),
    (valid(load_balancer={"testListenerCidrs": ["10.0.0.0/8"]}), "loadBalancer.testListenerCidrs",
     "only applies with testListenerPort"),
    (valid(load_balancer={**TEST_LISTENER, "testListenerCidrs": ["10.20.0.1/16"]}),
     "loadBalancer.testListenerCidrs[0]", "host bits"),
])
def test_each_bad_value_is_reported_under_its_key(raw, key, message):
    found = [p for p in problems(raw) if p.startswith(f"{key}: ")]
    assert len(found) == 1 and message in found[0], (key, problems(raw))


# -- A knob of another strategy --------------------------------------------------------------------

KNOB_VALUES = {"bakeTimeMinutes": 5, "canaryPercent": 2.5, "canaryBakeMinutes": 5, "stepPercent": 20,
               "stepBakeMinutes": 2, "hooks": [{"stages": ["POST_SCALE_UP"], "pause": True}], "testTraffic": True}
MISMATCHES = [(strategy, knob) for knob in KNOB_VALUES for strategy in STRATEGIES
              if strategy not in KNOB_STRATEGY[settings._snake(knob)]]


@pytest.mark.parametrize("strategy, knob", MISMATCHES, ids=[f"{knob}-with-{strategy}" for strategy, knob in MISMATCHES])
def test_a_knob_of_another_strategy_is_an_error_naming_its_key_path(strategy, knob):
    applies = " or ".join(KNOB_STRATEGY[settings._snake(knob)])
    found = problems(valid({"strategy": strategy, knob: KNOB_VALUES[knob]}, TEST_LISTENER))
    assert found == [f"services.api.deployment.{knob}: only applies with strategy {applies}, not {strategy}"], found


def test_the_example_of_the_docs_and_a_knob_given_with_its_default_value():
    """Given means written, even with the value the strategy would ignore anyway."""
    assert problems(valid({"strategy": "linear", "canaryPercent": 5})) == [
        "services.api.deployment.canaryPercent: only applies with strategy canary, not linear"]
    assert problems(valid({"canaryPercent": 5})) == [
        "services.api.deployment.canaryPercent: only applies with strategy canary, not rolling"]
    assert "services.api.deployment.canaryPercent: only applies with strategy canary, not linear" in \
        (ROOT / "docs" / "configuration.md").read_text().replace("\n", " ")


def test_a_knob_set_to_null_is_not_given():
    assert deployment_of(valid({"strategy": "linear", "canaryPercent": None})) == DeploymentSpec(strategy="linear")


def test_knobs_of_the_chosen_strategy_pass_and_a_bad_strategy_blames_no_knob():
    for strategy in STRATEGIES:
        knobs = {knob: value for knob, value in KNOB_VALUES.items()
                 if strategy in KNOB_STRATEGY[settings._snake(knob)]}
        parsed(valid({"strategy": strategy, **knobs}, TEST_LISTENER))
    assert problems(valid({"strategy": "canery", "canaryPercent": 2.5})) == [
        "services.api.deployment.strategy: 'canery' is not one of: rolling, blueGreen, linear, canary"]


def test_a_worker_rolls_only():
    raw = {"environment": "dev", "services": {"w": {**WORKER, "deployment": {"strategy": "canary"}}}}
    assert problems(raw) == ["services.w.deployment.strategy: canary shifts load balancer traffic, and only applies "
                             "to a service with a port; without one it is a worker; use rolling"]
    raw["services"]["w"]["deployment"] = {"testTraffic": True}
    assert problems(raw) == ["services.w.deployment.testTraffic: only applies with strategy blueGreen or linear or "
                             "canary, not rolling"]


# -- Hooks -------------------------------------------------------------------------------------------

def hooks(*entries) -> dict:
    return valid({"strategy": "canary", "hooks": list(entries)})


@pytest.mark.parametrize("raw, key, message", [
    (hooks({"stages": ["TEST_TRAFFIC_SHIFT"], "pause": True}), "services.api.deployment.hooks[0].stages",
     "ECS refuses a pause hook at TEST_TRAFFIC_SHIFT (traffic is moving then); pause at POST_TEST_TRAFFIC_SHIFT "
     "instead"),
    (hooks({"stages": ["POST_SCALE_UP", "PRODUCTION_TRAFFIC_SHIFT"], "pause": True}),
     "services.api.deployment.hooks[0].stages", "pause at POST_PRODUCTION_TRAFFIC_SHIFT instead"),
    (hooks({"stages": ["POST_SCALE_UP"]}), "services.api.deployment.hooks[0]",
     "set functionArn (a Lambda hook) or pause: true"),
    (hooks({"stages": ["POST_SCALE_UP"], "pause": False}), "services.api.deployment.hooks[0]",
     "set functionArn (a Lambda hook) or pause: true"),
    (hooks({"stages": ["POST_SCALE_UP"], "pause": True, "functionArn": LAMBDA}),
     "services.api.deployment.hooks[0].functionArn", "a pause hook invokes no function; set either functionArn or "
                                                     "pause: true"),
    (hooks({"stages": ["POST_SCALE_UP"], "functionArn": LAMBDA, "timeoutMinutes": 30}),
     "services.api.deployment.hooks[0].timeoutMinutes", "only applies to a pause hook"),
    (hooks({"stages": ["POST_SCALE_UP"], "functionArn": LAMBDA, "timeoutAction": "ROLLBACK"}),
     "services.api.deployment.hooks[0].timeoutAction", "only applies to a pause hook"),
    (hooks({"stages": ["POST_SCALEUP"], "functionArn": LAMBDA}), "services.api.deployment.hooks[0].stages[0]",
     "'POST_SCALEUP' is not a lifecycle stage; valid: " + ", ".join(HOOK_STAGES) + " (did you mean 'POST_SCALE_UP'?)"),
    (hooks({"stages": ["post-test-traffic-shift"], "functionArn": LAMBDA}), "services.api.deployment.hooks[0].stages[0]",
     "(did you mean 'POST_TEST_TRAFFIC_SHIFT'?)"),
    (hooks({"stages": ["BEFORE_INSTALL"], "functionArn": LAMBDA}), "services.api.deployment.hooks[0].stages[0]",
     "is not a lifecycle stage; valid: RECONCILE_SERVICE,"),
    (hooks({"stages": ["POST_SCALE_UP", "POST_SCALE_UP"], "functionArn": LAMBDA}),
     "services.api.deployment.hooks[0].stages", "POST_SCALE_UP is listed twice"),
    (hooks({"stages": [], "functionArn": LAMBDA}), "services.api.deployment.hooks[0].stages",
     "expected at least 1 item(s), got 0"),
    (hooks({"stages": "POST_SCALE_UP", "functionArn": LAMBDA}), "services.api.deployment.hooks[0].stages",
     "expected a list of non-empty strings"),
    (hooks({"functionArn": LAMBDA}), "services.api.deployment.hooks[0].stages",
     "required: the stages to run the hook at, e.g. [POST_TEST_TRAFFIC_SHIFT]"),
    (hooks({"stages": ["POST_SCALE_UP"], "functionArn": "arn:aws:lambda:us-east-1:123456789012:layer:x"}),
     "services.api.deployment.hooks[0].functionArn", "is not a Lambda function ARN"),
    (hooks({"stages": ["POST_SCALE_UP"], "functionArn": "smoke-test"}),
     "services.api.deployment.hooks[0].functionArn", "'smoke-test' is not a Lambda function ARN"),
    (hooks({"stages": ["POST_SCALE_UP"], "pause": True, "timeoutMinutes": 0}),
     "services.api.deployment.hooks[0].timeoutMinutes", "0 is out of range; valid: 1 to 20160"),
    (hooks({"stages": ["POST_SCALE_UP"], "pause": True, "timeoutMinutes": 20161}),
     "services.api.deployment.hooks[0].timeoutMinutes", "20161 is out of range; valid: 1 to 20160"),
    (hooks({"stages": ["POST_SCALE_UP"], "pause": True, "timeoutAction": "WAIT"}),
     "services.api.deployment.hooks[0].timeoutAction", "'WAIT' is not one of: ROLLBACK, CONTINUE"),
    (hooks({"stages": ["POST_SCALE_UP"], "function_arn": LAMBDA}), "services.api.deployment.hooks[0].function_arn",
     "did you mean 'functionArn'?"),
    (hooks(None), "services.api.deployment.hooks[0]", "empty; a hook needs stages, and functionArn or pause: true"),
    (hooks("POST_SCALE_UP"), "services.api.deployment.hooks[0]", "expected a mapping, got 'POST_SCALE_UP'"),
    (valid({"strategy": "canary", "hooks": {"stages": ["POST_SCALE_UP"], "pause": True}}),
     "services.api.deployment.hooks", "expected a list of hooks"),
])
def test_each_bad_hook_is_reported_under_its_key(raw, key, message):
    found = [p for p in problems(raw) if p.startswith(f"{key}: ")]
    assert len(found) == 1 and message in found[0], (key, problems(raw))


def test_a_bad_function_arn_or_strategy_is_reported_once():
    """An ARN refused as read is not also missing; the hook's other errors still come."""
    assert problems(hooks({"stages": ["POST_SCALE_UP"], "functionArn": "x"})) == [
        "services.api.deployment.hooks[0].functionArn: 'x' is not a Lambda function ARN "
        "(arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])"]
    assert problems(hooks({"stages": ["TEST_TRAFFIC_SHIFT"], "pause": True, "functionArn": "x"})) == [
        "services.api.deployment.hooks[0].functionArn: 'x' is not a Lambda function ARN "
        "(arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])",
        "services.api.deployment.hooks[0].functionArn: a pause hook invokes no function; set either functionArn or "
        "pause: true",
        "services.api.deployment.hooks[0].stages: ECS refuses a pause hook at TEST_TRAFFIC_SHIFT (traffic is moving "
        "then); pause at POST_TEST_TRAFFIC_SHIFT instead"]


def test_an_invalid_stage_listed_twice_is_reported_as_invalid_only():
    found = problems(hooks({"stages": ["NOPE", "NOPE"], "functionArn": LAMBDA}))
    assert [p.split(":")[0] for p in found] == ["services.api.deployment.hooks[0].stages[0]",
                                                "services.api.deployment.hooks[0].stages[1]"], found


def test_every_stage_ecs_offers_a_lambda_hook_takes_and_a_pause_takes_all_but_two():
    parsed(hooks({"stages": list(HOOK_STAGES), "functionArn": LAMBDA}))
    parsed(hooks({"stages": [s for s in HOOK_STAGES if s not in ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")],
                  "pause": True}))


# -- Lambda functions, partitions and regions ---------------------------------------------------

def test_a_function_of_another_partition_is_refused():
    arn = LAMBDA.replace("arn:aws:", "arn:aws-cn:").replace("us-east-1", "cn-north-1")
    assert problems(hooks({"stages": ["POST_SCALE_UP"], "functionArn": arn})) == [
        f"services.api.deployment.hooks[0].functionArn: '{arn}' is not an ARN of the aws partition, which us-east-1 "
        "belongs to"]
    parsed(hooks({"stages": ["POST_SCALE_UP"], "functionArn": arn}), region="cn-north-1")


def test_a_function_of_another_region_is_a_warning():
    """ECS's documentation says nothing of hooks in another region; the partition is certain."""
    stack = parsed(hooks({"stages": ["POST_SCALE_UP"], "functionArn": LAMBDA.replace("us-east-1", "eu-west-1")}))
    assert stack.warnings == (
        "services.api.deployment.hooks[0].functionArn: the function is in another region than the stack's "
        "aws:region; ECS's documentation does not say that it invokes a hook in another region, so the first "
        "deployment may fail: prefer a function in the stack's region",)
    assert parsed(hooks({"stages": ["POST_SCALE_UP"], "functionArn": LAMBDA})).warnings == ()


@pytest.mark.parametrize("qualifier", ["", ":$LATEST", ":7", ":live"])
def test_a_function_with_a_version_or_an_alias_is_taken(qualifier):
    assert parsed(hooks({"stages": ["POST_SCALE_UP"], "functionArn": LAMBDA + qualifier})).warnings == ()


# -- Test traffic and the test listener ---------------------------------------------------------

def test_test_traffic_needs_the_test_listener():
    assert problems(valid({"strategy": "canary", "testTraffic": True})) == [
        "services.api.deployment.testTraffic: needs loadBalancer.testListenerPort (and testListenerCidrs): the "
        "listener its test rule goes on"]


def test_test_traffic_false_needs_no_listener_and_a_listener_no_service_uses_is_a_warning():
    assert parsed(valid({"strategy": "canary", "testTraffic": False})).warnings == ()
    stack = parsed(valid({"strategy": "canary"}, TEST_LISTENER))
    assert stack.warnings == ("loadBalancer.testListenerPort: no service has deployment.testTraffic: true, so the "
                              "test listener routes nothing",)
    # A stack of workers has no load balancer to warn about.
    workers = parsed({"environment": "dev", "services": {"w": WORKER}, "loadBalancer": TEST_LISTENER})
    assert workers.warnings == ()


# -- Secrets ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, secret_key", [
    (valid({"strategy": SECRET}), "services"),
    (valid({"strategy": "canary", "canaryPercent": SECRET}), "services"),
    (valid({"strategy": "canary", "canaryPercent": 42.42}), "services"),
    (valid({"strategy": "linear", "stepPercent": 4242}), "services"),
    (valid({"strategy": "blueGreen", "bakeTimeMinutes": 4242}), "services"),
    (hooks({"stages": [SECRET, SECRET], "functionArn": LAMBDA}), "services"),
    (hooks({"stages": [f"POST_SCALE_{SECRET}"], "functionArn": LAMBDA}), "services"),
    (hooks({"stages": ["POST_SCALE_UP"], "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{SECRET}!"}),
     "services"),
    (hooks({"stages": ["POST_SCALE_UP"], "functionArn": f"arn:aws-cn:lambda:cn-north-1:123456789012:function:{SECRET}"}),
     "services"),
    (hooks({"stages": ["POST_SCALE_UP"], "pause": True, "timeoutAction": SECRET}), "services"),
    (hooks({"stages": ["POST_SCALE_UP"], "pause": True, "timeoutMinutes": 4242424}), "services"),
    (hooks(SECRET), "services"),
    (valid(rollbackAlarm={"targetErrorsPerMinute": 5, "p99LatencyMs": 4242424242}), "services"),
    (valid(load_balancer={"testListenerPort": 424242, "testListenerCidrs": [SECRET]}), "loadBalancer"),
    (valid(load_balancer={"testListenerPort": 8443, "testListenerCidrs": ["10.99.88.77/16"]}), "loadBalancer"),
])
def test_a_secret_config_value_is_never_echoed(raw, secret_key):
    """The engine marks a whole top-level key secret when any value in it is (`--secret --path`)."""
    with pytest.raises(SettingsError) as caught:
        parsed(raw, secret_keys={secret_key})
    message = str(caught.value)
    assert "<secret>" in message, message
    for leak in (SECRET, "4242", "42.42", "10.99", "POST_SCALE_UP'"):
        assert leak not in message, message


def test_a_secret_region_is_not_echoed_by_the_function_check():
    arn = LAMBDA.replace("us-east-1", "cn-north-1").replace("arn:aws:", "arn:aws-cn:")
    found = problems(hooks({"stages": ["POST_SCALE_UP"], "functionArn": arn}), region="eu-south-2",
                     secret_keys={"aws:region"})
    assert found == [f"services.api.deployment.hooks[0].functionArn: '{arn}' is not an ARN of the aws partition, "
                     "which <secret> belongs to"], found
    stack = parsed(hooks({"stages": ["POST_SCALE_UP"], "functionArn": LAMBDA}), region="eu-south-2",
                   secret_keys={"aws:region", "services"})
    assert all("eu-south-2" not in w and "us-east-1" not in w and "smoke-test" not in w for w in stack.warnings)


# -- The schema agrees -------------------------------------------------------------------------------

SCHEMA = json.loads((ROOT / config_reference.SCHEMA_PATH).read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)


def schema_errors(raw: dict) -> list[str]:
    document = {"config": {"aws:region": "us-east-1", **{f"ecs-fargate:{key}": value for key, value in raw.items()}}}
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(document)]


def _deployment_schema() -> dict:
    service = SCHEMA["definitions"]["services"]["anyOf"][0]["anyOf"][0]["additionalProperties"]["anyOf"][0]
    return service["properties"]["deployment"]["anyOf"][0]["anyOf"][0]


def test_the_schema_gives_numbers_their_range_and_no_multiple_of():
    """jsonschema (as Ajv and yaml-language-server) divides in binary floating point: with multipleOf 0.1
    it refuses 0.3, which ECS and the program take. The program checks the step."""
    canary = _deployment_schema()["properties"]["canaryPercent"]
    assert canary["anyOf"][0] == {"type": "number", "minimum": 0.1, "maximum": 100.0}
    assert canary["default"] == 5.0 and "0.1 to 100 in steps of 0.1" in canary["description"]
    assert "multipleOf" not in json.dumps(SCHEMA)
    assert not jsonschema.Draft7Validator({"type": "number", "multipleOf": 0.1}).is_valid(0.3)


@pytest.mark.parametrize("raw", [
    valid({"strategy": "canary", "canaryPercent": 0.3}),
    valid({"strategy": "linear", "stepPercent": 5.7, "stepBakeMinutes": 0, "bakeTimeMinutes": 0}),
    valid({"strategy": "canary", "canaryPercent": 10, "testTraffic": True, "hooks": [
        {"stages": ["POST_TEST_TRAFFIC_SHIFT"], "functionArn": LAMBDA},
        {"stages": ["POST_PRODUCTION_TRAFFIC_SHIFT"], "pause": True, "timeoutMinutes": 60, "timeoutAction": "ROLLBACK"},
    ]}, TEST_LISTENER, rollbackAlarm={"targetErrorsPerMinute": 10, "p99LatencyMs": 1500}),
    valid({"strategy": "blueGreen", "bakeTimeMinutes": 30}),
    valid({}),
    valid(""),
])
def test_the_schema_takes_what_the_program_takes(raw):
    parsed(raw)
    assert schema_errors(raw) == []


@pytest.mark.parametrize("raw", [
    valid({"strategy": "blue-green"}),
    valid({"strategy": "canary", "canaryPercent": "5"}),
    valid({"strategy": "canary", "canaryPercent": 0}),
    valid({"strategy": "linear", "stepPercent": 2.9}),
    valid({"strategy": "blueGreen", "bakeTimeMinutes": 1441}),
    valid({"strategy": "canary", "canaryBakeMinutes": -1}),
    valid({"strategy": "canary", "canaryPrecent": 5}),
    valid({"strategy": "canary", "testTraffic": "yes"}, TEST_LISTENER),
    hooks({"stages": ["POST_SCALE_UP"], "functionArn": LAMBDA, "function": LAMBDA}),
    hooks({"functionArn": LAMBDA}),
    hooks({"stages": ["POST_SCALE_UP"], "pause": True, "timeoutMinutes": 20161}),
    hooks({"stages": ["POST_SCALE_UP"], "pause": True, "timeoutAction": "WAIT"}),
    valid({"strategy": "canary", "hooks": {"stages": ["POST_SCALE_UP"]}}),
    valid(rollbackAlarm={"targetErrorsPerMinute": 5, "p99LatencyMs": 0}),
    valid(load_balancer={**TEST_LISTENER, "testListenerPort": 70000}),
    valid(load_balancer={**TEST_LISTENER, "testListenerPrt": 8443}),
])
def test_the_schema_refuses_what_it_can_tell_and_the_program_too(raw):
    assert schema_errors(raw)
    with pytest.raises(SettingsError):
        parsed(raw)


# -- A stack with one service per strategy ---------------------------------------------------------

def test_the_strategies_stack_reads_into_one_service_per_strategy():
    loaded = fixture_stack("strategies")
    assert [e.message for e in VALIDATOR.iter_errors({"config": loaded.config})] == []
    raw = {key.split(":", 1)[1]: value for key, value in loaded.config.items() if key.startswith("ecs-fargate:")}
    stack = parse(raw, project=loaded.project, stack="strategies", region=loaded.config["aws:region"])
    assert stack.warnings == ()
    by_name = {s.name: s for s in stack.services}
    assert {name: s.deployment.strategy for name, s in by_name.items()} == {
        "rolling": "rolling", "bluegreen": "blueGreen", "linear": "linear", "canary": "canary"}
    assert sorted(s.deployment.strategy for s in stack.services) == sorted(STRATEGIES)
    assert by_name["rolling"].deployment == DeploymentSpec()
    assert by_name["bluegreen"].deployment == DeploymentSpec(strategy="blueGreen", bake_time_minutes=15)
    assert by_name["linear"].deployment == DeploymentSpec(strategy="linear", step_percent=25, step_bake_minutes=2,
                                                          bake_time_minutes=5)
    assert by_name["linear"].rollback_alarm.p99_latency_ms == 2000
    canary = by_name["canary"].deployment
    assert (canary.canary_percent, canary.canary_bake_minutes, canary.bake_time_minutes, canary.test_traffic) == \
        (2.5, 5, 10, True)
    assert [(h.stages, h.function_arn, h.pause, h.timeout_minutes, h.timeout_action) for h in canary.hooks] == [
        (("POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"), LAMBDA, False, None, None),
        (("POST_SCALE_UP",), f"{LAMBDA}:live", False, None, None),
        (("PRE_SCALE_UP",), None, True, 60, "CONTINUE"),
    ]
    assert (stack.load_balancer.test_listener_port, stack.load_balancer.test_listener_cidrs) == (8443, ("10.20.0.0/16",))


def test_the_strategies_stack_file_names_the_schema():
    first = (FIXTURE_STACKS / "Pulumi.strategies.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../../schema/stack-config.schema.json"
    assert (FIXTURE_STACKS / "../../../schema/stack-config.schema.json").resolve() == ROOT / config_reference.SCHEMA_PATH


def test_the_strategies_stack_renders():
    """The components take what the config layer passes them (their own checks of the specs agree).
    What each strategy builds is asserted where the components build it."""
    rendering = render_fixture_stack("strategies")
    services = {r.name: r.inputs for r in rendering.resources if r.type == "aws:ecs/service:Service"}
    assert {name: inputs["deploymentConfiguration"]["strategy"] for name, inputs in services.items()} == {
        "rolling-service": "ROLLING", "bluegreen-service": "BLUE_GREEN", "linear-service": "LINEAR",
        "canary-service": "CANARY"}
    assert services["bluegreen-service"]["deploymentConfiguration"]["bakeTimeInMinutes"] == "15"
    assert services["linear-service"]["deploymentConfiguration"]["linearConfiguration"] == {
        "stepPercent": 25, "stepBakeTimeInMinutes": "2"}
    canary = services["canary-service"]["deploymentConfiguration"]
    assert canary["canaryConfiguration"] == {"canaryPercent": 2.5, "canaryBakeTimeInMinutes": "5"}
    hooks = canary["lifecycleHooks"]
    assert [h["lifecycleStages"] for h in hooks] == [
        ["POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"], ["POST_SCALE_UP"], ["PRE_SCALE_UP"]]
    assert hooks[2]["targetType"] == "PAUSE" and hooks[2]["timeoutConfiguration"] == {
        "timeoutInMinutes": "60", "action": "CONTINUE"}
    assert {h["targetType"] for h in hooks[:2]} == {"AWS_LAMBDA"} and all(h["roleArn"] for h in hooks[:2])
    names = {r.name for r in rendering.resources}
    # Alternate target groups and infrastructure roles for the three traffic-shifting services only.
    assert {n for n in names if n.endswith("-tg-alt")} == {"bluegreen-tg-alt", "linear-tg-alt", "canary-tg-alt"}
    assert {n for n in names if n.endswith("-ecs-infra")} == {"bluegreen-ecs-infra", "linear-ecs-infra",
                                                                "canary-ecs-infra"}
    # The test rule only for the canary service, and a hook role only where a Lambda hook is.
    assert {n for n in names if n.endswith("-test-rule")} == {"canary-test-rule"}
    assert {n for n in names if n.endswith("-hooks")} == {"canary-hooks"}
    assert {n for n in names if n.endswith("-p99")} == {"linear-p99", "canary-p99"}


def test_a_variation_of_the_strategies_stack_is_refused_as_a_stack_file_would_be():
    raw = {key.split(":", 1)[1]: value for key, value in copy.deepcopy(fixture_stack("strategies").config).items()
           if key.startswith("ecs-fargate:")}
    raw["services"]["linear"]["deployment"]["canaryPercent"] = 5
    raw["services"]["canary"]["deployment"]["hooks"][2]["stages"] = ["PRODUCTION_TRAFFIC_SHIFT"]
    del raw["loadBalancer"]["testListenerPort"]
    assert problems(raw) == [
        "loadBalancer.testListenerCidrs: only applies with testListenerPort",
        "services.linear.deployment.canaryPercent: only applies with strategy canary, not linear",
        "services.canary.deployment.hooks[2].stages: ECS refuses a pause hook at PRODUCTION_TRAFFIC_SHIFT (traffic "
        "is moving then); pause at POST_PRODUCTION_TRAFFIC_SHIFT instead",
        "services.canary.deployment.testTraffic: needs loadBalancer.testListenerPort (and testListenerCidrs): the "
        "listener its test rule goes on",
    ]


def test_the_docs_say_that_ecs_ignores_alarms_for_a_deployment_that_starts_while_one_fires():
    """ECS Developer Guide, "How CloudWatch alarms detect Amazon ECS deployment failures": an alarm in
    ALARM when a deployment starts has ECS ignore the alarm configuration for that deployment."""
    alarm = settings.declared(settings.WEB_ONLY, "rollbackAlarm").description
    assert "ECS ignores the alarms for a deployment that starts while one of them is already in ALARM" in alarm
    page = (ROOT / "docs" / "configuration.md").read_text()
    assert "deployment-alarm-failure.html" in page and "already in ALARM" in page


def test_a_name_too_long_for_a_traffic_shifting_services_own_resources_is_refused_in_the_stack_file():
    """The alternate target group (`NAME-tg-alt-xxxxxxx`, 32 characters at most) leaves a canary
    service 4 characters fewer than a rolling one: the stack file says so, naming the key, before
    any component is built."""
    rolling = "a" * 21
    raw = {"environment": "dev", "services": {rolling: {"image": "nginx:1.27", "port": 80}}}
    parsed(raw)
    raw["services"][rolling]["deployment"] = {"strategy": "canary"}
    [problem] = problems(raw)
    assert problem.startswith(f"services.{rolling}: the alternate target group would be named") and "32" in problem


@pytest.mark.parametrize(("deployment", "warned"), [
    ({"strategy": "linear", "stepBakeMinutes": 1}, ["stepBakeMinutes"]),
    ({"strategy": "canary", "canaryBakeMinutes": 2, "bakeTimeMinutes": 1}, ["bakeTimeMinutes", "canaryBakeMinutes"]),
    ({"strategy": "canary", "canaryBakeMinutes": 3, "bakeTimeMinutes": 3}, []),
    ({"strategy": "linear", "stepPercent": 100, "stepBakeMinutes": 0}, []),  # one step: no wait between steps
    ({"strategy": "rolling"}, []),
])
def test_a_bake_window_shorter_than_the_rollback_alarms_is_a_warning(deployment, warned):
    raw = valid(deployment, rollbackAlarm={"targetErrorsPerMinute": 5, "evaluationMinutes": 3})
    warnings = parsed(raw).warnings
    assert sorted(w.split(":")[0].rsplit(".", 1)[1] for w in warnings if "rollback alarm's window" in w) == warned
    for warning in warnings:
        assert "services.api.rollbackAlarm.evaluationMinutes: 3 min" in warning


def test_a_stage_ecs_lists_but_the_provider_does_not_document_is_refused_for_that_reason():
    raw = valid({"strategy": "canary", "hooks": [{"stages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"], "pause": True}]})
    [problem] = problems(raw)
    assert problem.startswith("services.api.deployment.hooks[0].stages[0]: 'PRE_PRODUCTION_TRAFFIC_SHIFT' is a stage "
                              "ECS's API lists but pulumi-aws 7 does not document"), problem
