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
    SECURITY_GROUP_EGRESS_RULE,
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


# Types none of whose outputs is a security group id. A property whose value is unknown but
# depends only on these and on security groups names exactly those security groups.
_NEVER_GROUP_IDS = frozenset({"aws:ec2/subnet:Subnet", "awsx:ec2:Vpc"})


class _Groups:
    """Names security groups consistently whether their ids are known or not.

    A group resource of the stack is named by its URN, whether the property mentions its id
    (known) or only depends on it (a first preview, where ids are unknown); groups from outside
    the stack keep their id. An unknown value that may come from something other than a group
    is recorded as unresolved: the rule still reports what it can see, and is then reported as
    not runnable rather than as passed.
    """

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.by_id: dict[str, str] = {}
        self.id_of: dict[str, str] = {}
        for group in of_type(resources, SECURITY_GROUP):
            try:
                # Bridged resources carry the cloud id in their outputs; else the ARN's last part.
                group_id = group.props.get("id") or str(group.props.get("arn") or "").rpartition("/")[2]
            except UnknownValueError:
                group_id = None
            if group_id:
                self.by_id[str(group_id)] = group.urn
                self.id_of[group.urn] = str(group_id)
        self.unresolved: list[UnknownValueError] = []

    def named_by(self, resource: PolicyResource, dependency_key: str, read: Callable[[], Any]) -> set[str]:
        """The groups a property names (a list of ids, or one id): the known ids, and for any
        unknown one the security groups the property depends on."""
        try:
            value = read()
        except UnknownValueError as unknown:
            return self._dependencies(resource, dependency_key, unknown)
        items = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
        names, unknown = set(), None
        for index in range(len(items)):
            try:
                item = items[index]
            except UnknownValueError as error:
                unknown = error
                continue
            if item is not None:
                names.add(self.by_id.get(str(item), str(item)))
        if unknown is not None:
            names |= self._dependencies(resource, dependency_key, unknown)
        return names

    def _dependencies(self, resource: PolicyResource, dependency_key: str, unknown: UnknownValueError) -> set[str]:
        dependencies = (getattr(resource, "property_dependencies", None) or {}).get(dependency_key, [])
        if not dependencies or any(d.resource_type not in (SECURITY_GROUP, *_NEVER_GROUP_IDS)
                                   for d in dependencies):
            self.unresolved.append(unknown)
        return {d.urn for d in dependencies if d.resource_type == SECURITY_GROUP}

    def display(self, name: str) -> str:
        """The id where known (sg-...), else the group's resource name."""
        if not name.startswith("urn:"):
            return name
        return self.id_of.get(name, name.rsplit("::", 1)[-1])


def _untrusted_sources(groups: _Groups, resource: PolicyResource, props: Mapping[str, Any],
                       dependency_key: str, shape: _IngressShape, trusted: set[str]) -> Iterator[str]:
    for key in shape.address_keys:
        for address in as_list(props.get(key)):
            yield f"{address} ({key})"
    for key in shape.group_keys:
        for group in sorted(groups.named_by(resource, dependency_key, lambda key=key: props.get(key)) - trusted):
            yield f"security group {groups.display(group)}, which belongs to no load balancer ({key})"
    if shape.has_self and props.get("self") is True:
        yield "its own members (self: true)"


