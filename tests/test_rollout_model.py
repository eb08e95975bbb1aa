"""The rollout model (components/rollout.py) against figures computed by hand.

Timing of the service FargateService builds ("ours"): task start 60 s (the assumption), target
healthy after 2 checks × 10 s = 20 s, deregistration delay 30 s, stop timeout 30 s.
With AWS's defaults: healthy after 5 checks × 30 s = 150 s, deregistration delay 300 s, stop 30 s.
"""

from __future__ import annotations

import dataclasses

import pytest

from components import ImageSource, ServiceSpec, TaskSpec
from components.deployment import DeploymentSpec, LifecycleHookSpec
from components.fargate_service import RollbackAlarmSpec
from components.rollout import (
    FARGATE_TASK_START_SECONDS, PROVIDER_DEFAULT_TIMEOUT_MINUTES, SERVICE_TARGET_GROUP, RolloutInputs,
    custom_timeouts, format_duration, inputs_for_service, linear_waits, model, rolling_batches, timeout_minutes,
    with_aws_defaults,
)

OURS = dict(SERVICE_TARGET_GROUP, deregistration_delay_seconds=30, stop_timeout_seconds=30)


def small(strategy: str, **knobs) -> RolloutInputs:
    """Two tasks behind the load balancer with our target group timing."""
    return RolloutInputs(**{"strategy": strategy, "desired_count": 2, **OURS, **knobs})


def test_the_task_start_assumption_is_a_minute():
    assert FARGATE_TASK_START_SECONDS == 60


def test_rolling_small_service():
    rollout = model(small("ROLLING"))
    # 2 tasks, min 100 % / max 200 %: at most floor(2 × 2) = 4 running, at least ceil(2 × 1) = 2
    # healthy: 4 − 2 = 2 tasks per batch, one batch.
    # start 60 + healthy 2 × 10 = 20 + drain 30 + stop 30 = 140 s.
    assert rollout.deploy_seconds == 140
    # A rollback redeploys the previous revision: the same 140 s.
    assert rollout.rollback_seconds == 140
    # The same service with AWS's defaults: 60 + 5 × 30 = 150 + 300 + 30 = 540 s.
    aws = model(with_aws_defaults(small("ROLLING")))
    assert (aws.deploy_seconds, aws.rollback_seconds) == (540, 540)


def test_rolling_in_batches():
    inputs = small("ROLLING", desired_count=4, minimum_healthy_percent=50, maximum_percent=100)
    # at most floor(4 × 1) = 4, at least ceil(4 × 0.5) = 2: 2 per batch, ceil(4 / 2) = 2 batches.
    assert rolling_batches(inputs) == (2, 2)
    # 2 × (60 + 20 + 30 + 30) = 2 × 140 = 280 s.
    assert model(inputs).deploy_seconds == 280
    # 5 tasks, min 100 / max 150: at most floor(7.5) = 7, at least 5: 2 per batch, ceil(5 / 2) = 3.
    assert rolling_batches(small("ROLLING", desired_count=5, maximum_percent=150)) == (2, 3)
    assert model(small("ROLLING", desired_count=5, maximum_percent=150)).deploy_seconds == 3 * 140


def test_rolling_that_can_replace_nothing_is_refused_and_zero_tasks_take_no_time():
    with pytest.raises(ValueError, match="can replace no task"):
        model(small("ROLLING", desired_count=1, maximum_percent=150))  # floor(1.5) = 1 − 1 = 0
    assert model(small("ROLLING", desired_count=0)).deploy_seconds == 0


def test_rolling_rollback_with_alarm_detection():
    # alarm of 2 one-minute periods: 120 s, then the 140 s redeploy.
    assert model(small("ROLLING", alarm_evaluation_minutes=2)).rollback_seconds == 260


