"""The rules on ECS-native traffic-shifting deployments (blue/green, linear, canary):
ecs-deployment-rules-not-reverted - the listener rules a service deploys through must ignore
changes to their actions, which ECS rewrites - and ecs-deployment-safe-rollback - such a service
rolls back on alarms and bakes each shift for a minimum time."""

import copy

import pytest
from policy_evaluation import UNKNOWN, UNKNOWN_ARRAY, evaluate, policy_resource, resource_args, stack_args
from policy_testkit import (
    PRODUCTION_RULE_ARN,
    ROLLBACK_ALARMS,
    TARGET_GROUP_ARN,
    TEST_RULE_ARN,
    analyze,
    blue_green_service,
    environment_config,
    listener_rule,
    service,
    shifting_service,
    weighted_rule,
)
from pulumi_policy.proxy import UnknownValueError

from ecs_fargate_rules import POLICIES_BY_NAME
from ecs_fargate_rules._common import ECS_SERVICE, LISTENER_RULES
from ecs_fargate_rules.ecs_deployment import parse_property_path

POLICY = POLICIES_BY_NAME["ecs-deployment-rules-not-reverted"]


def _run(*resources):
    return evaluate(POLICY, stack_args(list(resources)))


def _service(**kwargs):
    return policy_resource(ECS_SERVICE, blue_green_service(**kwargs), name="web-service")


def _rule(name="web-production", rule_type=LISTENER_RULES[0], ignore_changes=(), **props):
    return policy_resource(rule_type, weighted_rule(**props), name=name, ignore_changes=ignore_changes)


@pytest.mark.parametrize("rule_type", LISTENER_RULES)
def test_a_production_rule_that_ignores_its_actions_passes(rule_type):
    assert _run(_service(), _rule(rule_type=rule_type, ignore_changes=["actions"])) == []


@pytest.mark.parametrize("rule_type", LISTENER_RULES)
def test_a_production_rule_that_owns_its_actions_fails(rule_type):
    [found] = _run(_service(), _rule(rule_type=rule_type))
    assert found.urn.endswith(f"::{rule_type}::web-production")
    assert ("listener rule 'web-production' is the production "
            "(loadBalancers[0].advancedConfiguration.productionListenerRule) listener rule of ECS service "
            "'web-service'") in found.message
    assert "ignoreChanges: none" in found.message and "target group with no tasks" in found.message
    assert 'ignore_changes=["actions[*].forward.targetGroups[*]"]' in POLICY.remediation_steps and "terraform-aws-alb#409" in POLICY.remediation_steps


def test_production_and_test_rules_are_both_required_to_ignore_their_actions():
    production = _rule(ignore_changes=["actions"])
    test = _rule("web-test", arn=TEST_RULE_ARN, priority=20)
    [found] = _run(_service(test_rule=TEST_RULE_ARN), production, test)
    assert found.urn.endswith("::web-test") and "is the test (loadBalancers[0]" in found.message
    both = _run(_service(test_rule=TEST_RULE_ARN), _rule(), _rule("web-test", arn=TEST_RULE_ARN, priority=20))
    assert sorted(v.urn.rsplit("::", 1)[1] for v in both) == ["web-production", "web-test"]
    fixed = _rule("web-test", arn=TEST_RULE_ARN, priority=20, ignore_changes=["actions"])
    assert _run(_service(test_rule=TEST_RULE_ARN), production, fixed) == []


def test_rules_are_found_by_arn_and_other_rules_are_left_alone():
    other = policy_resource(LISTENER_RULES[0], listener_rule(arn=PRODUCTION_RULE_ARN.replace("9683", "0000")),
                            name="api")
    assert _run(_service(), _rule(ignore_changes=["actions"]), other) == []
    # A rule of another stack (ARN named, not in this stack) cannot be judged here.
    assert _run(_service(), other) == []


def test_rules_are_found_through_the_services_dependencies_in_a_first_preview():
    production = _rule(arn=UNKNOWN, listenerArn=UNKNOWN)
    web = blue_green_service()
    web["loadBalancers"][0]["advancedConfiguration"]["productionListenerRule"] = UNKNOWN
    web["loadBalancers"][0]["targetGroupArn"] = UNKNOWN
    found_service = policy_resource(ECS_SERVICE, web, name="web-service")
    unrelated = policy_resource(LISTENER_RULES[0], listener_rule(arn=UNKNOWN), name="api")
    found_service.property_dependencies = {"loadBalancers": [production]}
    [found] = _run(found_service, production, unrelated)
    assert found.urn.endswith("::web-production") and "production or test" in found.message
    fixed = _rule(arn=UNKNOWN, listenerArn=UNKNOWN, ignore_changes=["actions"])
    found_service.property_dependencies = {"loadBalancers": [fixed]}
    assert _run(found_service, fixed, unrelated) == []


