"""ScheduledTask: a one-off job run on a schedule by EventBridge Scheduler, not a service.

It either reuses a service's task definition (same image, same roles) with its own command, or
brings its own image and gets its own task definition and roles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components._aws import TOKEN_PREFIX, aws_context, policy_document, service_trust_policy
from components.task_definition import (
    CONTAINER_NAME, Placement, TaskSpec, check_capacity_provider, check_task, define_task,
    egress_only_security_group,
)
from components.task_roles import ECS_TASKS_PRINCIPAL
from components.validation import (
    CAPACITY_PROVIDERS, Invalid, Problems, check_description_name, check_fields, check_names, check_timezone, check_type, constrained, is_digits,
    raise_problems,
)

# ---------------------------------------------------------------------------------------------
# EventBridge Scheduler's schedule expressions (CreateSchedule's ScheduleExpression).

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _CronField:
    name: str
    verb: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    special: str = ""
    """Wildcards besides , - *: ? L W (day-of-month), ? L # (day-of-week)."""
    increments: bool = True
    """Whether / is allowed: in every field but day-of-week."""

    def describe(self) -> str:
        values = f"{self.low}-{self.high}" + (f" or {self.names[0]}-{self.names[-1]}" if self.names else "")
        wildcards = [",", "-", "*"] + [w for w in self.special if w == "?"] + (["/"] if self.increments else []) + \
            [w for w in self.special if w != "?"]
        return f"{self.name} {self.verb} {values} with {' '.join(wildcards)}"


_CRON_FIELDS = (
    _CronField("minutes", "are", 0, 59),
    _CronField("hours", "are", 0, 23),
    _CronField("day-of-month", "is", 1, 31, special="?LW"),
    _CronField("month", "is", 1, 12, _MONTHS),
    _CronField("day-of-week", "is", 1, 7, _WEEKDAYS, special="?L#", increments=False),
    _CronField("year", "is", 1970, 2199),
)
_CRON_EXAMPLE = "e.g. cron(0 3 * * ? *) for 03:00 every day"


def _cron_value(field: _CronField, text: str) -> int | None:
    # ASCII only: "ſun".upper() is "SUN".
    if text.isascii() and text.upper() in field.names:
        return field.names.index(text.upper()) + 1
    if is_digits(text) and field.low <= int(text) <= field.high:
        return int(text)
    return None


def _cron_field_ok(field: _CronField, text: str) -> bool:
    """One field: a list of values, ranges and increments, or one of its special forms alone."""
    if text == "?" or text == "L":
        return text in field.special
    if "W" in field.special and (text == "LW" or (text.endswith("W") and _cron_value(field, text[:-1]))):
        return True
    if "L" in field.special and "#" in field.special and text.endswith("L") and _cron_value(field, text[:-1]):
        return True
    if "#" in field.special and "#" in text:
        day, _, nth = text.partition("#")
        return _cron_value(field, day) is not None and nth in ("1", "2", "3", "4", "5")
    for item in text.split(","):
        start, slash, step = item.partition("/")
        if slash and not (field.increments and is_digits(step) and 1 <= int(step) <= field.high - field.low + 1):
            return False
        if start == "*":
            continue
        low, dash, high = start.partition("-")
        if _cron_value(field, low) is None or (dash and _cron_value(field, high) is None):
            return False
    return True


def _cron_error(body: str) -> Invalid | None:
    fields = body.split()
    if len(fields) != 6:
        return Invalid("is not an EventBridge Scheduler cron expression: cron has six fields (minutes hours "
                       f"day-of-month month day-of-week year), not {len(fields)}; {_CRON_EXAMPLE}")
    for cron_field, text in zip(_CRON_FIELDS, fields, strict=True):
        if not _cron_field_ok(cron_field, text):
            return Invalid(f"is not an EventBridge Scheduler cron expression: {cron_field.describe()}", f"got {text}")
    if (fields[2] == "?") == (fields[4] == "?"):
        return Invalid("is not an EventBridge Scheduler cron expression: use ? in exactly one of day-of-month "
                       f"and day-of-week (the other says which days); {_CRON_EXAMPLE}")
    return None