def test_rolling_with_alarms_bakes_for_the_alarms_window():
    # ECS watches the alarms after the old tasks are gone, for a time it computes from the alarm:
    # modeled as its 2 one-minute periods, 140 + 120 = 260 s.
    rolled = model(small("ROLLING", alarm_evaluation_minutes=2))
    assert rolled.deploy_seconds == 260 and rolled.deploy[-1].label.startswith("alarm bake")


def test_blue_green_small_service():
    rollout = model(small("BLUE_GREEN", bake_time_minutes=10))
    # green: start 60 + healthy 20; traffic at once 0; bake 10 min = 600; blue: drain 30 + stop 30.
    # 60 + 20 + 0 + 600 + 30 + 30 = 740 s.
    assert rollout.deploy_seconds == 740
    # Rollback at the end of the bake: traffic back to blue 0 + drain green 30 + stop 30 = 60 s.
    assert rollout.rollback_seconds == 60
    aws = model(with_aws_defaults(small("BLUE_GREEN", bake_time_minutes=10)))
    # 60 + 150 + 0 + 600 + 300 + 30 = 1140 s; rollback 300 + 30 = 330 s.
    assert (aws.deploy_seconds, aws.rollback_seconds) == (1140, 330)


def test_canary_small_service():
    rollout = model(small("CANARY", bake_time_minutes=10))
    # ECS defaults 5 % for 10 min: 60 + 20 + 600 (canary) + 600 (bake) + 30 + 30 = 1340 s.
    assert rollout.deploy_seconds == 1340
    assert rollout.rollback_seconds == 60
    # AWS defaults: 60 + 150 + 600 + 600 + 300 + 30 = 1740 s.
    assert model(with_aws_defaults(small("CANARY", bake_time_minutes=10))).deploy_seconds == 1740


def test_linear_small_service():
    rollout = model(small("LINEAR", bake_time_minutes=10))
    # ECS defaults 10 % steps, 6 min after each but the last: 10 steps, 9 waits × 360 = 3240 s.
    # 60 + 20 + 3240 + 600 (bake) + 30 + 30 = 3980 s (66 min 20 s).
    assert rollout.deploy_seconds == 3980
    assert rollout.rollback_seconds == 60
    # AWS defaults: 60 + 150 + 3240 + 600 + 300 + 30 = 4380 s.
    assert model(with_aws_defaults(small("LINEAR", bake_time_minutes=10))).deploy_seconds == 4380


def test_linear_waits_follow_cloudformations_formula():
    # 100 / step − 1 when it divides, floor(100 / step) otherwise.
    assert [linear_waits(s) for s in (10.0, 25.0, 100.0, 11.0, 3.0, 33.3, 12.5)] == [9, 3, 0, 9, 33, 3, 7]


def test_pause_hooks_count_at_their_timeout():
    # blue/green 740 s + two pauses of 30 min = 740 + 3600 = 4340 s.
    assert model(small("BLUE_GREEN", bake_time_minutes=10, pause_minutes=(30, 30))).deploy_seconds == 4340


def test_worker_without_load_balancer():
    inputs = RolloutInputs(desired_count=1, behind_load_balancer=False, stop_timeout_seconds=30)
    # start 60 + ECS's 40 s wait after RUNNING + no drain + stop 30 = 130 s.
    assert model(inputs).deploy_seconds == 130
    # a container health check every 15 s instead: 60 + 15 + 30 = 105 s.
    assert model(dataclasses.replace(inputs, container_health_check_interval_seconds=15)).deploy_seconds == 105


def test_failed_task_lives_for_the_longer_of_grace_and_unhealthy_checks():
    assert model(small("ROLLING", grace_period_seconds=60)).failed_task_seconds == 60   # 3 × 10 = 30 < 60
    assert model(small("ROLLING", grace_period_seconds=0)).failed_task_seconds == 30


@pytest.mark.parametrize("strategy", ["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"])
def test_aws_defaults_take_longer_than_ours(strategy):
    ours = model(small(strategy, bake_time_minutes=10))
    aws = model(with_aws_defaults(small(strategy, bake_time_minutes=10)))
    assert aws.deploy_seconds > ours.deploy_seconds
    assert aws.rollback_seconds > ours.rollback_seconds