def test_a_rule_that_cannot_be_told_yet_is_not_passed():
    web = blue_green_service()
    web["loadBalancers"][0]["advancedConfiguration"]["productionListenerRule"] = UNKNOWN
    with pytest.raises(UnknownValueError):
        _run(policy_resource(ECS_SERVICE, web, name="web-service"), _rule(arn=UNKNOWN))


def test_a_service_without_advanced_configuration_is_not_concerned():
    rolling = service(loadBalancers=[{"targetGroupArn": TARGET_GROUP_ARN, "containerName": "app",
                                      "containerPort": 8080}])
    assert _run(policy_resource(ECS_SERVICE, rolling, name="web-service"), _rule()) == []
    assert _run(policy_resource(ECS_SERVICE, service(), name="web-service"), _rule()) == []


@pytest.mark.parametrize("paths", [
    ["actions"], ["actions[*]"], ["actions.*"], ['["actions"]'], ["actions[0]"],
    ["actions[*].forward"], ["actions[0].forward.targetGroups"], ["actions[*].forward.targetGroups[*]"],
    ["priority", "actions"],
])
def test_paths_that_cover_the_forward_weights_of_every_action_count(paths):
    assert _run(_service(), _rule(ignore_changes=paths)) == []


@pytest.mark.parametrize("paths", [
    ["priority"], ["tags"], ["actions[1]"],  # another action than the rule's only one
    ["actions[0].forward.targetGroups[0].weight"],  # one group of a set whose order ECS changes
    # The weights alone: reset by position, while the provider reads the groups back in its own order.
    ["actions[0].forward.targetGroups[*].weight"], ["actions[*].forward.targetGroups[*].weight"],
    ["actions[*].forward.stickiness"], ["actions[*].targetGroupArn"], ["conditions"],
    ["actions[*].forward.target_groups"],  # not the engine's (camelCase) name
    ["actions["],  # not a property path
])
def test_paths_that_leave_a_weight_to_the_program_do_not_count(paths):
    [found] = _run(_service(), _rule(ignore_changes=paths))
    assert f"ignoreChanges: {', '.join(paths)}" in found.message


def test_every_action_must_be_covered():
    two = [weighted_rule()["actions"][0], {"type": "forward", "forward": {"targetGroups": [
        {"arn": TARGET_GROUP_ARN, "weight": 1}]}}]
    assert len(_run(_service(), _rule(actions=two, ignore_changes=["actions[0]"]))) == 1
    assert _run(_service(), _rule(actions=two, ignore_changes=["actions[0]", "actions[1].forward"])) == []


def test_a_forward_in_its_short_form_needs_the_whole_action_ignored():
    # ECS turns {targetGroupArn} into a weighted forward: more than the weights change.
    short = [{"type": "forward", "targetGroupArn": TARGET_GROUP_ARN}]
    assert len(_run(_service(), _rule(actions=short, ignore_changes=["actions[0].forward"]))) == 1
    assert _run(_service(), _rule(actions=short, ignore_changes=["actions[0]"])) == []


def test_whole_action_paths_need_not_read_unknown_actions():
    assert _run(_service(), _rule(actions=UNKNOWN, ignore_changes=["actions"])) == []
    with pytest.raises(UnknownValueError):
        _run(_service(), _rule(actions=UNKNOWN, ignore_changes=["actions[0]"]))


def test_property_paths_parse_as_the_engine_writes_them():
    assert parse_property_path("actions[0].forward.targetGroups[*].weight") == [
        "actions", 0, "forward", "targetGroups", "*", "weight"]
    assert parse_property_path('tags["a.b"]') == ["tags", "a.b"]
    assert parse_property_path("actions.*") == ["actions", "*"]
    for invalid in ("", ".actions", "actions..x", "actions[", "actions]x", "actions[x]"):
        assert parse_property_path(invalid) is None, invalid


# ---------------------------------------------------------------------------------------------
# ecs-deployment-safe-rollback

SAFE_ROLLBACK = POLICIES_BY_NAME["ecs-deployment-safe-rollback"]
STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")


