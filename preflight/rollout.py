"""The rollout of every ECS service a program renders, timed by the model in components/rollout.py.

Works on any program's rendering, not only ours: it reads what the provider would send to ECS —
the `aws:ecs/service:Service` inputs (desiredCount, deployment percents, grace period,
deploymentConfiguration with its strategy, bake times, linear/canary settings and pause hooks,
loadBalancers with their target group and alternate target group, alarms, waitForSteadyState),
the target groups those ARNs name (deregistration delay, health check), the task definition's
containers (stopTimeout, health check interval) and the rollback alarms (datapoints × period) —
and leaves to AWS's defaults whatever is unset. A value that is unknown until deployment (an
output in a first preview, a target group or task definition outside the program) makes the
figures unknown and is named, never guessed.

The resource's `custom_timeouts` is compared with the modeled deployment: when `pulumi up` waits
for it (`waitForSteadyState`), a create or update timeout shorter than the model (the provider's
20 minutes when none is set) is a warning. It does not change preflight's exit status: the
figure rests on an assumed task start time, and a timeout that fires stops `pulumi up` waiting,
not the deployment (ECS carries on; the next `pulumi up` or a refresh catches up). A policy rule
can make it blocking where that is wanted.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi
from pulumi.runtime import rpc

from preflight.render import Rendering, RenderedResource


def _load_model() -> ModuleType:
    """components/rollout.py, loaded from its file under a name of preflight's own. Importing it
    as `components.rollout` would put this repository's `components` package in sys.modules, and
    a program rendered afterwards (another tree's in `preflight diff`, or any program with a
    `components` package of its own) would import that instead of its own."""
    name = "preflight._rollout_model"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, PACKAGE_ROOT / "components" / "rollout.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


PACKAGE_ROOT = Path(__file__).resolve().parent.parent
_model = _load_model()
AWS_STOP_TIMEOUT_SECONDS = _model.AWS_STOP_TIMEOUT_SECONDS
AWS_TARGET_GROUP_DEFAULTS = _model.AWS_TARGET_GROUP_DEFAULTS
ECS_PAUSE_TIMEOUT_MINUTES = _model.ECS_PAUSE_TIMEOUT_MINUTES
FARGATE_TASK_START_SECONDS = _model.FARGATE_TASK_START_SECONDS
PROVIDER_DEFAULT_TIMEOUT_MINUTES = _model.PROVIDER_DEFAULT_TIMEOUT_MINUTES
STRATEGIES = _model.STRATEGIES
Rollout = _model.Rollout
RolloutInputs = _model.RolloutInputs
format_duration = _model.format_duration
model = _model.model
timeout_minutes = _model.timeout_minutes
with_aws_defaults = _model.with_aws_defaults

SERVICE = "aws:ecs/service:Service"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ECS_CONTAINER_HEALTH_CHECK_INTERVAL = 30
"""A container health check's interval when it sets none (ECS `HealthCheck.interval`)."""


class _Unknown(Exception):
    """A value the rollout needs is unknown until deployment."""


def _is_unknown(value: Any) -> bool:
    return isinstance(value, pulumi.output.Unknown) or value == rpc.UNKNOWN


def _get(value: Any, *path: str | int, what: str | None = None) -> Any:
    """`value[path...]`, None when a step is absent; `_Unknown(what)` (the path by default) when
    a step is unknown."""
    what = what or ".".join(str(key) for key in path)
    for key in path:
        if _is_unknown(value):
            raise _Unknown(what)
        if value is None:
            return None
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and len(value) > key else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
    if _is_unknown(value):
        raise _Unknown(what)
    return value


def _number(value: Any, default: float | None, what: str) -> float | None:
    """A number the provider may carry as a string (`bakeTimeInMinutes`) or a float (JSON)."""
    if value is None or value == "":
        return default
    if _is_unknown(value):
        raise _Unknown(what)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Unknown(f"{what} ({value!r} is not a number)") from None
    return int(number) if number.is_integer() else number


