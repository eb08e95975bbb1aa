"""Rules for ECS-native traffic-shifting deployments (blue/green, linear, canary).

`ecs-deployment-safe-rollback` (per service): a traffic-shifting deployment must roll back on
CloudWatch alarms and keep each window in which those alarms judge the new revision - the bake
time after the last shift, and the canary or linear steps' bake times - at least a configured
number of minutes long.

`ecs-deployment-rules-not-reverted` (stack): with `loadBalancers[].advancedConfiguration` a service names a production listener rule (and
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

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, PolicyResource, Severity
from pulumi_policy.proxy import UnknownValueError

from ._common import (
    known_arn,
    ECS_SERVICE,
    LISTENER_RULES,
    Config,
    Props,
    ResourceRule,
    StackRule,
    as_list,
    mapping,
    of_type,
    shown,
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

    What ECS rewrites is `actions[i].forward.targetGroups[*].weight`; a path counts when it covers
    whole target group entries (`...targetGroups[*]` or a prefix of it). The weights alone
    (`...targetGroups[*].weight`) do not: the engine resets them by position, and the provider
    reads the groups back as a set, in its own order, so after a refresh a weight would be put back
    on the wrong group. The target groups of a forward are a set whose order ECS does not
    keep, so a single group (`targetGroups[0]`) does not count. An action written in its short
    form (`targetGroupArn`, no `forward`) is replaced by ECS with a weighted forward, so only a
    path covering the whole action (`actions`, `actions[i]`) counts for it.
    """
    target: list[Any] = ["actions", index, "forward", "targetGroups", WILDCARD]
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


# ---------------------------------------------------------------------------------------------
# ecs-deployment-safe-rollback

TRAFFIC_SHIFTING = ("BLUE_GREEN", "LINEAR", "CANARY")
"""`deploymentConfiguration.strategy` values that shift traffic between two target groups."""

# ECS's documented defaults (botocore's CanaryConfiguration / LinearConfiguration), which apply
# when the program sends no canaryConfiguration / linearConfiguration block at all.
AWS_DEFAULT_CANARY_BAKE = 10
AWS_DEFAULT_STEP_BAKE = 6
DEFAULT_MIN_BAKE_MINUTES = 5
_GO_INT = re.compile(r"[+-]?[0-9]+")


class _Unreadable(ValueError):
    """A bake time that is not a whole number of minutes (the provider refuses it)."""