def check_task_ingress(resources: Sequence[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    groups = _Groups(resources)
    task_groups: set[str] = set()
    for service in of_type(resources, ECS_SERVICE):
        task_groups |= groups.named_by(service, "networkConfiguration", lambda s=service: mapping(
            s.props.get("networkConfiguration")).get("securityGroups"))
    trusted = {groups.by_id.get(g, g) for g in config["allowedSourceSecurityGroupIds"]}
    for balancer in of_type(resources, *LOAD_BALANCERS):
        trusted |= groups.named_by(balancer, "securityGroups", lambda b=balancer: b.props.get("securityGroups"))

    declarations: list[tuple[set[str], PolicyResource, Mapping[str, Any], str, _IngressShape]] = []
    for group in of_type(resources, SECURITY_GROUP):
        if group.urn in task_groups:
            # Inline rules share one property dependency (`ingress`): while their group ids are
            # unknown, every group the property depends on is attributed to each rule.
            declarations += [({group.urn}, group, mapping(rule), "ingress", _INLINE)
                             for rule in as_list(group.props.get("ingress"))]
    for rule_type, shape, source_key in ((SECURITY_GROUP_INGRESS_RULE, _INGRESS_RULE, "referencedSecurityGroupId"),
                                         (SECURITY_GROUP_RULE, _GROUP_RULE, "sourceSecurityGroupId")):
        for rule in of_type(resources, rule_type):
            if rule_type == SECURITY_GROUP_RULE and rule.props.get("type") != "ingress":
                continue
            target = groups.named_by(rule, "securityGroupId", lambda r=rule: r.props.get("securityGroupId"))
            if target & task_groups:
                declarations.append((target & task_groups, rule, rule.props, source_key, shape))

    reported = set()
    for targets, resource, props, dependency_key, shape in declarations:
        for source in _untrusted_sources(groups, resource, props, dependency_key, shape, trusted):
            target = ", ".join(sorted(groups.display(t) for t in targets))
            finding = (f"task security group {target} admits {source}; ECS tasks should accept traffic "
                       "only from their load balancer's security group.", resource.urn)
            if finding not in reported:
                reported.add(finding)
                yield finding
    if groups.unresolved:
        # Some group could not be identified: what was found is reported, but a pass is not.
        raise groups.unresolved[0]

# ---------------------------------------------------------------------------------------------
# A security group's rules managed both inline and by separate rule resources.

_PROTOCOLS = {"-1": "-1", "all": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def _atoms(direction: str, protocol: Any, from_port: Any, to_port: Any,
           sources: list[tuple[str, Any]]) -> set[tuple[str, ...]]:
    """One (direction, protocol, ports, source) per source: inline blocks group several sources,
    a rule resource has one, and a refreshed group lists the rule resources' rules inline."""
    protocol = str(protocol).lower()
    protocol = _PROTOCOLS.get(protocol, protocol)
    ports = ("", "") if protocol == "-1" else (str(int(from_port or 0)), str(int(to_port or 0)))
    return {(direction, protocol, *ports, kind, str(value)) for kind, value in sources if value is not None}


def _inline_atoms(group: PolicyResource, direction: str, block: Mapping[str, Any]) -> set[tuple[str, ...]]:
    sources = [(kind, v) for key, kind in (("cidrBlocks", "cidr"), ("ipv6CidrBlocks", "cidr"),
                                           ("prefixListIds", "prefix-list"), ("securityGroups", "group"))
               for v in as_list(block.get(key))]
    if block.get("self") is True:
        sources.append(("group", group.urn))
    return _atoms(direction, block.get("protocol"), block.get("fromPort"), block.get("toPort"), sources)


def _direction(rule: PolicyResource) -> str:
    if rule.resource_type == SECURITY_GROUP_RULE:
        return str(rule.props.get("type"))
    return "ingress" if rule.resource_type == SECURITY_GROUP_INGRESS_RULE else "egress"


def _separate_atoms(rule: PolicyResource, target: str) -> set[tuple[str, ...]]:
    props = rule.props
    direction = _direction(rule)
    if rule.resource_type == SECURITY_GROUP_RULE:
        sources = [(kind, v) for key, kind in (("cidrBlocks", "cidr"), ("ipv6CidrBlocks", "cidr"),
                                               ("prefixListIds", "prefix-list")) for v in as_list(props.get(key))]
        source_group = props.get("sourceSecurityGroupId")
        if props.get("self") is True:
            source_group = target
        sources.append(("group", source_group))
        return _atoms(direction, props.get("protocol"), props.get("fromPort"), props.get("toPort"), sources)
    sources = [("cidr", props.get("cidrIpv4")), ("cidr", props.get("cidrIpv6")),
               ("prefix-list", props.get("prefixListId")), ("group", props.get("referencedSecurityGroupId"))]
    return _atoms(direction, props.get("ipProtocol"), props.get("fromPort"), props.get("toPort"), sources)


def check_rules_managed_once(resources: Sequence[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    groups = _Groups(resources)
    separate: dict[str, list[PolicyResource]] = {}
    for rule in of_type(resources, SECURITY_GROUP_RULE, SECURITY_GROUP_INGRESS_RULE, SECURITY_GROUP_EGRESS_RULE):
        for target in groups.named_by(rule, "securityGroupId", lambda r=rule: r.props.get("securityGroupId")):
            separate.setdefault(target, []).append(rule)
    for group in of_type(resources, SECURITY_GROUP):
        rules = separate.get(group.urn, [])
        if not rules:
            continue
        inline: set[tuple[str, ...]] = set()
        # Per direction: a group that leaves `egress` unset does not manage its egress rules, so
        # egress rule resources beside inline ingress conflict with nothing.
        for direction in sorted({_direction(rule) for rule in rules}):
            try:
                blocks = group.props.get(direction)
            except UnknownValueError:
                # Wholly unknown: the program set none, and the provider reports them after
                # creating the group (an inline list the program sets is known in preview).
                continue
            for index in range(len(blocks) if isinstance(blocks, Sequence) else 0):
                try:
                    inline |= _inline_atoms(group, direction, mapping(blocks[index]))
                except UnknownValueError:
                    # Declared inline all the same; a refresh never yields an unknown value.
                    inline.add((direction, "unknown", str(index), "", "", ""))
        if not inline:
            continue
        # After a refresh the group's outputs list the rule resources' rules too: only inline
        # rules that no rule resource accounts for are the program's own. A group or rule whose
        # id is not known yet is new, so no refresh has copied anything yet.
        own = {(d, p, f, t, k, groups.by_id.get(v, v)) for d, p, f, t, k, v in inline}
        if group.urn in groups.id_of:
            for rule in rules:
                try:
                    own -= {(d, p, f, t, k, groups.by_id.get(v, v))
                            for d, p, f, t, k, v in _separate_atoms(rule, group.urn)}
                except UnknownValueError:
                    continue
        if own:
            names = ", ".join(sorted(r.name for r in rules))
            directions = "/".join(sorted({atom[0] for atom in own}))
            yield (f"security group {groups.display(group.urn)} declares {len(own)} {directions} rule(s) "
                   f"inline and is also managed by rule resources ({names}); the provider "
                   "then removes one set's rules whenever it applies the other's.", group.urn)
    if groups.unresolved:
        raise groups.unresolved[0]


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
    StackRule(
        name="sg-rules-managed-once",
        description=("A security group's rules must be declared either inline or as separate rule "
                     "resources, not both."),
        check=check_rules_managed_once,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        rationale=("pulumi-aws documents the two as conflicting: each update of the group resets its "
                   "rules to the inline ones, removing those of the rule resources, and the next "
                   "update of those adds them back - traffic is cut in between."),
        remediation_steps=("Move the group's inline ingress/egress into aws.vpc.SecurityGroupIngressRule / "
                           "SecurityGroupEgressRule resources (or the other way round), never both."),
    ),
]
