"""The stack rule on task security group ingress, over every way ingress can be declared."""

import pytest
from policy_evaluation import UNKNOWN, UNKNOWN_ARRAY, evaluate, policy_resource, stack_args
from policy_testkit import (
    ALB_SG,
    TASK_SG,
    compliant_network_stack,
    egress_rule,
    ingress_rule,
    security_group,
    service,
    stack_violations,
)

from ecs_fargate_rules import POLICIES_BY_NAME
from ecs_fargate_rules._common import (
    ECS_SERVICE,
    SECURITY_GROUP,
    SECURITY_GROUP_EGRESS_RULE,
    SECURITY_GROUP_INGRESS_RULE,
    SECURITY_GROUP_RULE,
)

POLICY = "sg-task-ingress-from-alb-only"


def replaced(stack, name, props):
    return [(t, n, props if n == name else p) for t, n, p in stack]


def test_ingress_only_from_the_alb_group_passes():
    assert stack_violations(POLICY, compliant_network_stack()) == []


def test_alb_group_may_admit_the_internet():
    # Only task groups are checked; the ALB's own 0.0.0.0/0:443 in the sample is fine.
    stack = compliant_network_stack()
    assert any(n == "web-alb-sg" for _, n, _ in stack)
    assert stack_violations(POLICY, stack) == []


@pytest.mark.parametrize("ingress, source", [
    ({"cidrBlocks": ["0.0.0.0/0"]}, "0.0.0.0/0 (cidrBlocks)"),
    ({"ipv6CidrBlocks": ["::/0"]}, "::/0 (ipv6CidrBlocks)"),
    ({"prefixListIds": ["pl-0123abcd"]}, "pl-0123abcd (prefixListIds)"),
    ({"securityGroups": ["sg-0ffffffffffffffff"]},
     "security group sg-0ffffffffffffffff, which belongs to no load balancer"),
    ({"self": True}, "its own members (self: true)"),
])
def test_inline_ingress_from_anything_else_fails(ingress, source):
    rule = {"fromPort": 0, "toPort": 65535, "protocol": "-1", **ingress}
    stack = replaced(compliant_network_stack(), "web-sg", security_group(TASK_SG, [rule]))
    [violation] = stack_violations(POLICY, stack)
    assert f"task security group {TASK_SG} admits {source}" in violation.message
    assert violation.urn.endswith("::aws:ec2/securityGroup:SecurityGroup::web-sg")


@pytest.mark.parametrize("override, source", [
    ({"referencedSecurityGroupId": None, "cidrIpv4": "0.0.0.0/0"}, "0.0.0.0/0 (cidrIpv4)"),
    ({"referencedSecurityGroupId": None, "cidrIpv6": "::/0"}, "::/0 (cidrIpv6)"),
    ({"referencedSecurityGroupId": None, "prefixListId": "pl-0123abcd"}, "pl-0123abcd (prefixListId)"),
    ({"referencedSecurityGroupId": TASK_SG}, f"security group {TASK_SG}, which belongs to no load balancer"),
])
def test_vpc_ingress_rule_from_anything_else_fails(override, source):
    stack = replaced(compliant_network_stack(), "web-ingress-alb", ingress_rule(**override))
    [violation] = stack_violations(POLICY, stack)
    assert source in violation.message
    assert violation.urn.endswith(f"::{SECURITY_GROUP_INGRESS_RULE}::web-ingress-alb")


@pytest.mark.parametrize("override, source", [
    ({"cidrBlocks": ["10.0.0.0/8"]}, "10.0.0.0/8 (cidrBlocks)"),
    ({"self": True}, "its own members"),
    ({"sourceSecurityGroupId": "sg-0eeeeeeeeeeeeeeee"}, "security group sg-0eeeeeeeeeeeeeeee"),
])
def test_ec2_security_group_rule_ingress_from_anything_else_fails(override, source):
    rule = {"type": "ingress", "securityGroupId": TASK_SG, "fromPort": 8080, "toPort": 8080,
            "protocol": "tcp", **override}
    stack = compliant_network_stack() + [(SECURITY_GROUP_RULE, "extra", rule)]
    [violation] = stack_violations(POLICY, stack)
    assert source in violation.message and violation.urn.endswith("::extra")