def _judge(props, config=None, name="web-service"):
    return [v.message for v in evaluate(SAFE_ROLLBACK, resource_args(ECS_SERVICE, props, name=name,
                                                                      config=config))]


def _deployment(strategy="CANARY", **changes):
    deployment = copy.deepcopy(shifting_service(strategy)["deploymentConfiguration"])
    for key, value in changes.items():
        if value is None:
            deployment.pop(key, None)
        else:
            deployment[key] = value
    return shifting_service(strategy, deploymentConfiguration=deployment)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_traffic_shifting_service_with_alarms_and_bake_times_passes(strategy):
    assert _judge(shifting_service(strategy)) == []


@pytest.mark.parametrize("props", [
    service(),  # no deploymentConfiguration: rolling
    service(deploymentConfiguration={"strategy": "ROLLING"}),
    # CODE_DEPLOY and EXTERNAL controllers shift traffic their own way.
    shifting_service("BLUE_GREEN", alarms=None, deploymentController={"type": "CODE_DEPLOY"}),
])
def test_rolling_and_foreign_controllers_are_not_concerned(props):
    assert _judge(props) == []


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("alarms, missing", [
    (None, "alarms is not set"),
    ({"enable": False, "rollback": True, "alarmNames": ["web-5xx"]}, "alarms.enable is not true"),
    ({"enable": True, "rollback": False, "alarmNames": ["web-5xx"]}, "alarms.rollback is not true"),
    ({"enable": True, "rollback": True, "alarmNames": []}, "alarms.alarmNames is empty"),
    ({"enable": True, "rollback": True}, "alarms.alarmNames is empty"),
    ({"alarmNames": ["web-5xx"]}, "alarms.enable is not true; alarms.rollback is not true"),
])
def test_rollback_alarms_are_required(strategy, alarms, missing):
    [message] = _judge(shifting_service(strategy, alarms=alarms))
    assert message.startswith(f"ECS service 'web-service' deploys {strategy} without rollback alarms ({missing})")
    assert "Set alarms: {enable: true, rollback: true, alarmNames: [" in message


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_bake_time_after_the_last_shift_is_required(strategy):
    [message] = _judge(_deployment(strategy, bakeTimeInMinutes=None))
    assert message == (
        f"ECS service 'web-service' deploys {strategy} without a bake time (deploymentConfiguration.bakeTimeInMinutes "
        "is not set): the old revision may be stopped as soon as the last traffic has moved, before a rollback "
        'alarm can fire. Set deploymentConfiguration.bakeTimeInMinutes to at least "5" (minutes).')
    assert _judge(_deployment(strategy, bakeTimeInMinutes="")) == [message]  # "" is unset to the provider


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("bake, passes", [("4", False), ("5", True), ("0", False), ("1440", True), (5.0, True)])
def test_the_bake_time_must_reach_the_minimum(strategy, bake, passes):
    found = _judge(_deployment(strategy, bakeTimeInMinutes=bake))
    if passes:
        assert found == []
    else:
        [message] = found
        assert (f"deploys {strategy} with deploymentConfiguration.bakeTimeInMinutes {int(bake)} minutes, under the "
                "minimum of 5: the rollback alarms get too little time to judge the new revision before ECS stops "
                'the old revision and a rollback becomes a new deployment. Set deploymentConfiguration.'
                'bakeTimeInMinutes to at least "5".') in message


def test_the_minimum_is_configurable():
    config = {"minBakeTimeMinutes": 15}
    [message] = _judge(_deployment("BLUE_GREEN"), config)
    assert "bakeTimeInMinutes 10 minutes, under the minimum of 15" in message
    assert _judge(_deployment("BLUE_GREEN", bakeTimeInMinutes="15"), config) == []
    # Zero only asks that a bake time be set.
    assert _judge(_deployment("CANARY", bakeTimeInMinutes="0"), {"minBakeTimeMinutes": 0}) == []
    assert len(_judge(_deployment("CANARY", bakeTimeInMinutes=None), {"minBakeTimeMinutes": 0})) == 1


