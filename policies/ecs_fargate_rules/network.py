"""The rule on what may reach ECS tasks: only their load balancers.

It is a stack rule because the facts are spread over several resources: a service names its
task security groups (`networkConfiguration.securityGroups`), a load balancer names its own
(`securityGroups`), and ingress is declared either inline on `aws:ec2/securityGroup` or as
separate `aws:vpc/securityGroupIngressRule` / `aws:ec2/securityGroupRule` resources. They are
joined on security group ids as they appear in the resources' outputs. During a preview that
creates the groups, those ids are still unknown and the SDK reports the rule as not runnable;
it runs for real at the end of `pulumi up`, and on every later preview.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, PolicyResource, Severity

from ._common import (
    ECS_SERVICE,
    LOAD_BALANCERS,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS_RULE,
    SECURITY_GROUP_RULE,
    Config,
    StackRule,
    as_list,
    mapping,
    of_type,
)


class _IngressShape(NamedTuple):
    """Where one kind of ingress declaration names its sources."""

    address_keys: tuple[str, ...]
    """CIDRs and prefix lists: never a load balancer."""
    group_keys: tuple[str, ...]
    """Security group ids: fine when they belong to a load balancer."""
    has_self: bool
    """Whether `self: true` (the group's own members) is possible."""


_INLINE = _IngressShape(("cidrBlocks", "ipv6CidrBlocks", "prefixListIds"), ("securityGroups",), True)
_GROUP_RULE = _IngressShape(("cidrBlocks", "ipv6CidrBlocks", "prefixListIds"),
                            ("sourceSecurityGroupId",), True)
_INGRESS_RULE = _IngressShape(("cidrIpv4", "cidrIpv6", "prefixListId"),
                              ("referencedSecurityGroupId",), False)


def _untrusted_sources(rule: Mapping[str, Any], shape: _IngressShape, trusted: set[str]) -> Iterator[str]:
    for key in shape.address_keys:
        for address in as_list(rule.get(key)):
            yield f"{address} ({key})"
    for key in shape.group_keys:
        for group in as_list(rule.get(key)):
            if group not in trusted:
                yield f"security group {group}, which belongs to no load balancer ({key})"
    if shape.has_self and rule.get("self") is True:
        yield "its own members (self: true)"


def _group_id(group: PolicyResource) -> Any:
    # Bridged resources carry the cloud id in their outputs; fall back to the ARN's last part.
    return group.props.get("id") or str(group.props.get("arn") or "").rpartition("/")[2] or None


def check_task_ingress(resources: Sequence[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    task_groups = {group for service in of_type(resources, ECS_SERVICE)
                   for group in as_list(
                       mapping(service.props.get("networkConfiguration")).get("securityGroups"))}
    if not task_groups:
        return
    trusted = {group for balancer in of_type(resources, *LOAD_BALANCERS)
               for group in as_list(balancer.props.get("securityGroups"))}
    trusted |= set(config["allowedSourceSecurityGroupIds"])

    declarations: list[tuple[Any, Mapping[str, Any], _IngressShape, str]] = []
    for group in of_type(resources, SECURITY_GROUP):
        group_id = _group_id(group)
        if group_id in task_groups:
            declarations += [(group_id, mapping(rule), _INLINE, group.urn)
                             for rule in as_list(group.props.get("ingress"))]
    for rule in of_type(resources, SECURITY_GROUP_INGRESS_RULE):
        if rule.props.get("securityGroupId") in task_groups:
            declarations.append((rule.props.get("securityGroupId"), rule.props, _INGRESS_RULE, rule.urn))
    for rule in of_type(resources, SECURITY_GROUP_RULE):
        if rule.props.get("type") == "ingress" and rule.props.get("securityGroupId") in task_groups:
            declarations.append((rule.props.get("securityGroupId"), rule.props, _GROUP_RULE, rule.urn))

    for group_id, rule, shape, urn in declarations:
        for source in _untrusted_sources(rule, shape, trusted):
            yield (f"task security group {group_id} admits {source}; ECS tasks should accept "
                   "traffic only from their load balancer's security group.", urn)


POLICIES = [
    StackRule(
        name="sg-task-ingress-from-alb-only",
        description=("Security groups of ECS services must admit ingress only from load balancer "
                     "security groups."),
        check=check_task_ingress,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=PolicyConfigSchema(properties={
            "allowedSourceSecurityGroupIds": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": [],
                "description": ("Further security group ids tasks may admit, e.g. a load balancer "
                                "managed in another stack."),
            },
        }),
        rationale=("Tasks that accept traffic from anywhere but the ALB bypass its TLS, header "
                   "checks and health routing, and with a public IP they are open to the internet "
                   "(awsx's default task group allows 0.0.0.0/0 on all ports)."),
        remediation_steps=("Replace CIDR or self ingress on the task security group with one rule "
                           "whose source is the load balancer's security group, on the container port."),
    ),
]
