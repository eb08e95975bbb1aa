"""How long a deployment and a rollback of an ECS service take, modeled before deploying.

Pure Python, no resources: `FargateService` sizes its `custom_timeouts` with it, and `preflight`
reports it for every `aws:ecs/service:Service` it renders (ours or any other program's).

The model adds up the waits ECS and the load balancer impose; it is a planning figure (what to
set a timeout to, what a default costs), not a prediction to the second.

What it models, per strategy (ECS developer guide: "Deploy Amazon ECS services by replacing tasks",
"Amazon ECS blue/green service deployments workflow", "Amazon ECS linear deployments", "Amazon
ECS canary deployments"; API reference: `DeploymentConfiguration`, `LinearConfiguration`,
`CanaryConfiguration`, `ServiceDeployment.lifecycleStage`):

- a task becomes ready in `task_start_seconds` (Fargate provisioning, ENI, image pull, app
  start: `FARGATE_TASK_START_SECONDS`, an assumption) plus, behind a load balancer, the target
  group's `healthy_threshold` consecutive passing checks `health_check_interval_seconds` apart
  (a target is `initial` until then and ECS does not count it healthy); without a load balancer,
  the container health check's first passing check (Docker runs it one interval after start) or,
  with none, the 40 s ECS waits after RUNNING (`ECS_NO_HEALTH_CHECK_WAIT_SECONDS`);
- a task goes away in `deregistration_delay_seconds` (the target drains; 0 without a load
  balancer) plus `stop_timeout_seconds` (SIGTERM to SIGKILL: the upper bound; an app that exits
  on SIGTERM is quicker);
- ROLLING: batches of `maximum − minimum` tasks (maximum = desired × maximumPercent rounded down,
  minimum = desired × minimumHealthyPercent rounded up, as `DeploymentConfiguration` documents),
  each batch started, healthy, and its old tasks drained and stopped before the next batch starts
  (assumed: a draining task still counts against maximumPercent). min 100 / max 200 is one batch
  whatever the count. A rollback (circuit breaker or alarm) is a new rolling deployment of the
  previous revision: the same batches again;
- BLUE_GREEN, LINEAR, CANARY: green scales to the full desired count at once (`SCALE_UP`: "scales
  up to 100%"), production traffic moves (BLUE_GREEN at once; CANARY after `canary_bake_minutes`
  at `canary_percent`; LINEAR in `step_percent` steps with `step_bake_minutes` after each step but
  the last, i.e. ceil(100 / step) − 1 waits, CloudFormation's own formula), blue keeps running
  for `bake_time_minutes` (`BAKE_TIME`), then blue drains and stops (`CLEAN_UP`). A rollback
  (alarm during the shift or the bake) moves production traffic back to blue, which still runs
  at full count, then drains and stops green: the model takes one triggered at the end of the
  bake;
- pause hooks (`pause_minutes`): each pause (one per hook and stage) counted at its full timeout,
  nobody continuing it early (the bound a timeout must cover);
- the rollback alarm, when `alarm_evaluation_minutes` is given: a rollback starts that many
  one-minute periods after the problem does ("detect" phase).

What it ignores: API and scheduler latency (seconds), listener-rule weight changes (ALB applies
them in seconds), Lambda lifecycle hooks (assumed to answer at once), test-traffic shifts, task
placement failures and retries, ECS's own throttling of task launches for large counts (it starts
a large batch in waves), the grace period (it delays only ECS acting on failed health checks,
not a healthy task: it is in `failed_task_seconds`, not in the totals), a deployment that fails
its circuit breaker (the detection needs several failed tasks; that figure is open-ended).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import pulumi

if TYPE_CHECKING:
    from components.fargate_service import ServiceSpec

STRATEGIES = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")
"""`deploymentConfiguration.strategy` values."""
TRAFFIC_SHIFTING = ("BLUE_GREEN", "LINEAR", "CANARY")

FARGATE_TASK_START_SECONDS = 60
"""ASSUMPTION: from a Fargate task being placed to its app listening (provisioning, ENI attach,
image pull, app start), for a small image (a few hundred MB) and an app that starts in seconds.
AWS publishes no figure; its task launch guide ("Optimize Amazon ECS task launch time") lists
the parts (awsvpc ENI: "several seconds", image pull: by size, app start) and reports from users
range from about 30 s to 3 minutes by image size. A large image or slow app start: pass a larger
`RolloutInputs.task_start_seconds`."""

ECS_NO_HEALTH_CHECK_WAIT_SECONDS = 40
"""Without a load balancer or container health check, ECS counts a task healthy 40 s after it
is RUNNING (`DeploymentConfiguration.minimumHealthyPercent`, API reference)."""

AWS_TARGET_GROUP_DEFAULTS = {
    "health_check_interval_seconds": 30,
    "healthy_threshold": 5,
    "unhealthy_threshold": 2,
    "health_check_timeout_seconds": 5,
    "deregistration_delay_seconds": 300,
}
"""An ALB target group's defaults for an `ip` target over HTTP (ELB API `CreateTargetGroup`,
`deregistration_delay.timeout_seconds`): a service that sets none of them."""
AWS_STOP_TIMEOUT_SECONDS = 30
"""ECS's `stopTimeout` on Fargate when a container sets none."""