def schedule_error(expression: str) -> Invalid | None:
    import datetime

    if match := re.fullmatch(r"cron\((.*)\)", expression):
        return _cron_error(match[1])
    if match := re.fullmatch(r"rate\((\S+) (\S+)\)", expression):
        value, unit = match.groups()
        if not re.fullmatch(r"[1-9][0-9]*", value):
            return Invalid("is not an EventBridge Scheduler rate expression: the value is a positive whole number, "
                           "e.g. rate(5 minutes)")
        # CreateSchedule's reference lists minute | minutes | hour | hours | day | days and no
        # agreement with the value (the singular-for-1 rule is EventBridge rules', not Scheduler's).
        if unit.removesuffix("s") not in ("minute", "hour", "day"):
            return Invalid("is not an EventBridge Scheduler rate expression: the unit is minute(s), hour(s) or day(s)")
        return None
    if match := re.fullmatch(r"at\((.*)\)", expression):
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}", match[1]):
            return Invalid("is not an EventBridge Scheduler one-time expression: at(yyyy-mm-ddThh:mm:ss), "
                           "e.g. at(2030-01-01T00:00:00)")
        try:
            datetime.datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return Invalid("is not an EventBridge Scheduler one-time expression: not a real date and time")
        return None
    return Invalid("is not a schedule expression: cron(0 3 * * ? *), rate(6 hours) or at(2030-01-01T00:00:00)")




@dataclass(frozen=True)
class ScheduledJobSpec:
    """A job EventBridge Scheduler runs: with its own task, or a service's task definition."""

    name: str
    """The job's name in its descriptions (security group, roles, schedule): EC2's description
    characters (letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*). Its AWS resources are named
    from the ScheduledTask's resource name, not from this."""
    schedule: pulumi.Input[str] = constrained(kind="string", check=schedule_error, deploy_time=True)
    """`cron(0 3 * * ? *)`, `rate(6 hours)` or `at(2030-01-01T00:00:00)`."""
    task: TaskSpec | None = None
    """Its own task definition; None: the job runs a service's (`ScheduledTaskArgs.service_task`)."""
    command: tuple[str, ...] = constrained((), kind="strings", known_because="it goes into the RunTask input "
                                                                                 "of the schedule")
    """Overrides the container's command."""
    timezone: pulumi.Input[str] = constrained("UTC", kind="string", deploy_time=True)
    """The time zone of the schedule (IANA, e.g. Europe/Berlin)."""
    enabled: bool = constrained(True, kind="bool", known_because="it decides the schedule's state")
    """False keeps the schedule, disabled."""
    capacity_provider: Literal["FARGATE", "FARGATE_SPOT"] = constrained("FARGATE", kind="string",
                                                                        choices=CAPACITY_PROVIDERS)
    """`FARGATE_SPOT` costs less and may be interrupted."""


def task_group_description(job: ScheduledJobSpec) -> str:
    return f"Scheduled task {job.name}: no ingress"


def check_job(p: Problems, job: ScheduledJobSpec, path: str, reuses_service: bool, *, fields: bool = True) -> None:
    """Everything AWS would refuse in a job (its fields, its own task); `fields=False`: the checks
    across fields only, for the config layer, which checks each value (and the task) as it reads it."""
    if fields:
        check_description_name(p, p.at(path, "name"), job.name,
                               (task_group_description(job),) if isinstance(job.name, str) else ())
        check_fields(p, job, path)
        if job.task is not None and check_type(p, p.at(path, "task"), job.task, TaskSpec, optional=True):
            check_task(p, job.task, p.at(path, "task"))
        if isinstance(job.timezone, str) and job.timezone:
            check_timezone(p, p.at(path, "timezone"), job.timezone)
    check_capacity_provider(p, job.task, job.capacity_provider, path)
    if reuses_service == (job.task is not None):
        p.fail(path, "give exactly one of task (its own task definition) or service_task (a service's)")


@dataclass
class ServiceTaskReference:
    """A service's task definition and roles, for a job that reuses them."""

    task_definition_arn: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    task_role_arn: pulumi.Input[str]
    service_name: str | None = None
    """The service's name, for the schedule's description."""


@dataclass
class ScheduledTaskArgs:
    job: ScheduledJobSpec
    """What runs and when: checked when the component is created."""
    family: str
    """Task definition family and log group suffix (when the job has its own), unique in the account and region."""
    placement: Placement
    service_task: ServiceTaskReference | None = None
    """A service's task definition and roles, which the job runs with its own `command`; exactly
    one of this and `job.task`."""


def run_task_input(command: Sequence[str]) -> str:
    """The RunTask overrides Scheduler sends: replace the container's command, if one is given."""
    if not command:
        return json.dumps({})
    return json.dumps({"containerOverrides": [{"name": CONTAINER_NAME, "command": list(command)}]})