def test_a_canary_bakes_its_share_for_the_minimum_too():
    def canary(configuration):
        return _judge(_deployment("CANARY", canaryConfiguration=configuration))

    assert canary({"canaryPercent": 5.0, "canaryBakeTimeInMinutes": "5"}) == []
    [short] = canary({"canaryPercent": 5.0, "canaryBakeTimeInMinutes": "3"})
    assert ("deploys CANARY with deploymentConfiguration.canaryConfiguration.canaryBakeTimeInMinutes 3 minutes, "
            "under the minimum of 5: the rollback alarms get too little time to judge the new revision before the "
            "rest of the production traffic moves to it.") in short
    # The block without a bake time: pulumi-aws sends 0, not ECS's default of 10.
    [unset] = canary({"canaryPercent": 5.0})
    assert "canaryBakeTimeInMinutes 0 minutes (not set in canaryConfiguration, so pulumi-aws sends 0" in unset
    # No block at all: ECS's defaults (5 %, 10 minutes) apply.
    assert _judge(_deployment("CANARY", canaryConfiguration=None)) == []
    assert len(_judge(_deployment("CANARY", canaryConfiguration=None), {"minBakeTimeMinutes": 11})) == 2


def test_a_linear_rollout_bakes_each_step_for_the_minimum_too():
    def linear(configuration, config=None):
        return _judge(_deployment("LINEAR", linearConfiguration=configuration), config)

    assert linear({"stepPercent": 10.0, "stepBakeTimeInMinutes": "5"}) == []
    [short] = linear({"stepPercent": 10.0, "stepBakeTimeInMinutes": "2"})
    assert "linearConfiguration.stepBakeTimeInMinutes 2 minutes, under the minimum of 5" in short
    assert "before the next step of traffic moves to it" in short
    [unset] = linear({"stepPercent": 10.0})
    assert "stepBakeTimeInMinutes 0 minutes (not set in linearConfiguration, so pulumi-aws sends 0, not ECS's " \
           "default of 6)" in unset
    # ECS's default step bake time is 6 minutes: enough for 5, not for 7.
    assert _judge(_deployment("LINEAR", linearConfiguration=None)) == []
    [default] = _judge(_deployment("LINEAR", linearConfiguration=None), {"minBakeTimeMinutes": 7})
    assert "stepBakeTimeInMinutes 6 minutes (ECS's default, as linearConfiguration is not set)" in default


def test_a_configuration_of_the_other_strategy_is_not_read_as_a_bake_time():
    # A canary block on a linear service is ignored by the provider (aws-api-constraints says so).
    props = _deployment("LINEAR", canaryConfiguration={"canaryPercent": 5.0, "canaryBakeTimeInMinutes": "0"})
    assert _judge(props) == []


@pytest.mark.parametrize("bake", ["5.5", "five", "5 ", 7.5, True])
def test_a_bake_time_the_provider_cannot_parse_is_reported(bake):
    [message] = _judge(_deployment("BLUE_GREEN", bakeTimeInMinutes=bake))
    assert f"with deploymentConfiguration.bakeTimeInMinutes {bake!r}, which is not a whole number of minutes" \
           in message


def test_every_missing_safeguard_is_reported_at_once():
    props = _deployment("CANARY", bakeTimeInMinutes="1", canaryConfiguration={"canaryPercent": 5.0})
    props["alarms"] = None
    found = _judge(props)
    assert [m.split(" deploys CANARY ")[1][:30] for m in found] == [
        "without rollback alarms (alarm", "with deploymentConfiguration.b", "with deploymentConfiguration.c"]


def test_known_values_are_judged_before_an_unknown_one_stops_the_rule():
    props = _deployment("LINEAR", bakeTimeInMinutes=UNKNOWN)
    props["alarms"] = {"enable": True, "rollback": False, "alarmNames": UNKNOWN_ARRAY}
    reported = []
    with pytest.raises(UnknownValueError):
        SAFE_ROLLBACK.validate(resource_args(ECS_SERVICE, props, name="web-service"),
                               lambda message, urn=None: reported.append(message))
    assert len(reported) == 1 and "alarms.rollback is not true" in reported[0]
    with pytest.raises(UnknownValueError):
        _judge(shifting_service("CANARY", deploymentConfiguration={"strategy": UNKNOWN}))
    # An alarm name that is not known yet is still a name.
    assert _judge(shifting_service("CANARY", alarms={**ROLLBACK_ALARMS, "alarmNames": [UNKNOWN]})) == []


@pytest.mark.parametrize("environment, level", [("dev", "advisory"), ("staging", "advisory"),
                                                ("prod", "mandatory")])
def test_mandatory_in_prod_advisory_elsewhere(environment, level):
    found = [d for d in analyze([(ECS_SERVICE, "web-service", shifting_service("CANARY", alarms=None))],
                                environment_config(environment)) if d.policy == SAFE_ROLLBACK.name]
    assert [(d.enforcement_level, d.urn.endswith("::web-service")) for d in found] == [(level, True)]