SERVICE_TARGET_GROUP = {
    "health_check_interval_seconds": 10,
    "healthy_threshold": 2,
    "unhealthy_threshold": 3,
    "health_check_timeout_seconds": 5,
}
"""The health check `FargateService` gives its target groups (asserted against the rendered
target group in tests/test_rollout_model.py)."""
SERVICE_MINIMUM_HEALTHY_PERCENT = 100
SERVICE_MAXIMUM_PERCENT = 200
"""`FargateService`'s rolling bounds (asserted against the rendered service as well)."""

ECS_PAUSE_TIMEOUT_MINUTES = 1440
"""A pause hook's timeout when it sets none (ECS default, 24 hours)."""

PROVIDER_DEFAULT_TIMEOUT_MINUTES = 20
"""terraform-provider-aws `aws_ecs_service` (pulumi-aws `aws.ecs.Service`): create, update and
delete time out after 20 minutes unless `custom_timeouts` says otherwise
(internal/service/ecs/service.go, `Timeouts: schema.DefaultTimeout(20 * time.Minute)`)."""
TIMEOUT_MARGIN = 1.5
"""`custom_timeouts` is the modeled deploy time times this: room for what the model leaves out
(API and scheduler latency, a task start up to ~2.5 times the assumed one on a rolling service
of one batch). The provider stops waiting when a deployment fails or rolls back, so the
successful deployment's duration is the one to cover, not deploy plus rollback."""


@dataclass(frozen=True)
class RolloutInputs:
    """One ECS service as the rollout model sees it. Defaults are AWS's where AWS has one (ECS
    service, ALB target group, ECS deployment configuration); `bake_time_minutes` has none in
    ECS (BLUE_GREEN requires it), 0 here."""

    strategy: str = "ROLLING"
    """`deploymentConfiguration.strategy`: ROLLING, BLUE_GREEN, LINEAR or CANARY."""
    desired_count: int = 1
    minimum_healthy_percent: int = 100
    """ECS default 100 (rolling only)."""
    maximum_percent: int = 200
    """ECS default 200 (rolling only)."""
    behind_load_balancer: bool = True
    health_check_interval_seconds: int = 30
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    health_check_timeout_seconds: int = 5
    grace_period_seconds: int = 0
    """`healthCheckGracePeriodSeconds`: only in `failed_task_seconds`."""
    deregistration_delay_seconds: int = 300
    bake_time_minutes: int = 0
    canary_percent: float = 5.0
    canary_bake_minutes: int = 10
    step_percent: float = 10.0
    step_bake_minutes: int = 6
    pause_minutes: tuple[int, ...] = ()
    """One timeout per pause (a pause hook at two stages pauses twice); each counted in full."""
    stop_timeout_seconds: int = 30
    """The longest `stopTimeout` of the task's containers."""
    container_health_check_interval_seconds: int | None = None
    """The essential container's health check interval, if it has one (used without a load
    balancer, and as a floor with one)."""
    alarm_evaluation_minutes: int | None = None
    """The rollback alarm's evaluation periods of one minute; None: no detection phase."""
    task_start_seconds: int = FARGATE_TASK_START_SECONDS


