"""A task definition and its log group, shared by services and scheduled tasks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.task_roles import TaskRoles
from settings import TaskSettings

CONTAINER_NAME = "app"


@dataclass
class TaskDefinitionResources:
    log_group: aws.cloudwatch.LogGroup
    task_definition: aws.ecs.TaskDefinition


def _volume_name(path: str) -> str:
    return "scratch" + re.sub(r"[^A-Za-z0-9]+", "-", path).rstrip("-")


def container_definition(task: TaskSettings, image: str, log_group: str, region: str,
                         stream_prefix: str, port: int | None) -> dict:
    """One container, in RegisterTaskDefinition's shape."""
    environment = dict(task.environment)
    if port is not None:
        environment.setdefault("PORT", str(port))
    definition: dict = {
        "name": CONTAINER_NAME,
        "image": image,
        "essential": True,
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(task.secrets.items())],
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
        "mountPoints": [{"sourceVolume": _volume_name(p), "containerPath": p, "readOnly": False}
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


def define_task(name: str, parent: pulumi.Resource, task: TaskSettings, image: pulumi.Input[str],
                roles: TaskRoles, region: pulumi.Input[str], family: str,
                port: int | None = None) -> TaskDefinitionResources:
    """A log group `/ecs/FAMILY` and the task definition FAMILY, children of `parent`."""
    child = pulumi.ResourceOptions(parent=parent)
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=f"/ecs/{family}",
        retention_in_days=task.log_retention_days,
        opts=child,
    )
    containers = pulumi.Output.all(image, log_group.name, region).apply(
        lambda values: json.dumps([container_definition(task, values[0], values[1], values[2],
                                                        family, port)]))
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
        volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=_volume_name(p)) for p in task.writable_paths],
        opts=child,
    )
    return TaskDefinitionResources(log_group=log_group, task_definition=task_definition)
