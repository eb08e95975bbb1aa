"""A task definition and its log group, shared by services and scheduled tasks."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.image import ImageSource, check_image_source, container_image
from components.task_roles import TaskRoles, TaskRolesArgs, check_statements
from components.validation import (
    ARCHITECTURES, FARGATE_SIZES, LOG_RETENTION_DAYS, Problems, check_fields, constrained, env_name_error,
    check_type, is_unknown, items, join, known, refuse_unknown, secret_arn_error, writable_path_error,
)

CONTAINER_NAME = "app"


@dataclass(frozen=True)
class ContainerHealthCheck:
    """A container health check: ECS replaces a task whose container reports unhealthy."""

    command: tuple[str, ...] = constrained(kind="strings", min_items=1, known_because="it goes into the container definition")
    """`("CMD", ...)` (exec form) or `("CMD-SHELL", "...")` (shell form)."""
    interval_seconds: int = constrained(15, kind="int", low=5, high=300,
                                      known_because="it goes into the container definition")
    """Time between two checks."""
    timeout_seconds: int = constrained(5, kind="int", low=2, high=60,
                                      known_because="it goes into the container definition")
    """How long a check may take."""
    retries: int = constrained(3, kind="int", low=1, high=10,
                                      known_because="it goes into the container definition")
    """Failed checks in a row that make the container unhealthy."""
    start_period_seconds: int = constrained(10, kind="int", low=0, high=300,
                                      known_because="it goes into the container definition")
    """Failures in this time after start do not count."""


@dataclass(frozen=True)
class TaskSpec:
    """What a task definition needs: shared by services and scheduled tasks."""

    source: ImageSource
    """Where the image comes from."""
    cpu: int = constrained(256, kind="int", low=256, high=16384, allowed=tuple(FARGATE_SIZES),
                           known_because="it sizes the task definition")
    """CPU units of the task (1024 is one vCPU): a Fargate size."""
    memory: int = constrained(512, kind="int", low=512, high=122880, known_because="it sizes the task definition")
    """Memory of the task in MiB: one of the Fargate sizes for the cpu (`FARGATE_SIZES`)."""
    architecture: pulumi.Input[Literal["X86_64", "ARM64"]] = constrained("X86_64", kind="string", choices=ARCHITECTURES,
                                                                        deploy_time=True)
    """The CPU architecture the image is built for (FARGATE_SPOT runs X86_64 only). May be a
    `pulumi.Output` unless the source is a `build` (it picks the platform the image is built for)."""
    command: tuple[str, ...] = constrained((), kind="strings", known_because="it goes into the container definition")
    """The container's command; empty: the image's."""
    environment: Mapping[str, str] = constrained(kind="map", default_factory=dict, check_key=env_name_error,
                                                   known_because="it goes into the container definition")
    """Environment variables (a web service also gets `PORT` unless it is set)."""
    secrets: Mapping[str, pulumi.Input[str]] = constrained(kind="map", default_factory=dict, check_key=env_name_error,
                                                           check=secret_arn_error, deploy_time_items=True)
    """Environment variables read from Secrets Manager or SSM Parameter Store ARNs when a task starts;
    the execution role may read exactly these. An ARN may be a `pulumi.Output` (a secret's `arn`)."""
    task_role_statements: tuple[Mapping[str, Any], ...] = ()
    """IAM statements of the task role (`Effect`, one of `Action`/`NotAction`, one of
    `Resource`/`NotResource`, optional `Sid` and `Condition`); nothing else is granted to it."""
    log_retention_days: int = constrained(30, kind="int", low=1, high=3653, allowed=LOG_RETENTION_DAYS,
                                          deploy_time=True)
    """How long CloudWatch Logs keeps the container's logs."""
    stop_timeout_seconds: int = constrained(30, kind="int", low=2, high=120, known_because="it goes into the container definition")
    """Time between SIGTERM and SIGKILL when a task stops."""
    readonly_root_filesystem: bool = constrained(True, kind="bool", known_because="it goes into the container definition")
    """The container cannot write to its root filesystem (`writable_paths` are volumes)."""
    writable_paths: tuple[str, ...] = constrained(("/tmp",), kind="strings", check=writable_path_error,
                                                  known_because="each path becomes a task volume")
    """Absolute paths, each a task-scoped volume."""
    health_check: ContainerHealthCheck | None = None
    enable_execute_command: bool = constrained(False, kind="bool", known_because="it decides which permissions "
                                                                                "the task role gets")
    """ECS Exec: grants the task role the SSM channels; needs `readonly_root_filesystem=False`."""


def volume_name(path: str) -> str:
    """The task volume backing a writable path: `/var/cache` -> `scratch-var-cache`."""
    return "scratch" + re.sub(r"[^A-Za-z0-9]+", "-", path).rstrip("-")


def check_task(p: Problems, task: TaskSpec, path: str, *, fields: bool = True) -> None:
    """Everything AWS would refuse in a task; `fields=False`: the checks across fields only (the
    config layer has checked each value as it read it)."""
    if fields:
        if check_type(p, p.at(path, "source"), task.source, ImageSource):
            check_image_source(p, task.source, path)
        if is_unknown(task.architecture) and isinstance(task.source, ImageSource) and task.source.build is not None:
            refuse_unknown(p, p.at(path, "architecture"), "with a build it picks the platform the image is built for")
        check_fields(p, task, path)
        if task.health_check is not None and check_type(p, p.at(path, "health_check"), task.health_check,
                                                        ContainerHealthCheck, optional=True):
            check_fields(p, task.health_check, p.at(path, "health_check"))
        check_statements(p, task.task_role_statements, p.at(path, "task_role_statements"))
    cpu, memory = task.cpu, task.memory
    if known(cpu, memory) and cpu in FARGATE_SIZES and memory is not None and memory not in FARGATE_SIZES[cpu]:
        valid = ", ".join(map(str, FARGATE_SIZES[cpu]))
        p.fail(p.at(path, "memory"), f"{p.show(p.at(path, 'memory'), memory)} is not a valid Fargate memory size "
                                     f"for cpu {p.show(p.at(path, 'cpu'), cpu)}; valid: {valid}")
    if isinstance(task.environment, Mapping) and isinstance(task.secrets, Mapping):
        for name in sorted(set(task.environment) & set(task.secrets)):
            p.fail(f"{p.at(path, 'secrets')}.{name}", "also set in environment; a variable comes from one or the other")
    if task.enable_execute_command is True and task.readonly_root_filesystem is True:
        # The SSM agent ECS Exec injects writes to the root filesystem; it cannot start otherwise.
        p.fail(p.at(path, "enable_execute_command"),
               f"ECS Exec needs a writable root filesystem: also set {p.assign('readonly_root_filesystem', False)} "
               "(an explicit loosening)")
    seen: dict[str, str] = {}
    for index, item in enumerate(items(task.writable_paths)):
        if not isinstance(item, str):
            continue
        name = volume_name(item)
        if name in seen:
            at = f"{p.at(path, 'writable_paths')}[{index}]"
            p.fail(at, f"{p.show(at, item)} maps to the same volume as {p.show(at, seen[name])}")
        seen[name] = item
    check = task.health_check
    if isinstance(check, ContainerHealthCheck) and check.command and not isinstance(check.command, str) \
            and check.command[0] not in ("CMD", "CMD-SHELL"):
        p.fail(join(p.at(path, "health_check"), "command"),
               "must start with CMD (exec form) or CMD-SHELL (shell form), "
               f"e.g. {p.literal(['CMD', 'python', '/app/healthcheck.py'])}")


def check_capacity_provider(p: Problems, task: TaskSpec | None, capacity_provider: str | None, path: str) -> None:
    """Fargate Spot runs only X86_64 tasks: reported at `<path>.capacity_provider`, the field of the
    service or job that runs the task (`path`)."""
    if isinstance(task, TaskSpec) and task.architecture == "ARM64" and capacity_provider == "FARGATE_SPOT":
        p.fail(p.at(path, "capacity_provider"),
               f"FARGATE_SPOT does not run ARM64 tasks; use FARGATE or {p.key('architecture')} X86_64")


@dataclass
class Placement:
    """Where a task runs and where its image lives: shared by services and scheduled tasks."""

    cluster_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    assign_public_ip: bool
    """True only for tasks in public subnets (no NAT gateway)."""
    repository_url: pulumi.Input[str]
    """The ECR repository for `ImageSource.image_tag` and `ImageSource.build` images."""
    registry_id: pulumi.Input[str]
    region: pulumi.Input[str]


@dataclass
class TaskDefinitionResources:
    roles: TaskRoles
    image: pulumi.Output[str]
    log_group: aws.cloudwatch.LogGroup
    task_definition: aws.ecs.TaskDefinition


def container_definition(task: TaskSpec, image: str, log_group: str, region: str,
                         stream_prefix: str, port: int | None, secrets: Mapping[str, str] | None = None) -> dict:
    """One container, in RegisterTaskDefinition's shape; `secrets`: the task's with their ARNs
    resolved (default: the task's own, all known)."""
    secrets = task.secrets if secrets is None else secrets
    environment = dict(task.environment)
    if port is not None:
        environment.setdefault("PORT", str(port))
    definition: dict = {
        "name": CONTAINER_NAME,
        "image": image,
        "essential": True,
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": stream_prefix,
                # A slow log pipe must not block the app; 25m of buffer before dropping lines.
                "mode": "non-blocking",
                "max-buffer-size": "25m",
            },
        },
        "stopTimeout": task.stop_timeout_seconds,
        "readonlyRootFilesystem": task.readonly_root_filesystem,
        "mountPoints": [{"sourceVolume": volume_name(p), "containerPath": p, "readOnly": False}
                        for p in task.writable_paths],
        # An init process reaps zombies and forwards signals; ECS Exec needs it too.
        "linuxParameters": {"initProcessEnabled": True},
    }
    if port is not None:
        definition["portMappings"] = [{"containerPort": port, "protocol": "tcp", "name": "http",
                                       "appProtocol": "http"}]
    if task.command:
        definition["command"] = list(task.command)
    if task.health_check:
        check = task.health_check
        definition["healthCheck"] = {
            "command": list(check.command),
            "interval": check.interval_seconds,
            "timeout": check.timeout_seconds,
            "retries": check.retries,
            "startPeriod": check.start_period_seconds,
        }
    return definition