class Phase(NamedTuple):
    label: str
    seconds: float


@dataclass(frozen=True)
class Rollout:
    """A modeled deployment and rollback: the phases, in order, and their sums."""

    strategy: str
    deploy: tuple[Phase, ...]
    rollback: tuple[Phase, ...]
    failed_task_seconds: float
    """How long a new task failing its load balancer health checks lives before ECS stops it:
    max(grace period, unhealthy threshold × interval) (not in the totals)."""

    @property
    def deploy_seconds(self) -> float:
        return sum(phase.seconds for phase in self.deploy)

    @property
    def rollback_seconds(self) -> float:
        return sum(phase.seconds for phase in self.rollback)


def _ready_seconds(i: RolloutInputs) -> tuple[str, float]:
    """How long a started task takes to count as healthy, and why."""
    container = i.container_health_check_interval_seconds
    if i.behind_load_balancer:
        seconds = i.healthy_threshold * i.health_check_interval_seconds
        label = f"target healthy: {i.healthy_threshold} checks × {i.health_check_interval_seconds} s"
        if container is not None and container > seconds:
            return f"container healthy: first check after {container} s", container
        return label, seconds
    if container is not None:
        return f"container healthy: first check after {container} s", container
    return f"ECS wait after RUNNING (no health check): {ECS_NO_HEALTH_CHECK_WAIT_SECONDS} s", \
        ECS_NO_HEALTH_CHECK_WAIT_SECONDS


def _gone_phases(i: RolloutInputs, which: str, times: int = 1) -> list[Phase]:
    """Deregistration delay and stop timeout of `which` tasks, `times` batches over."""
    by = f"{times} × " if times != 1 else ""
    phases = []
    if i.behind_load_balancer:
        phases.append(Phase(f"drain {which}: {by}{i.deregistration_delay_seconds} s deregistration delay",
                            times * i.deregistration_delay_seconds))
    phases.append(Phase(f"stop {which}: {by}{i.stop_timeout_seconds} s stop timeout", times * i.stop_timeout_seconds))
    return phases


def rolling_batches(i: RolloutInputs) -> tuple[int, int]:
    """(tasks per batch, batches) of a rolling deployment. ValueError when the bounds let no
    task be replaced (maximum − minimum below one task)."""
    count = i.desired_count
    if count <= 0:
        return 0, 0
    most = math.floor(count * i.maximum_percent / 100)
    fewest = math.ceil(count * i.minimum_healthy_percent / 100)
    batch = min(count, most - fewest)
    if batch < 1:
        raise ValueError(f"a rolling deployment of {count} task(s) with minimum healthy {i.minimum_healthy_percent} % "
                         f"and maximum {i.maximum_percent} % can replace no task (at most {most} running, "
                         f"at least {fewest} healthy)")
    return batch, math.ceil(count / batch)


def linear_waits(step_percent: float) -> int:
    """Step bakes of a linear deployment: one after each step but the last (ceil(100 / step) − 1;
    CloudFormation: 100 / step − 1 when it divides, otherwise floor(100 / step))."""
    return math.ceil(round(100 / step_percent, 9)) - 1


