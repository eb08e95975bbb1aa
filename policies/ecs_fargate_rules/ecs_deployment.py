"""Rules for ECS-native traffic-shifting deployments (blue/green, linear, canary).

With `loadBalancers[].advancedConfiguration` a service names a production listener rule (and
optionally a test listener rule); on every deployment ECS rewrites the weights of those rules'
forward actions to move traffic between the primary and the alternate target group. A program
that still owns the rules' `actions` puts the weights back on its next update - which, after a
deployment has swapped the groups, sends production traffic to the group with no tasks
(terraform-aws-modules/terraform-aws-alb#409; aws-cdk#36649). So the rules' resource options
must ignore changes to their actions, which CrossGuard hands a stack policy as `opts`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, Severity
from pulumi_policy.proxy import UnknownValueError

from ._common import (
    known_arn,
    ECS_SERVICE,
    LISTENER_RULES,
    Config,
    StackRule,
    as_list,
    mapping,
    of_type,
)

ROLES = (("productionListenerRule", "production"), ("testListenerRule", "test"))

WILDCARD = "*"
_NAME = re.compile(r"[^.\[\]]+")
_BRACKET = re.compile(r'\[(?:(\d+)|(\*)|"((?:[^"\\]|\\.)*)")\]')


def parse_property_path(text: str) -> list[str | int] | None:
    """The segments of a Pulumi property path (`actions`, `actions[0].forward`, `actions[*]`,
    `actions.*`, `a["key"]`), indices as ints and wildcards as "*"; None when it does not parse."""
    segments: list[str | int] = []
    index = 0
    while index < len(text):
        if text[index] == "[":
            match = _BRACKET.match(text, index)
            if match is None:
                return None
            number, star, quoted = match.groups()
            segments.append(int(number) if number is not None else WILDCARD if star
                            else re.sub(r"\\(.)", r"\1", quoted))
        else:
            if segments:
                if text[index] != ".":
                    return None
                index += 1
            match = _NAME.match(text, index)
            if match is None:
                return None
            segments.append(match.group(0))
        index = match.end()
    return segments or None


def _covers(path: Sequence[str | int], index: int | None, whole_action: bool) -> bool:
    """Whether an ignoreChanges path covers the forward weights of action `index` (None: of an
    action whatever its index).

    What ECS rewrites is `actions[i].forward.targetGroups[*].weight`; a path counts when it is
    that or a prefix of it. The target groups of a forward are a set whose order ECS does not
    keep, so a single group (`targetGroups[0]`) does not count. An action written in its short
    form (`targetGroupArn`, no `forward`) is replaced by ECS with a weighted forward, so only a
    path covering the whole action (`actions`, `actions[i]`) counts for it.
    """
    target: list[Any] = ["actions", index, "forward", "targetGroups", WILDCARD, "weight"]
    if whole_action and len(path) > 2:
        return False
    if len(path) > len(target):
        return False
    for depth, (segment, expected) in enumerate(zip(path, target, strict=False)):
        if depth == 1:
            if segment != WILDCARD and (index is None or segment != index):
                return False
        elif expected == WILDCARD:
            if segment != WILDCARD:
                return False
        elif segment != expected:
            return False
    return True


def ignores_forward_weights(rule: PolicyResource) -> bool:
    """Whether a listener rule's resource options ignore changes to the forward weights of all
    of its actions (its `actions` are read only when no path covers every action at once)."""
    opts = getattr(rule, "opts", None)
    paths = [p for p in (parse_property_path(str(text)) for text in (getattr(opts, "ignore_changes", None) or []))
             if p is not None]
    if any(_covers(path, None, whole_action=True) for path in paths):
        return True  # `actions`, `actions[*]`
    candidates = [path for path in paths if path[0] == "actions"]
    if not candidates:
        return False
    actions = as_list(rule.props.get("actions"))
    if not actions:
        return False
    for index, action in enumerate(actions):
        action = mapping(action)
        whole = not mapping(action.get("forward")).get("targetGroups")
        if not any(_covers(path, index, whole) for path in candidates):
            return False
    return True


def _named_rules(service: PolicyResource, rules: Sequence[PolicyResource]
                 ) -> tuple[dict[str, tuple[PolicyResource, list[str]]], UnknownValueError | None]:
    """The stack's listener rules that the service names in its advanced configuration, by URN,
    each with the roles it plays (`production (loadBalancers[0]...)`); an unknown ARN in a first
    preview is resolved through the service's property dependencies on `loadBalancers`."""
    found: dict[str, tuple[PolicyResource, list[str]]] = {}
    unresolved = None

    def add(rule: PolicyResource, role: str) -> None:
        found.setdefault(rule.urn, (rule, []))[1].append(role)

    for position, balancer in enumerate(as_list(service.props.get("loadBalancers"))):
        advanced = mapping(mapping(balancer).get("advancedConfiguration"))
        for key, role in ROLES:
            where = f"{role} (loadBalancers[{position}].advancedConfiguration.{key})"
            try:
                arn = advanced.get(key)
            except UnknownValueError as unknown:
                dependencies = {d.urn for d in (getattr(service, "property_dependencies", None) or {})
                                .get("loadBalancers", [])}
                depended = [r for r in rules if r.urn in dependencies]
                for rule in depended:
                    add(rule, f"production or test (loadBalancers[{position}].advancedConfiguration)")
                unresolved = unresolved or (None if depended else unknown)
                continue
            if arn:
                for rule in rules:
                    if known_arn(rule) == str(arn):
                        add(rule, where)
    return found, unresolved