_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns)")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def duration_seconds(text: str) -> float | None:
    """A Go duration ("30m", "1h30m", "90s") in seconds, as the engine and provider parse
    `custom_timeouts`; None when it is not one."""
    text = text.strip()
    if not text or _GO_DURATION.sub("", text) != "":
        return None
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _GO_DURATION.findall(text))


@dataclass
class ServiceRollout:
    """One service's modeled rollout, as preflight reports it."""

    urn: str
    name: str
    strategy: str | None
    desired_count: int | float | None = None
    rollout: Rollout | None = None
    aws_defaults: Rollout | None = None
    unknown: list[str] = field(default_factory=list)
    """What kept the figures from being computed."""
    note: str | None = None
    wait: bool = False
    """`waitForSteadyState`: `pulumi up` waits for the deployment, so its timeouts matter."""
    timeouts: dict[str, float] = field(default_factory=dict)
    """create/update timeouts in seconds, the provider's default where the resource sets none."""
    timeouts_given: dict[str, str] = field(default_factory=dict)
    warning: str | None = None

    @property
    def timeout_seconds(self) -> float:
        return min(self.timeouts.values())

    def to_json(self) -> dict:
        def figure(rollout: Rollout | None, attribute: str):
            return None if rollout is None else getattr(rollout, attribute)

        return {
            "service": self.name,
            "urn": self.urn,
            "strategy": self.strategy,
            "desiredCount": self.desired_count,
            "deploySeconds": figure(self.rollout, "deploy_seconds"),
            "rollbackSeconds": figure(self.rollout, "rollback_seconds"),
            "awsDefaultsDeploySeconds": figure(self.aws_defaults, "deploy_seconds"),
            "awsDefaultsRollbackSeconds": figure(self.aws_defaults, "rollback_seconds"),
            "waitForSteadyState": self.wait,
            "timeoutSeconds": self.timeout_seconds,
            "customTimeouts": dict(self.timeouts_given),
            "suggestedTimeoutMinutes": (timeout_minutes(self.rollout.deploy_seconds)
                                        if self.rollout is not None else None),
            "deployPhases": [{"label": p.label, "seconds": p.seconds} for p in self.rollout.deploy]
            if self.rollout is not None else [],
            "rollbackPhases": [{"label": p.label, "seconds": p.seconds} for p in self.rollout.rollback]
            if self.rollout is not None else [],
            "unknown": list(self.unknown),
            "note": self.note,
            "warning": self.warning,
        }

    def line(self) -> str:
        head = f"{self.name} {self.strategy or '?'}"
        if self.desired_count is not None:
            head += f", {self.desired_count:g} task{'' if self.desired_count == 1 else 's'}"
        if self.rollout is None:
            why = self.note or ("unknown until deployment: " + ", ".join(self.unknown))
            return f"{head}: {why}"
        r, aws = self.rollout, self.aws_defaults
        if self.wait:
            timeout = f"timeout {format_duration(self.timeout_seconds)}" + (
                "" if self.timeouts_given else " (provider default)")
        else:
            timeout = "pulumi does not wait for it (waitForSteadyState off)"
        return (f"{head}: deploy {format_duration(r.deploy_seconds)}, rollback {format_duration(r.rollback_seconds)} "
                f"(AWS defaults: {format_duration(aws.deploy_seconds)}, {format_duration(aws.rollback_seconds)}); "
                f"{timeout}")


