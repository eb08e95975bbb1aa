"""The rule on what may reach ECS tasks: only their load balancers.

It is a stack rule because the facts are spread over several resources: a service names its
task security groups (`networkConfiguration.securityGroups`), a load balancer names its own
(`securityGroups`), and ingress is declared either inline on `aws:ec2/securityGroup` or as
separate `aws:vpc/securityGroupIngressRule` / `aws:ec2/securityGroupRule` resources. They are
joined on security group ids as they appear in the resources' outputs. During a preview that
creates the groups those ids are still unknown; the engine then still says which security group
each property depends on (property dependencies), so groups are joined on their URNs instead and
the rule runs on a new stack's first preview too. Only where neither is known does the SDK
report the rule as not runnable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, PolicyResource, Severity
from pulumi_policy.proxy import UnknownValueError

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


def _untrusted_sources(rule: PolicyResource | Mapping[str, Any], props: Mapping[str, Any],
                       dependency_key: str, shape: _IngressShape, trusted: set[str]) -> Iterator[str]:
    for key in shape.address_keys:
        for address in as_list(props.get(key)):
            yield f"{address} ({key})"
    for key in shape.group_keys:
        groups = _groups(rule, dependency_key, lambda key=key: props.get(key), optional=True)
        for group in groups - trusted:
            yield f"security group {_display({group})}, which belongs to no load balancer ({key})"
    if shape.has_self and props.get("self") is True:
        yield "its own members (self: true)"


def _groups(resource: PolicyResource | Mapping[str, Any], dependency_key: str, read: Callable[[], Any],
            optional: bool = False) -> set[str]:
    """The security groups a property names: their ids, or, while the ids are unknown (a first
    preview), the URNs of the security groups the property depends on."""
    try:
        return {str(group) for group in as_list(read())}
    except UnknownValueError:
        dependencies = getattr(resource, "property_dependencies", None) or {}
        urns = {d.urn for d in dependencies.get(dependency_key, []) if d.resource_type == SECURITY_GROUP}
        if urns:
            return urns
        if optional and dependencies.get(dependency_key):
            return set()  # depends on something, but on no security group: not a group reference
        raise


def _identities(group: PolicyResource) -> set[str]:
    """A security group is known by its id once created, and always by its URN."""
    try:
        # Bridged resources carry the cloud id in their outputs; fall back to the ARN's last part.
        group_id = group.props.get("id") or str(group.props.get("arn") or "").rpartition("/")[2]
    except UnknownValueError:
        group_id = None
    return {group.urn, *([group_id] if group_id else [])}


def check_task_ingress(resources: Sequence[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    task_groups: set[str] = set()
    for service in of_type(resources, ECS_SERVICE):
        task_groups |= _groups(service, "networkConfiguration", lambda s=service: mapping(
            s.props.get("networkConfiguration")).get("securityGroups"))
    if not task_groups:
        return
    trusted = set(config["allowedSourceSecurityGroupIds"])
    for balancer in of_type(resources, *LOAD_BALANCERS):
        trusted |= _groups(balancer, "securityGroups", lambda b=balancer: b.props.get("securityGroups"))
    by_identity = {identity: group for group in of_type(resources, SECURITY_GROUP)
                   for identity in _identities(group)}
    # A load balancer's group is trusted under its id and its URN alike.
    trusted |= {identity for name in list(trusted) if name in by_identity
                for identity in _identities(by_identity[name])}

    declarations: list[tuple[str, PolicyResource, Mapping[str, Any], str, _IngressShape]] = []
    for group in of_type(resources, SECURITY_GROUP):
        if _identities(group) & task_groups:
            declarations += [(_display(_identities(group)), group, mapping(rule), "ingress", _INLINE)
                             for rule in as_list(group.props.get("ingress"))]
    for rule in of_type(resources, SECURITY_GROUP_INGRESS_RULE):
        groups = _groups(rule, "securityGroupId", lambda r=rule: r.props.get("securityGroupId")) & task_groups
        if groups:
            declarations.append((_display(groups), rule, rule.props, "referencedSecurityGroupId", _INGRESS_RULE))
    for rule in of_type(resources, SECURITY_GROUP_RULE):
        if rule.props.get("type") != "ingress":
            continue
        groups = _groups(rule, "securityGroupId", lambda r=rule: r.props.get("securityGroupId")) & task_groups
        if groups:
            declarations.append((_display(groups), rule, rule.props, "sourceSecurityGroupId", _GROUP_RULE))

    for group, resource, props, dependency_key, shape in declarations:
        for source in _untrusted_sources(resource, props, dependency_key, shape, trusted):
            yield (f"task security group {group} admits {source}; ECS tasks should accept traffic only "
                   "from their load balancer's security group.", resource.urn)


def _display(identities: set[str]) -> str:
    """An id where known (sg-...), else the security group's name from its URN."""
    ids = sorted(i for i in identities if not i.startswith("urn:"))
    return ids[0] if ids else sorted(identities)[0].rsplit("::", 1)[-1]

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