def model(i: RolloutInputs) -> Rollout:
    """The modeled deployment and rollback of a service (see the module docstring)."""
    if i.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {i.strategy!r}; one of {', '.join(STRATEGIES)}")
    ready_label, ready = _ready_seconds(i)
    detect = []
    if i.alarm_evaluation_minutes:
        detect = [Phase(f"detect: alarm of {i.alarm_evaluation_minutes} × 1 min", i.alarm_evaluation_minutes * 60)]
    pauses = [Phase(f"pause hook: {m} min timeout", m * 60) for m in i.pause_minutes]
    failed = max(i.grace_period_seconds, i.unhealthy_threshold * i.health_check_interval_seconds) \
        if i.behind_load_balancer else 0

    if i.strategy == "ROLLING":
        batch, batches = rolling_batches(i)
        if batches == 0:
            return Rollout(i.strategy, (), tuple(detect), failed)

        def cycle(new: str, old: str) -> list[Phase]:
            by = f"{batches} × " if batches != 1 else ""
            return [
                Phase(f"start {new}: {by}{i.task_start_seconds} s ({batches} batch{'es' if batches != 1 else ''} "
                      f"of {batch})", batches * i.task_start_seconds),
                Phase(ready_label + (f", {batches} times" if batches != 1 else ""), batches * ready),
                *_gone_phases(i, old, batches),
            ]

        # With deployment alarms ECS keeps watching them after the old tasks are gone, for a bake
        # time it "computes based on the alarm configuration" (ECS developer guide, "How CloudWatch
        # alarms detect Amazon ECS deployment failures"); the formula is not published: modeled as
        # the alarm's own window.
        watch = [Phase(f"alarm bake (ECS computes it from the alarm; modeled as {i.alarm_evaluation_minutes} × 1 min)",
                       i.alarm_evaluation_minutes * 60)] if i.alarm_evaluation_minutes else []
        return Rollout(i.strategy, tuple(cycle("new tasks", "old tasks") + watch),
                       tuple(detect + cycle("previous-revision tasks", "new-revision tasks")), failed)

    if i.strategy == "BLUE_GREEN":
        shift = [Phase("production traffic to green: all at once", 0)]
    elif i.strategy == "CANARY":
        shift = [Phase(f"canary {i.canary_percent:g} %: {i.canary_bake_minutes} min, then the rest",
                       i.canary_bake_minutes * 60)]
    else:
        waits = linear_waits(i.step_percent)
        shift = [Phase(f"linear {i.step_percent:g} % steps: {waits} waits × {i.step_bake_minutes} min",
                       waits * i.step_bake_minutes * 60)]
    deploy = [
        Phase(f"start green: {i.desired_count} task(s) at once, {i.task_start_seconds} s", i.task_start_seconds),
        Phase(ready_label, ready),
        *pauses,
        *shift,
        Phase(f"bake: {i.bake_time_minutes} min, blue still running", i.bake_time_minutes * 60),
        *_gone_phases(i, "blue"),
    ]
    rollback = [*detect, Phase("production traffic back to blue (still at full count)", 0), *_gone_phases(i, "green")]
    return Rollout(i.strategy, tuple(deploy), tuple(rollback), failed)


def with_aws_defaults(i: RolloutInputs) -> RolloutInputs:
    """The same service with the target group's and container's timing left to AWS: 300 s
    deregistration delay, 5 checks 30 s apart (unhealthy 2, timeout 5) and a 30 s stop timeout.
    Strategy, counts, bake times and hooks stay: they are the service's choices, not timing."""
    return dataclasses.replace(i, **AWS_TARGET_GROUP_DEFAULTS, stop_timeout_seconds=AWS_STOP_TIMEOUT_SECONDS)


def timeout_minutes(deploy_seconds: float) -> int:
    """The `custom_timeouts` minutes for a modeled deploy time: the provider's 20 minutes, or the
    model × `TIMEOUT_MARGIN` (whole minutes, rounded up) when that is longer."""
    return max(PROVIDER_DEFAULT_TIMEOUT_MINUTES, math.ceil(deploy_seconds * TIMEOUT_MARGIN / 60))