class _Program:
    """Lookups across one rendering."""

    def __init__(self, rendering: Rendering):
        self.rendering = rendering
        self.by_urn = {r.urn: r for r in rendering.resources}

    def by_arn(self, typ: str, arn: str) -> RenderedResource | None:
        for resource in self.rendering.of_type(typ):
            if arn in (resource.outputs.get("arn"), resource.id):
                return resource
        return None

    def dependencies(self, service: RenderedResource, key: str, typ: str) -> list[RenderedResource]:
        return [self.by_urn[urn] for urn in service.property_dependencies.get(key, [])
                if urn in self.by_urn and self.by_urn[urn].type == typ]

    def referenced(self, service: RenderedResource, arns: list[Any], key: str, typ: str,
                   what: str) -> list[RenderedResource]:
        """The resources of `typ` that `arns` name; by property dependency where an ARN is
        unknown (a first preview)."""
        found: list[RenderedResource] = []
        for arn in arns:
            if _is_unknown(arn):
                candidates = self.dependencies(service, key, typ)
                if not candidates:
                    raise _Unknown(f"{what} (its ARN is unknown)")
                found += candidates
                continue
            resource = self.by_arn(typ, arn)
            if resource is None:
                raise _Unknown(f"{what} ({arn} is not in this program)")
            found.append(resource)
        return list({r.urn: r for r in found}.values())


_TARGET_GROUP_KEYS = {
    "deregistration_delay_seconds": ("deregistrationDelay",),
    "health_check_interval_seconds": ("healthCheck", "interval"),
    "healthy_threshold": ("healthCheck", "healthyThreshold"),
    "unhealthy_threshold": ("healthCheck", "unhealthyThreshold"),
    "health_check_timeout_seconds": ("healthCheck", "timeout"),
}
"""RolloutInputs field -> the target group input it comes from."""


def _target_group_timing(groups: list[RenderedResource]) -> dict[str, float]:
    """The slowest of the service's target groups (a task must pass each; blue/green's two swap
    roles every deployment), AWS's defaults for what a group does not set."""
    timing: dict[str, float] = {}
    for group in groups:
        for field_name, path in _TARGET_GROUP_KEYS.items():
            what = f"target group {group.name} {'.'.join(path)}"
            value = _number(_get(group.inputs, *path, what=what), AWS_TARGET_GROUP_DEFAULTS[field_name], what)
            timing[field_name] = max(timing.get(field_name, value), value)
    return timing


def _containers(task_definition: RenderedResource) -> dict[str, Any]:
    """stopTimeout (the longest) and the essential containers' health check interval (the
    longest) of a task definition."""
    what = f"task definition {task_definition.name} containerDefinitions"
    text = _get(task_definition.inputs, "containerDefinitions", what=what)
    if isinstance(text, str):
        try:
            containers = json.loads(text)
        except ValueError:
            raise _Unknown(f"{what} (not JSON)") from None
    else:
        containers = text
    if not isinstance(containers, list):
        raise _Unknown(what)
    stop, interval = None, None
    for container in containers:
        if not isinstance(container, dict):
            raise _Unknown(what)
        seconds = _number(container.get("stopTimeout"), AWS_STOP_TIMEOUT_SECONDS, f"{what} stopTimeout")
        stop = seconds if stop is None else max(stop, seconds)
        check = container.get("healthCheck")
        if check and container.get("essential", True) is not False:
            seconds = _number(_get(check, "interval", what=what), ECS_CONTAINER_HEALTH_CHECK_INTERVAL,
                              f"{what} healthCheck.interval")
            interval = seconds if interval is None else max(interval, seconds)
    return {"stop_timeout_seconds": AWS_STOP_TIMEOUT_SECONDS if stop is None else stop,
            "container_health_check_interval_seconds": interval}