def test_ec2_security_group_rule_from_the_alb_passes():
    rule = {"type": "ingress", "securityGroupId": TASK_SG, "sourceSecurityGroupId": ALB_SG,
            "fromPort": 8080, "toPort": 8080, "protocol": "tcp"}
    assert stack_violations(POLICY, compliant_network_stack() + [(SECURITY_GROUP_RULE, "ok", rule)]) == []


def test_rules_on_other_groups_are_ignored():
    other = ingress_rule(securityGroupId="sg-0123456789abcdef9", referencedSecurityGroupId=None,
                        cidrIpv4="0.0.0.0/0")
    stack = compliant_network_stack() + [(SECURITY_GROUP_INGRESS_RULE, "bastion", other)]
    assert stack_violations(POLICY, stack) == []


def test_allowed_source_groups_are_configurable():
    peer = "sg-0ccccccccccccccc1"
    stack = compliant_network_stack() + [
        (SECURITY_GROUP_INGRESS_RULE, "peer", ingress_rule(referencedSecurityGroupId=peer))]
    assert len(stack_violations(POLICY, stack)) == 1
    assert stack_violations(POLICY, stack, {"allowedSourceSecurityGroupIds": [peer]}) == []


def test_group_id_falls_back_to_the_arn():
    group = security_group(TASK_SG, [{"cidrBlocks": ["0.0.0.0/0"], "fromPort": 80, "toPort": 80,
                                      "protocol": "tcp"}])
    del group["id"]
    stack = replaced(compliant_network_stack(), "web-sg", group)
    assert len(stack_violations(POLICY, stack)) == 1


def test_stack_without_services_passes():
    stack = [(SECURITY_GROUP, "open", security_group(TASK_SG, [{"cidrBlocks": ["0.0.0.0/0"]}]))]
    assert stack_violations(POLICY, stack) == []


def test_worker_service_group_with_no_ingress_passes():
    network = {"assignPublicIp": False, "securityGroups": ["sg-0worker000000000"], "subnets": ["subnet-1"]}
    stack = [(ECS_SERVICE, "worker", service(networkConfiguration=network)),
             (SECURITY_GROUP, "worker-sg", security_group("sg-0worker000000000"))]
    assert stack_violations(POLICY, stack) == []


# sg-rules-managed-once

MANAGED_ONCE = "sg-rules-managed-once"
HTTPS_IN = {"cidrBlocks": ["0.0.0.0/0"], "fromPort": 443, "toPort": 443, "protocol": "tcp"}
ALL_OUT = {"cidrBlocks": ["0.0.0.0/0"], "fromPort": 0, "toPort": 0, "protocol": "-1"}


def _group(ingress=(), egress=()) -> dict:
    return {**security_group(ALB_SG, list(ingress)), "egress": list(egress)}


def _https_rule(**overrides) -> dict:
    return ingress_rule(**{"securityGroupId": ALB_SG, "referencedSecurityGroupId": None, "cidrIpv4": "0.0.0.0/0",
                           "fromPort": 443, "toPort": 443, **overrides})


def _all_out_rule() -> dict:
    return egress_rule(securityGroupId=ALB_SG, ipProtocol="-1", fromPort=None, toPort=None)


