"""A task definition and its log group, shared by services and scheduled tasks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.image import container_image
from components.task_roles import TaskRoles, TaskRolesArgs
from settings import TaskSettings, volume_name

CONTAINER_NAME = "app"


@dataclass
class Placement:
    """Where a task runs and where its image lives: shared by services and scheduled tasks."""

    cluster_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    assign_public_ip: bool
    """True only for tasks in public subnets (no NAT gateway)."""
    repository_url: pulumi.Input[str]
    """The stack's ECR repository, for `imageTag` and `build` images."""
    registry_id: pulumi.Input[str]
    region: pulumi.Input[str]


@dataclass
class TaskDefinitionResources:
    roles: TaskRoles
    image: pulumi.Output[str]
    log_group: aws.cloudwatch.LogGroup
    task_definition: aws.ecs.TaskDefinition


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


def define_task(name: str, parent: pulumi.Resource, task: TaskSettings, placement: Placement,
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
    containers = pulumi.Output.all(image, log_group.name, placement.region).apply(
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