def _alarm_minutes(program: _Program, alarms: Any) -> int | None:
    """The quickest rollback alarm of the service, in whole minutes (datapoints to alarm ×
    period); None when there is none this program defines."""
    if not alarms or not _get(alarms, "enable", what="alarms") or not _get(alarms, "rollback", what="alarms"):
        return None
    names = _get(alarms, "alarmNames", what="alarms.alarmNames") or []
    if any(_is_unknown(name) for name in names):
        raise _Unknown("alarms.alarmNames")
    quickest = None
    for alarm in program.rendering.of_type(ALARM):
        name = alarm.inputs.get("name") or alarm.outputs.get("name")
        if name not in names:
            continue
        what = f"alarm {alarm.name}"
        periods = _number(alarm.inputs.get("datapointsToAlarm"), None, f"{what} datapointsToAlarm") or \
            _number(alarm.inputs.get("evaluationPeriods"), 1, f"{what} evaluationPeriods")
        # A metric-math alarm has its periods on its queries' metrics: the longest one sets the pace.
        periods_of_queries = [_number(_get(query, "metric", "period", what=f"{what} metricQueries"), None,
                                      f"{what} metricQueries period")
                              for query in (alarm.inputs.get("metricQueries") or []) if _get(query, "metric")]
        period = max([p for p in periods_of_queries if p] or [_number(alarm.inputs.get("period"), 60, f"{what} period")])
        minutes = math.ceil(periods * period / 60)
        quickest = minutes if quickest is None else min(quickest, minutes)
    return quickest


def _num(obj: Any, key: str, default: float | None, what: str | None = None) -> float | None:
    """`obj[key]` as a number, `default` when unset."""
    what = what or key
    return _number(_get(obj, key, what=what), default, what)


def _inputs(program: _Program, service: RenderedResource, strategy: str) -> RolloutInputs:
    inputs = service.inputs
    config = _get(inputs, "deploymentConfiguration") or {}
    fields: dict[str, Any] = {
        "strategy": strategy,
        # The provider sends 0 for a REPLICA service without one.
        "desired_count": _num(inputs, "desiredCount", 0),
        "minimum_healthy_percent": _num(inputs, "deploymentMinimumHealthyPercent", 100),
        "maximum_percent": _num(inputs, "deploymentMaximumPercent", 200),
        "grace_period_seconds": _num(inputs, "healthCheckGracePeriodSeconds", 0),
    }
    balancers = _get(inputs, "loadBalancers") or []
    fields["behind_load_balancer"] = bool(balancers)
    if balancers:
        arns: list[Any] = []
        for index, balancer in enumerate(balancers):
            where = f"loadBalancers[{index}]"
            if _get(balancer, "elbName", what=where):
                raise _Unknown(f"{where} is a Classic Load Balancer (its health check is not modeled)")
            arns.append(balancer.get("targetGroupArn") if isinstance(balancer, dict) else rpc.UNKNOWN)
            if strategy != "ROLLING":
                # Green registers in the alternate group; the two swap roles every deployment.
                advanced = balancer.get("advancedConfiguration") if isinstance(balancer, dict) else rpc.UNKNOWN
                arns.append(advanced.get("alternateTargetGroupArn") if isinstance(advanced, dict) else advanced)
        groups = program.referenced(service, [a for a in arns if a is not None], "loadBalancers", TARGET_GROUP,
                                    "the target group")
        fields.update(_target_group_timing(groups))
    else:
        fields.update(deregistration_delay_seconds=0)

    definition = inputs.get("taskDefinition")  # unknown in a first preview: found by dependency
    if definition is not None:
        task_definition = program.referenced(service, [definition], "taskDefinition", TASK_DEFINITION,
                                             "the task definition")[0]
        fields.update(_containers(task_definition))
    fields["alarm_evaluation_minutes"] = _alarm_minutes(program, _get(inputs, "alarms"))

    if strategy != "ROLLING":
        fields["bake_time_minutes"] = _num(config, "bakeTimeInMinutes", 0)
        canary = _get(config, "canaryConfiguration") or {}
        linear = _get(config, "linearConfiguration") or {}
        fields.update(
            canary_percent=_num(canary, "canaryPercent", 5.0),
            canary_bake_minutes=_num(canary, "canaryBakeTimeInMinutes", 10),
            step_percent=_num(linear, "stepPercent", 10.0),
            step_bake_minutes=_num(linear, "stepBakeTimeInMinutes", 6),
        )
        pauses: list[float] = []
        for index, hook in enumerate(_get(config, "lifecycleHooks") or []):
            where = f"lifecycleHooks[{index}]"
            if _get(hook, "targetType", what=f"{where}.targetType") != "PAUSE":
                continue  # a Lambda hook is assumed to answer at once (see components/rollout.py)
            minutes = _number(_get(hook, "timeoutConfiguration", "timeoutInMinutes", what=where),
                              ECS_PAUSE_TIMEOUT_MINUTES, f"{where}.timeoutConfiguration.timeoutInMinutes")
            stages = _get(hook, "lifecycleStages", what=f"{where}.lifecycleStages") or []
            pauses += [minutes] * len(stages)
        fields["pause_minutes"] = tuple(pauses)
    return RolloutInputs(**fields)