def check_deployment_rules_not_reverted(resources: Sequence[PolicyResource], config: Config
                                        ) -> Iterator[tuple[str, str]]:
    rules = of_type(resources, *LISTENER_RULES)
    unresolved: list[UnknownValueError] = []
    for service in of_type(resources, ECS_SERVICE):
        try:
            named, unknown = _named_rules(service, rules)
        except UnknownValueError as error:
            unresolved.append(error)
            continue
        if unknown is not None:
            unresolved.append(unknown)
        for rule, roles in named.values():
            try:
                ignored = ignores_forward_weights(rule)
            except UnknownValueError as error:
                unresolved.append(error)
                continue
            if ignored:
                continue
            current = list(getattr(getattr(rule, "opts", None), "ignore_changes", None) or [])
            yield (f"listener rule '{rule.name}' is the {' and '.join(dict.fromkeys(roles))} listener rule of ECS "
                   f"service '{service.name}', but its resource options do not ignore changes to its actions "
                   f"(ignoreChanges: {', '.join(current) or 'none'}); ECS rewrites the rule's forward weights on "
                   "every deployment, and the next update would put them back and send production traffic to "
                   "a target group with no tasks."), rule.urn
    if unresolved:
        raise unresolved[0]


POLICIES = [
    StackRule(
        name="ecs-deployment-rules-not-reverted",
        description=("Listener rules an ECS service names as its production or test rule must ignore "
                     "changes to their actions."),
        check=check_deployment_rules_not_reverted,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        rationale=("ECS rewrites the production and test listener rules' forward weights on every "
                   "blue/green, linear or canary deployment; an update that puts them back sends production "
                   "traffic to a target group with no tasks (terraform-aws-alb#409, aws-cdk#36649)."),
        remediation_steps=("Create the listener rules named in loadBalancers[].advancedConfiguration "
                           "(productionListenerRule, testListenerRule) with ignore_changes=[\"actions\"] in their "
                           "resource options (pulumi.ResourceOptions(ignore_changes=[\"actions\"]); in Terraform "
                           "lifecycle { ignore_changes = [action] }, as in terraform-aws-alb#409), so that after "
                           "creation only ECS changes their forward weights."),
    ),
]
