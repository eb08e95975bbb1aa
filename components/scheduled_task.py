"""ScheduledTask: a one-off job run on a schedule by EventBridge Scheduler, not a service.

It either reuses a service's task definition (same image, same roles) with its own command, or
brings its own image and gets its own task definition and roles.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._aws import TOKEN_PREFIX, aws_context, policy_document, service_trust_policy
from components.task_definition import CONTAINER_NAME, Placement, define_task, egress_only_security_group
from components.task_roles import ECS_TASKS_PRINCIPAL
from settings import ScheduledTaskSettings


@dataclass
class ServiceTaskReference:
    """A service's task definition and roles, for a job that reuses them."""

    task_definition_arn: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    task_role_arn: pulumi.Input[str]


@dataclass
class ScheduledTaskArgs:
    job: ScheduledTaskSettings
    """The job's validated settings."""
    family: str
    """Task definition family (when the job has its own): PROJECT-STACK-JOB."""
    placement: Placement
    service_task: ServiceTaskReference | None = None
    """Set when `job.service` names a service."""


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
        super().__init__(f"{TOKEN_PREFIX}ScheduledTask", name, None, opts)
        job = args.job
        placement = args.placement
        child = pulumi.ResourceOptions(parent=self)
        if args.service_task is not None:
            task_definition_arn = pulumi.Output.from_input(args.service_task.task_definition_arn)
            role_arns = [args.service_task.execution_role_arn, args.service_task.task_role_arn]
        else:
            defined = define_task(name, self, job.task, placement, args.family)
            task_definition_arn = defined.task_definition.arn
            role_arns = [defined.roles.execution_role_arn, defined.roles.task_role_arn]

        task_network = egress_only_security_group(name, self, placement.vpc_id,
                                                  f"Scheduled task {job.name}: no ingress")

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
            description=f"Runs {job.name}" + (f" with the task definition of {job.service}" if job.service else ""),
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