def _strategy(service: RenderedResource) -> str:
    controller = _get(service.inputs, "deploymentController", "type", what="deploymentController.type")
    if controller not in (None, "ECS"):
        return str(controller)
    return _get(service.inputs, "deploymentConfiguration", "strategy",
                what="deploymentConfiguration.strategy") or "ROLLING"


def service_rollout(program: _Program, service: RenderedResource) -> ServiceRollout:
    wait = service.inputs.get("waitForSteadyState") is True
    given = {k: v for k, v in service.custom_timeouts.items() if k in ("create", "update")}
    timeouts = {}
    for key in ("create", "update"):
        seconds = duration_seconds(given[key]) if key in given else None
        timeouts[key] = seconds if seconds is not None else PROVIDER_DEFAULT_TIMEOUT_MINUTES * 60
    result = ServiceRollout(urn=service.urn, name=service.name, strategy=None, wait=wait, timeouts=timeouts,
                            timeouts_given=given)
    try:
        result.strategy = _strategy(service)
    except _Unknown as unknown:
        result.unknown.append(str(unknown))
        return result
    if result.strategy not in STRATEGIES:
        result.note = f"the {result.strategy} deployment controller is not modeled"
        return result
    try:
        inputs = _inputs(program, service, result.strategy)
    except _Unknown as unknown:
        result.unknown.append(str(unknown))
        return result
    result.desired_count = inputs.desired_count
    try:
        result.rollout = model(inputs)
        result.aws_defaults = model(with_aws_defaults(inputs))
    except ValueError as error:
        result.note = f"cannot roll out: {error}"
        return result
    deploy = result.rollout.deploy_seconds
    if wait and deploy > result.timeout_seconds:
        short = [key for key in ("create", "update") if timeouts[key] < deploy]
        told = [f"customTimeouts.{key} {given[key]}" for key in short if key in given]
        defaults = [key for key in short if key not in given]
        if defaults:
            told.append(f"the provider's default {' and '.join(defaults)} timeout "
                        f"({PROVIDER_DEFAULT_TIMEOUT_MINUTES} min)")
        result.warning = (f"{service.name}: {' and '.join(told)} shorter than the modeled deployment "
                          f"({format_duration(deploy)}); `pulumi up` would stop waiting before ECS is done. "
                          f"Set custom_timeouts create and update to at least {timeout_minutes(deploy)}m "
                          f"(components.rollout.custom_timeouts gives it)")
    return result


def rollouts(rendering: Rendering) -> list[ServiceRollout]:
    """Every ECS service of the rendering, in rendering order."""
    program = _Program(rendering)
    found = []
    for service in rendering.of_type(SERVICE):
        try:
            found.append(service_rollout(program, service))
        except Exception as error:  # noqa: BLE001 - an input shape not foreseen: said, not a crash
            found.append(ServiceRollout(urn=service.urn, name=service.name, strategy=None,
                                        timeouts={"create": PROVIDER_DEFAULT_TIMEOUT_MINUTES * 60,
                                                  "update": PROVIDER_DEFAULT_TIMEOUT_MINUTES * 60},
                                        note=f"preflight could not model it: {type(error).__name__}: {error}"))
    return found