def define_task(name: str, parent: pulumi.Resource, task: TaskSpec, placement: Placement,
                family: str, port: int | None = None) -> TaskDefinitionResources:
    """The task's two roles, its image, a log group `/ecs/FAMILY` and the task definition FAMILY."""
    child = pulumi.ResourceOptions(parent=parent)
    roles = TaskRoles(f"{name}-roles", TaskRolesArgs(
        secret_arns=list(task.secrets.values()),
        task_role_statements=list(task.task_role_statements),
        enable_execute_command=task.enable_execute_command,
    ), child)
    image = container_image(name, task.source, placement.repository_url, placement.registry_id,
                            task.architecture, parent)
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=f"/ecs/{family}",
        retention_in_days=task.log_retention_days,
        opts=child,
    )
    secret_names = list(task.secrets)
    # Secret ARNs may be Outputs: resolved with the rest, in the order of their names.
    containers = pulumi.Output.all(image, log_group.name, placement.region, *task.secrets.values()).apply(
        lambda values: json.dumps([container_definition(task, values[0], values[1], values[2], family, port,
                                                        dict(zip(secret_names, values[3:], strict=True)))]))
    task_definition = aws.ecs.TaskDefinition(
        f"{name}-task",
        family=family,
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        cpu=str(task.cpu),
        memory=str(task.memory),
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX", cpu_architecture=task.architecture),
        execution_role_arn=roles.execution_role_arn,
        task_role_arn=roles.task_role_arn,
        container_definitions=containers,
        volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=volume_name(p)) for p in task.writable_paths],
        # Tasks start only once the roles can pull, log and read secrets, not just exist.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[roles]),
    )
    return TaskDefinitionResources(roles=roles, image=image, log_group=log_group,
                                   task_definition=task_definition)