@pytest.mark.parametrize("strategy,knob", [
    ("BLUE_GREEN", "bake_time_minutes"), ("CANARY", "bake_time_minutes"), ("CANARY", "canary_bake_minutes"),
    ("LINEAR", "bake_time_minutes"), ("LINEAR", "step_bake_minutes"),
])
def test_more_bake_takes_longer(strategy, knob):
    figures = [model(small(strategy, **{knob: minutes})).deploy_seconds for minutes in (0, 1, 5, 60)]
    assert figures == sorted(figures) and len(set(figures)) == 4


def test_smaller_linear_steps_take_longer():
    figures = [model(small("LINEAR", step_percent=p)).deploy_seconds for p in (50.0, 25.0, 10.0, 3.0)]
    assert figures == sorted(figures) and len(set(figures)) == 4


def test_phases_add_up_and_explain_the_figure():
    rollout = model(small("LINEAR", bake_time_minutes=10))
    assert [label for label, _ in rollout.deploy] == [
        "start green: 2 task(s) at once, 60 s", "target healthy: 2 checks × 10 s",
        "linear 10 % steps: 9 waits × 6 min", "bake: 10 min, blue still running",
        "drain blue: 30 s deregistration delay", "stop blue: 30 s stop timeout"]
    assert sum(seconds for _, seconds in rollout.deploy) == rollout.deploy_seconds


def test_custom_timeouts_never_below_the_providers_default():
    assert PROVIDER_DEFAULT_TIMEOUT_MINUTES == 20
    assert timeout_minutes(140) == 20
    assert timeout_minutes(800) == 20           # 800 × 1.5 = 1200 s = 20 min
    assert timeout_minutes(801) == 21           # 1201.5 s, rounded up
    timeouts = custom_timeouts(140)
    assert (timeouts.create, timeouts.update, timeouts.delete) == ("20m", "20m", None)


def test_default_linear_rollout_outgrows_the_providers_default():
    # ECS's linear defaults with no bake: 9 waits × 6 min = 54 min of shifting alone > 20 min.
    deploy = model(small("LINEAR")).deploy_seconds
    assert deploy == 60 + 20 + 3240 + 0 + 30 + 30 == 3380
    assert deploy > PROVIDER_DEFAULT_TIMEOUT_MINUTES * 60
    # 3380 × 1.5 = 5070 s = 84.5 min -> 85 min.
    assert timeout_minutes(deploy) == 85
    assert custom_timeouts(deploy).update == "85m"


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="unknown strategy"):
        model(RolloutInputs(strategy="ALL_AT_ONCE"))


def web(**fields) -> ServiceSpec:
    return ServiceSpec(name="web", task=TaskSpec(source=ImageSource(image="nginx:1.27")), port=80, **fields)


def test_inputs_for_service_uses_the_components_timing():
    inputs = inputs_for_service(web(desired_count=2, rollback_alarm=RollbackAlarmSpec(target_errors_per_minute=5)))
    assert inputs == RolloutInputs(
        strategy="ROLLING", desired_count=2, minimum_healthy_percent=100, maximum_percent=200,
        behind_load_balancer=True, health_check_interval_seconds=10, healthy_threshold=2, unhealthy_threshold=3,
        health_check_timeout_seconds=5, grace_period_seconds=60, deregistration_delay_seconds=30,
        stop_timeout_seconds=30, alarm_evaluation_minutes=2)
    # 140 s of rolling, then ECS's alarm bake, modeled as the alarm's 2 minutes.
    assert model(inputs).deploy_seconds == 140 + 120