def _unversioned(task_definition_arn: str) -> str:
    """`...:task-definition/FAMILY:REVISION` -> `...:task-definition/FAMILY:*` (every revision)."""
    return task_definition_arn.rsplit(":", 1)[0] + ":*"


def _tasks_of_cluster(cluster_arn: str) -> str:
    """`...:cluster/NAME` -> `...:task/NAME/*`."""
    return cluster_arn.replace(":cluster/", ":task/", 1) + "/*"


class ScheduledTask(pulumi.ComponentResource):
    schedule_arn: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]
    scheduler_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ScheduledTaskArgs, opts: pulumi.ResourceOptions | None = None):
        job = args.job
        problems = Problems()
        check_job(problems, job, "job", args.service_task is not None)
        check_names(problems, name, args.family, web=False, own_task=args.service_task is None, job=True)
        raise_problems(f"ScheduledTask {name}", problems)
        super().__init__(f"{TOKEN_PREFIX}ScheduledTask", name, None, opts)
        placement = args.placement
        child = pulumi.ResourceOptions(parent=self)
        if args.service_task is not None:
            task_definition_arn = pulumi.Output.from_input(args.service_task.task_definition_arn)
            role_arns = [args.service_task.execution_role_arn, args.service_task.task_role_arn]
        else:
            defined = define_task(name, self, job.task, placement, args.family)
            task_definition_arn = defined.task_definition.arn
            role_arns = [defined.roles.execution_role_arn, defined.roles.task_role_arn]

        task_network = egress_only_security_group(name, self, placement.vpc_id, task_group_description(job))

        ctx = aws_context(self)
        scheduler_role = aws.iam.Role(
            f"{name}-scheduler",
            description=f"EventBridge Scheduler: runs the task {job.name}",
            assume_role_policy=service_trust_policy("scheduler.amazonaws.com", ctx),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-scheduler-run",
            role=scheduler_role.name,
            policy=policy_document([
                {"Sid": "RunTask", "Effect": "Allow", "Action": "ecs:RunTask",
                 "Resource": [task_definition_arn.apply(_unversioned)],
                 "Condition": {"ArnLike": {"ecs:cluster": placement.cluster_arn}}},
                # Managed and propagated tags are applied to the new task, as part of RunTask.
                {"Sid": "TagNewTasks", "Effect": "Allow", "Action": "ecs:TagResource",
                 "Resource": [pulumi.Output.from_input(placement.cluster_arn).apply(_tasks_of_cluster)],
                 "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}}},
                {"Sid": "PassTaskRoles", "Effect": "Allow", "Action": "iam:PassRole",
                 "Resource": role_arns,
                 "Condition": {"StringEquals": {"iam:PassedToService": ECS_TASKS_PRINCIPAL}}},
            ]),
            opts=child,
        )
        schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            description=f"Runs {job.name}" + (f" with the task definition of {reused}" if (
                reused := args.service_task and args.service_task.service_name) else ""),
            schedule_expression=job.schedule,
            schedule_expression_timezone=job.timezone,
            state="ENABLED" if job.enabled else "DISABLED",
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=placement.cluster_arn,
                role_arn=scheduler_role.arn,
                input=run_task_input(job.command),
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=3, maximum_event_age_in_seconds=3600),
                ecs_parameters=aws.scheduler.ScheduleTargetEcsParametersArgs(
                    task_definition_arn=task_definition_arn,
                    task_count=1,
                    capacity_provider_strategies=[
                        aws.scheduler.ScheduleTargetEcsParametersCapacityProviderStrategyArgs(
                            capacity_provider=job.capacity_provider, weight=1)],
                    network_configuration=aws.scheduler.ScheduleTargetEcsParametersNetworkConfigurationArgs(
                        subnets=placement.subnet_ids,
                        security_groups=[task_network.group.id],
                        assign_public_ip=placement.assign_public_ip,
                    ),
                    enable_ecs_managed_tags=True,
                    enable_execute_command=bool(job.task and job.task.enable_execute_command),
                    propagate_tags="TASK_DEFINITION",
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_role, *task_network.rules]),
        )
        self.schedule_arn = schedule.arn
        self.task_definition_arn = task_definition_arn
        self.scheduler_role_arn = scheduler_role.arn
        self.register_outputs({
            "scheduleArn": self.schedule_arn,
            "taskDefinitionArn": self.task_definition_arn,
            "schedulerRoleArn": self.scheduler_role_arn,
        })