def _minutes(value: Any) -> int | None:
    """A bake time as pulumi-aws takes it - a string the provider parses with Go's
    strconv.ParseInt (terraform-provider-aws nullable.Int) - or a number; None when unset ("")."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _Unreadable(value)
    if isinstance(value, (int, float)):
        if float(value).is_integer():
            return int(value)
        raise _Unreadable(value)
    if isinstance(value, str) and _GO_INT.fullmatch(value):
        return int(value)
    raise _Unreadable(value)


def _bake_windows(strategy: str, deployment: Props) -> list[tuple[str, Any]]:
    """(property path, a reader of (minutes ECS will wait, how that figure comes about)) for each
    window in which the rollback alarms judge the new revision before more traffic moves or the old
    revision is let go. Each is read on its own, so one unknown value does not hide the others.

    - every strategy: `bakeTimeInMinutes`, the time blue keeps running after the last shift, when a
      rollback is still only a traffic shift back. Unset, the provider sends none (it is required
      for BLUE_GREEN; for LINEAR and CANARY ECS picks it), so the rule asks for it explicitly.
    - CANARY: `canaryConfiguration.canaryBakeTimeInMinutes`, how long the canary share runs before
      the rest of the traffic moves; LINEAR: `linearConfiguration.stepBakeTimeInMinutes`, the wait
      after each step. Without the configuration block ECS's defaults apply (10 and 6 minutes);
      with the block but the bake time unset, pulumi-aws sends 0, not ECS's default
      (terraform-provider-aws expandCanaryConfiguration/expandLinearConfiguration parse "" as 0).
    """
    def final() -> tuple[int | None, str]:
        return _minutes(deployment.get("bakeTimeInMinutes")), "as set"

    windows: list[tuple[str, Any]] = [("deploymentConfiguration.bakeTimeInMinutes", final)]
    for wanted, block, key, default in (
            ("CANARY", "canaryConfiguration", "canaryBakeTimeInMinutes", AWS_DEFAULT_CANARY_BAKE),
            ("LINEAR", "linearConfiguration", "stepBakeTimeInMinutes", AWS_DEFAULT_STEP_BAKE)):
        if strategy != wanted:
            continue

        def shift(block: str = block, key: str = key, default: int = default) -> tuple[int | None, str]:
            configuration = deployment.get(block)
            if configuration is None:
                return default, f"ECS's default, as {block} is not set"
            minutes = _minutes(mapping(configuration).get(key))
            if minutes is None:
                return 0, f"not set in {block}, so pulumi-aws sends 0, not ECS's default of {default}"
            return minutes, "as set"

        windows.append((f"deploymentConfiguration.{block}.{key}", shift))
    return windows


def _names_an_alarm(names: Any) -> bool:
    """Whether `alarmNames` holds a name; one not known yet (a first preview) is still a name."""
    if isinstance(names, str):
        return names != ""
    if not isinstance(names, Sequence):
        return False
    for index in range(len(names)):
        try:
            if names[index] != "":
                return True
        except UnknownValueError:
            return True
    return False


def _missing_alarms(props: Props, unknown: list[UnknownValueError]) -> list[str]:
    """What keeps ECS from rolling back on an alarm: each part of `alarms` that is off or empty
    (a part that is unknown is added to `unknown` and the others still judged)."""
    alarms = props.get("alarms")
    if alarms is None:
        return ["alarms is not set"]
    alarms = mapping(alarms)
    missing = []
    for key, test, problem in (
            ("enable", lambda value: value is True, "alarms.enable is not true"),
            ("rollback", lambda value: value is True, "alarms.rollback is not true"),
            ("alarmNames", _names_an_alarm, "alarms.alarmNames is empty")):
        try:
            if not test(alarms.get(key)):
                missing.append(problem)
        except UnknownValueError as error:
            unknown.append(error)
    return missing


def check_safe_rollback(props: Props, config: Config, name: str | None = None) -> Iterator[str]:
    """One message per missing safeguard of a blue/green, linear or canary service: rollback
    alarms, and each bake window (`_bake_windows`) of at least `minBakeTimeMinutes`.

    What is known is judged first; an unknown value is raised afterwards (the SDK's note that
    the rule could not run in full during preview), after the messages about the rest.
    """
    deployment = mapping(props.get("deploymentConfiguration"))
    strategy = deployment.get("strategy")
    if strategy not in TRAFFIC_SHIFTING:
        return  # ROLLING (the default) replaces tasks; the circuit breaker rule covers it
    if (mapping(props.get("deploymentController")).get("type") or "ECS") != "ECS":
        return  # CODE_DEPLOY and EXTERNAL deployments shift traffic their own way
    label = f"ECS service '{name}'" if name else "this ECS service"
    minimum = shown(config.get("minBakeTimeMinutes", DEFAULT_MIN_BAKE_MINUTES))  # 5.0 over gRPC -> "5"
    unknown: list[UnknownValueError] = []

    try:
        missing = _missing_alarms(props, unknown)
    except UnknownValueError as error:  # `alarms` itself
        unknown.append(error)
        missing = []
    if missing:
        yield (f"{label} deploys {strategy} without rollback alarms ({'; '.join(missing)}): nothing stops "
               "traffic from moving to a failing revision. Set alarms: {enable: true, rollback: true, "
               "alarmNames: [CloudWatch alarms on the service's errors or latency]}, so that ECS shifts "
               "the traffic back when one fires during the deployment or its bake time.")

    for path, read in _bake_windows(strategy, deployment):
        try:
            minutes, how = read()
        except UnknownValueError as error:
            unknown.append(error)
            continue
        except _Unreadable as error:
            yield (f"{label} deploys {strategy} with {path} {error.args[0]!r}, which is not a whole number of "
                   f"minutes (the provider refuses it). Set it to at least \"{minimum}\".")
            continue
        if minutes is None:
            yield (f"{label} deploys {strategy} without a bake time ({path} is not set): the old revision "
                   "may be stopped as soon as the last traffic has moved, before a rollback alarm can fire. "
                   f"Set {path} to at least \"{minimum}\" (minutes).")
        elif minutes < float(minimum):
            how = "" if how == "as set" else f" ({how})"
            yield (f"{label} deploys {strategy} with {path} {minutes} minutes{how}, under the minimum of "
                   f"{minimum}: the rollback alarms get too little time to judge the new revision before "
                   f"{_what_moves_on(path)}. Set {path} to at least \"{minimum}\".")
    if unknown:
        raise unknown[0]


def _what_moves_on(path: str) -> str:
    if path.endswith("canaryBakeTimeInMinutes"):
        return "the rest of the production traffic moves to it"
    if path.endswith("stepBakeTimeInMinutes"):
        return "the next step of traffic moves to it"
    return "ECS stops the old revision and a rollback becomes a new deployment"


POLICIES = [
    ResourceRule(
        context=("name",),
        name="ecs-deployment-safe-rollback",
        description=("ECS services deployed blue/green, linear or canary must roll back on CloudWatch alarms "
                     "and bake each traffic shift for a minimum time."),
        checks={ECS_SERVICE: check_safe_rollback},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=PolicyConfigSchema(properties={
            "minBakeTimeMinutes": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1440,
                "default": DEFAULT_MIN_BAKE_MINUTES,
                "description": ("The shortest acceptable bake time (minutes): bakeTimeInMinutes, and for "
                                "CANARY the canary's and for LINEAR each step's bake time."),
            },
        }),
        rationale=("A traffic-shifting deployment is only safer than a rolling one if something sends the "
                   "traffic back: ECS does so when a rollback alarm fires while the old revision still runs. "
                   "Without alarms (the circuit breaker sees only tasks that fail to start) a revision that "
                   "serves errors gets all the traffic; with a bake time shorter than an alarm needs to fire "
                   "(CloudWatch's one-minute metrics, the alarm's evaluation periods), the old revision is gone "
                   "or the next shift made before the alarm can act."),
        remediation_steps=("Set alarms: {enable: true, rollback: true, alarmNames: [...]} with CloudWatch alarms "
                           "on the service's 5xx and latency (on both target groups, which swap roles on every "
                           "deployment), and deploymentConfiguration.bakeTimeInMinutes - for CANARY also "
                           "canaryConfiguration.canaryBakeTimeInMinutes, for LINEAR "
                           "linearConfiguration.stepBakeTimeInMinutes - to at least minBakeTimeMinutes (5 by "
                           "default)."),
    ),
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
                           "(productionListenerRule, testListenerRule) with "
                           "ignore_changes=[\"actions[*].forward.targetGroups[*]\"] in their resource options (it "
                           "keeps each target group with the weight ECS gave it, and still lets a switch between a "
                           "plain and a weighted forward through; [\"actions\"] works too but keeps a plain forward "
                           "when a rolling service becomes traffic-shifting; in Terraform lifecycle { ignore_changes "
                           "= [action] }, as in terraform-aws-alb#409), so that after creation only ECS changes "
                           "their forward weights."),
    ),
]