@pytest.mark.parametrize("stack", [
    [(SECURITY_GROUP, "alb-sg", _group([HTTPS_IN], [ALL_OUT]))],  # inline only
    [(SECURITY_GROUP, "alb-sg", _group()), (SECURITY_GROUP_INGRESS_RULE, "https", _https_rule()),
     (SECURITY_GROUP_EGRESS_RULE, "out", _all_out_rule())],  # rule resources only
    # ... after a refresh, which lists the rule resources' rules on the group too
    [(SECURITY_GROUP, "alb-sg", _group([{**HTTPS_IN, "description": "HTTPS"}], [ALL_OUT])),
     (SECURITY_GROUP_INGRESS_RULE, "https", _https_rule()), (SECURITY_GROUP_EGRESS_RULE, "out", _all_out_rule())],
    [(SECURITY_GROUP, "alb-sg", _group([{**HTTPS_IN, "protocol": "6", "securityGroups": [TASK_SG]}])),
     (SECURITY_GROUP_RULE, "https", {"type": "ingress", "securityGroupId": ALB_SG, "protocol": "tcp",
                                     "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}),
     (SECURITY_GROUP_INGRESS_RULE, "from-tasks", _https_rule(cidrIpv4=None, referencedSecurityGroupId=TASK_SG))],
])
def test_groups_managed_one_way_pass(stack):
    assert stack_violations(MANAGED_ONCE, stack) == []


@pytest.mark.parametrize("rule_type, rule, direction", [
    (SECURITY_GROUP_INGRESS_RULE, ingress_rule(securityGroupId=ALB_SG), "ingress"),
    (SECURITY_GROUP_EGRESS_RULE, egress_rule(securityGroupId=ALB_SG), "egress"),
    (SECURITY_GROUP_RULE, {"type": "egress", "securityGroupId": ALB_SG, "sourceSecurityGroupId": TASK_SG,
                           "fromPort": 8080, "toPort": 8080, "protocol": "tcp"}, "egress"),
    (SECURITY_GROUP_RULE, {"type": "ingress", "securityGroupId": ALB_SG, "self": True,
                           "fromPort": 0, "toPort": 0, "protocol": "-1"}, "ingress"),
])
def test_group_with_inline_rules_and_rule_resources_fails(rule_type, rule, direction):
    group = _group([HTTPS_IN], []) if direction == "ingress" else _group([], [ALL_OUT])
    [found] = stack_violations(MANAGED_ONCE, [(SECURITY_GROUP, "alb-sg", group), (rule_type, "extra", rule)])
    assert f"security group {ALB_SG} declares 1 {direction} rule(s) inline" in found.message
    assert "managed by rule resources (extra)" in found.message
    assert found.urn.endswith("::alb-sg")


def test_inline_ingress_beside_egress_rule_resources_is_no_conflict():
    # A group that leaves egress unset does not manage egress (compliant_network_stack's ALB group).
    stack = [(SECURITY_GROUP, "alb-sg", _group([HTTPS_IN])), (SECURITY_GROUP_EGRESS_RULE, "out", _all_out_rule())]
    assert stack_violations(MANAGED_ONCE, stack) == []
    assert stack_violations(MANAGED_ONCE, compliant_network_stack()) == []


def test_refreshed_group_with_a_rule_of_its_own_still_fails():
    stack = [(SECURITY_GROUP, "alb-sg", _group([HTTPS_IN, {**HTTPS_IN, "fromPort": 80, "toPort": 80}])),
             (SECURITY_GROUP_INGRESS_RULE, "https", _https_rule())]
    [found] = stack_violations(MANAGED_ONCE, stack)
    assert "declares 1 ingress rule(s) inline" in found.message


def test_mixed_group_is_found_in_a_first_preview():
    group = policy_resource(SECURITY_GROUP, {**_group([HTTPS_IN]), "id": UNKNOWN, "arn": UNKNOWN}, name="alb-sg")
    rule = policy_resource(SECURITY_GROUP_INGRESS_RULE, _https_rule(securityGroupId=UNKNOWN), name="https")
    rule.property_dependencies = {"securityGroupId": [group]}
    [found] = evaluate(POLICIES_BY_NAME[MANAGED_ONCE], stack_args([group, rule]))
    assert "security group alb-sg declares 1 ingress rule(s) inline" in found.message
    # A group the program gives no inline rules has wholly unknown ingress/egress in preview.
    group = policy_resource(SECURITY_GROUP, {**_group(), "id": UNKNOWN, "ingress": UNKNOWN_ARRAY,
                                             "egress": UNKNOWN_ARRAY}, name="alb-sg")
    rule.property_dependencies = {"securityGroupId": [group]}
    assert evaluate(POLICIES_BY_NAME[MANAGED_ONCE], stack_args([group, rule])) == []