def custom_timeouts(deploy_seconds: float) -> pulumi.CustomTimeouts:
    """Create and update timeouts for an `aws.ecs.Service` that waits for its deployment
    (`wait_for_steady_state`); delete keeps the provider's default."""
    minutes = f"{timeout_minutes(deploy_seconds)}m"
    return pulumi.CustomTimeouts(create=minutes, update=minutes)


def _known_or_default(svc: ServiceSpec, name: str) -> int:
    """`svc`'s field `name`, or its default where it is only known at deploy time (an Output)."""
    # Imported here: preflight loads this file on its own (preflight/rollout.py), without the
    # `components` package, and never calls inputs_for_service.
    from components.validation import default_of, is_unknown

    value = getattr(svc, name)
    return default_of(type(svc), name) if is_unknown(value) else value


def inputs_for_service(svc: ServiceSpec, *, desired_count: int | None = None) -> RolloutInputs:
    """The RolloutInputs of a `FargateService` built from `svc`: its target group's health check
    (`SERVICE_TARGET_GROUP`), rolling bounds, grace period, deregistration delay, stop timeout,
    container health check, deployment settings and rollback alarm.

    `desired_count`: the count to model when `svc`'s is not a plain int (an Output); otherwise 1.
    The count changes no figure but 0 (no tasks): min 100 / max 200 replaces every task in one
    batch, and a traffic-shifting deployment starts all green tasks at once.

    The other fields a `ServiceSpec` may give as a `pulumi.Output` (`deploy_time=True`: the grace
    period and the deregistration delay) are not known when the program runs, so the model takes
    an Output one as the field's default (`components.validation.default_of`): 60 s and 30 s. A
    deregistration delay that is an Output and longer than 30 s makes the modeled deployment, and
    the `custom_timeouts` sized from it, that much shorter than the real one: give it as an int to
    have it counted."""
    count = svc.initial_count if isinstance(svc.initial_count, int) else (desired_count or 1)
    web = not svc.is_worker
    spec = svc.deployment
    pauses: list[int] = []
    for hook in spec.hooks:
        if hook.pause:
            pauses += [hook.timeout_minutes or ECS_PAUSE_TIMEOUT_MINUTES] * len(hook.stages)
    check = svc.task.health_check
    alarm = svc.rollback_alarm
    fields = dict(
        strategy=spec.ecs_strategy,
        desired_count=count,
        minimum_healthy_percent=SERVICE_MINIMUM_HEALTHY_PERCENT,
        maximum_percent=SERVICE_MAXIMUM_PERCENT,
        behind_load_balancer=web,
        stop_timeout_seconds=svc.task.stop_timeout_seconds,
        container_health_check_interval_seconds=check.interval_seconds if check is not None else None,
        alarm_evaluation_minutes=alarm.evaluation_minutes if web and alarm is not None else None,
    )
    if web:
        fields.update(SERVICE_TARGET_GROUP,
                      grace_period_seconds=_known_or_default(svc, "health_check_grace_period_seconds"),
                      deregistration_delay_seconds=_known_or_default(svc, "deregistration_delay_seconds"))
    if spec.shifts_traffic:
        fields.update(bake_time_minutes=spec.bake_time_minutes, pause_minutes=tuple(pauses))
        if spec.strategy == "canary":
            fields.update(canary_percent=spec.canary_percent, canary_bake_minutes=spec.canary_bake_minutes)
        elif spec.strategy == "linear":
            fields.update(step_percent=spec.step_percent, step_bake_minutes=spec.step_bake_minutes)
    return RolloutInputs(**fields)


def format_duration(seconds: float) -> str:
    """`12 min 30 s`, `45 s`, `1 h 5 min`."""
    total = int(math.ceil(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)