@dataclass
class TaskSecurityGroup:
    """A task security group and the rules that give it its traffic."""

    group: aws.ec2.SecurityGroup
    rules: list[pulumi.Resource]
    """What a service or schedule that starts tasks must wait for: the provider removes a new
    group's default allow-all egress, so a task started before the egress rule exists cannot
    pull its image or write logs."""


# EC2 accepts only a-zA-Z0-9, space and ._-:/()#,@[]+=&;{}!$* in security group (rule)
# descriptions (no apostrophe); the pack's aws-api-constraints rule checks every description.
TASK_EGRESS_DESCRIPTION = "Outbound to ECR, CloudWatch Logs, Secrets Manager and the AWS APIs of the task"


def egress_only_security_group(name: str, parent: pulumi.Resource, vpc_id: pulumi.Input[str],
                               description: str) -> TaskSecurityGroup:
    """A task security group with no ingress and all outbound traffic (ECR, logs, AWS APIs)."""
    child = pulumi.ResourceOptions(parent=parent)
    group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=vpc_id, description=description, opts=child)
    egress = aws.vpc.SecurityGroupEgressRule(
        f"{name}-egress", security_group_id=group.id, ip_protocol="-1", cidr_ipv4="0.0.0.0/0",
        description=TASK_EGRESS_DESCRIPTION, opts=child)
    return TaskSecurityGroup(group=group, rules=[egress])