def test_inputs_for_service_of_each_strategy():
    hook = LifecycleHookSpec(stages=("POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT"), pause=True, timeout_minutes=15)
    canary = inputs_for_service(web(deployment=DeploymentSpec(strategy="canary", canary_percent=20.0,
                                                              canary_bake_minutes=3, hooks=(hook,))))
    assert (canary.strategy, canary.canary_percent, canary.canary_bake_minutes, canary.bake_time_minutes,
            canary.pause_minutes) == ("CANARY", 20.0, 3, 10, (15, 15))
    # 60 + 20 + 2 × 900 (pauses) + 180 (canary) + 600 (bake) + 30 + 30 = 2720 s.
    assert model(canary).deploy_seconds == 2720
    linear = inputs_for_service(web(deployment=DeploymentSpec(strategy="linear")))
    # our defaults: 10 % × 6 min, bake 10: 3980 s as above.
    assert (linear.strategy, model(linear).deploy_seconds) == ("LINEAR", 3980)
    blue_green = inputs_for_service(web(deployment=DeploymentSpec(strategy="blueGreen", bake_time_minutes=0)))
    # 60 + 20 + 0 + 0 + 30 + 30 = 140 s.
    assert (blue_green.strategy, model(blue_green).deploy_seconds) == ("BLUE_GREEN", 140)
    # A pause hook without a timeout waits ECS's 24 hours.
    default_pause = LifecycleHookSpec(stages=("POST_SCALE_UP",), pause=True)
    assert inputs_for_service(web(deployment=DeploymentSpec(strategy="blueGreen", hooks=(default_pause,)))) \
        .pause_minutes == (1440,)


def test_inputs_for_a_worker_and_an_unknown_count():
    import pulumi
    worker = ServiceSpec(name="jobs", task=TaskSpec(source=ImageSource(image="busybox:1.36"), command=("true",)),
                         desired_count=pulumi.Output.from_input(3))
    inputs = inputs_for_service(worker)
    assert (inputs.behind_load_balancer, inputs.desired_count, inputs.deregistration_delay_seconds) == (False, 1, 300)
    assert model(inputs).deploy_seconds == 130   # 60 + 40 + 30 (no drain)
    assert inputs_for_service(worker, desired_count=3).desired_count == 3


def test_deploy_time_fields_given_as_outputs_are_modeled_at_their_defaults():
    """The grace period and deregistration delay may be Outputs; the model, which runs with the
    program, takes such a one as the field's default (and takes a known one as it is)."""
    import pulumi
    later = pulumi.Output.from_input
    for strategy in ("rolling", "linear"):
        deployment = DeploymentSpec(strategy=strategy)
        plain = inputs_for_service(web(deployment=deployment))
        assert inputs_for_service(web(deployment=deployment, health_check_grace_period_seconds=later(90),
                                      deregistration_delay_seconds=later(5))) == plain, strategy
        known = inputs_for_service(web(deployment=deployment, health_check_grace_period_seconds=90,
                                       deregistration_delay_seconds=5))
        assert (known.grace_period_seconds, known.deregistration_delay_seconds) == (90, 5), strategy
        assert (plain.grace_period_seconds, plain.deregistration_delay_seconds) == (60, 30), strategy


def test_the_component_renders_the_timing_the_model_assumes(dev):
    """SERVICE_TARGET_GROUP and min/max are what FargateService actually creates."""
    for tg in dev.of_type("aws:lb/targetGroup:TargetGroup"):
        check = tg.inputs["healthCheck"]
        assert {"health_check_interval_seconds": check["interval"], "healthy_threshold": check["healthyThreshold"],
                "unhealthy_threshold": check["unhealthyThreshold"],
                "health_check_timeout_seconds": check["timeout"]} == SERVICE_TARGET_GROUP, tg.urn
    for service in dev.of_type("aws:ecs/service:Service"):
        assert (service.inputs["deploymentMinimumHealthyPercent"], service.inputs["deploymentMaximumPercent"]) \
            == (100, 200), service.urn


def test_format_duration():
    assert [format_duration(s) for s in (0, 45, 60, 750, 3980, 3600, 86400 + 61)] == [
        "0 s", "45 s", "1 min", "12 min 30 s", "1 h 6 min 20 s", "1 h", "24 h 1 min 1 s"]
