"""ecs-deployment-rules-not-reverted: the listener rules a service deploys through (ECS-native
blue/green, linear, canary) must ignore changes to their actions, which ECS rewrites."""

import pytest
from policy_evaluation import UNKNOWN, evaluate, policy_resource, stack_args
from policy_testkit import (
    PRODUCTION_RULE_ARN,
    TARGET_GROUP_ARN,
    TEST_RULE_ARN,
    blue_green_service,
    listener_rule,
    service,
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
    assert 'ignore_changes=["actions"]' in POLICY.remediation_steps and "terraform-aws-alb#409" in POLICY.remediation_steps


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
    ["actions[0].forward.targetGroups[*].weight"], ["priority", "actions"],
])
def test_paths_that_cover_the_forward_weights_of_every_action_count(paths):
    assert _run(_service(), _rule(ignore_changes=paths)) == []


@pytest.mark.parametrize("paths", [
    ["priority"], ["tags"], ["actions[1]"],  # another action than the rule's only one
    ["actions[0].forward.targetGroups[0].weight"],  # one group of a set whose order ECS changes
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
