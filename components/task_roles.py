"""TaskRoles: the two roles of a task, which first deploys most often mix up.

- The execution role is used by ECS itself, before the app starts: to pull the image and write
  logs, and to read the secrets it injects into the container.
- The task role is the app's own identity: what the code may call in AWS.

They are always two roles, so granting the app a permission never also hands it to ECS's
plumbing, and the secrets the execution role reads are never readable by the app's code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components._aws import TOKEN_PREFIX, aws_context, policy_document, service_trust_policy

ECS_TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"
# The execution role's trust exactly as AWS documents it (Amazon ECS task execution IAM role,
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html).
# AWS documents the confused-deputy conditions (aws:SourceAccount, aws:SourceArn) for the task
# role only, and terraform-aws-modules/ecs follows that. The execution role is assumed by ECS's
# own agent to pull the image and read secrets, before the task runs; a condition that request
# does not satisfy would stop every task from starting, so it keeps the documented trust.
EXECUTION_ROLE_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": ECS_TASKS_PRINCIPAL},
        "Action": "sts:AssumeRole",
    }],
})
EXECUTION_POLICY_ARN_SUFFIX = "iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
# What the SSM agent inside the task needs for `aws ecs execute-command`.
ECS_EXEC_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


@dataclass
class TaskRolesArgs:
    secret_arns: Sequence[str] = ()
    """Secrets Manager secret or SSM parameter ARNs the container's `secrets` reference."""
    task_role_statements: Sequence[Mapping[str, Any]] = field(default_factory=list)
    """IAM statements the app needs; nothing else is granted to the task role."""
    enable_execute_command: bool = False
    """Grant the SSM channels ECS Exec needs."""


def _secret_resources(arn: str) -> list[str]:
    """The IAM resources for a `valueFrom`, without the `:json-key:stage:version` suffix.

    A partial secret ARN (without the 6 random characters Secrets Manager appends to the name)
    does not match the secret's real ARN in IAM; it needs the `-??????` wildcard AWS documents.
    A name ending like a suffix (`db-backup`) may be either, so it gets both forms.
    """
    parts = arn.split(":")
    if parts[2] != "secretsmanager":
        return [arn]
    secret = ":".join(parts[:7])
    if re.search(r"-[A-Za-z0-9]{6}$", parts[6]):
        return [secret, f"{secret}-??????"]
    return [f"{secret}-??????"]


def secret_read_statements(secret_arns: Sequence[str]) -> list[dict]:
    """Least-privilege read access to exactly these secrets and parameters."""
    resources = sorted({resource for arn in secret_arns for resource in _secret_resources(arn)})
    statements = []
    secrets_manager = [r for r in resources if r.split(":")[2] == "secretsmanager"]
    parameters = [r for r in resources if r.split(":")[2] == "ssm"]
    if secrets_manager:
        statements.append({"Sid": "ReadSecrets", "Effect": "Allow",
                           "Action": ["secretsmanager:GetSecretValue"], "Resource": secrets_manager})
    if parameters:
        statements.append({"Sid": "ReadParameters", "Effect": "Allow",
                           "Action": ["ssm:GetParameters"], "Resource": parameters})
    return statements


class TaskRoles(pulumi.ComponentResource):
    execution_role_arn: pulumi.Output[str]
    """Used by ECS to pull the image, write logs and inject secrets."""
    execution_role_name: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]
    """The app's identity inside the container."""
    task_role_name: pulumi.Output[str]

    def __init__(self, name: str, args: TaskRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{TOKEN_PREFIX}TaskRoles", name, None, opts)
        ctx = aws_context(self)
        child = pulumi.ResourceOptions(parent=self)

        execution = aws.iam.Role(
            f"{name}-execution",
            description="ECS task execution role: pulls the image, writes logs, injects secrets",
            assume_role_policy=EXECUTION_ROLE_TRUST,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-execution-managed",
            role=execution.name,
            policy_arn=pulumi.Output.concat("arn:", ctx.partition, ":", EXECUTION_POLICY_ARN_SUFFIX),
            opts=child,
        )
        read_secrets = secret_read_statements(args.secret_arns)
        if read_secrets:
            aws.iam.RolePolicy(
                f"{name}-execution-secrets",
                role=execution.name,
                policy=policy_document(read_secrets),
                opts=child,
            )

        task = aws.iam.Role(
            f"{name}-task",
            description="ECS task role: the application's own AWS permissions",
            # The app's identity: only ECS acting for this account's tasks may assume it
            # (aws:SourceAccount and aws:SourceArn, as AWS documents for task roles).
            assume_role_policy=service_trust_policy(ECS_TASKS_PRINCIPAL, ctx, source_arn_service="ecs"),
            opts=child,
        )
        if args.task_role_statements:
            aws.iam.RolePolicy(
                f"{name}-task-app",
                role=task.name,
                policy=policy_document(list(args.task_role_statements)),
                opts=child,
            )
        if args.enable_execute_command:
            aws.iam.RolePolicy(
                f"{name}-task-exec",
                role=task.name,
                policy=policy_document([{"Sid": "EcsExec", "Effect": "Allow",
                                         "Action": ECS_EXEC_ACTIONS, "Resource": "*"}]),
                opts=child,
            )

        self.execution_role_arn = execution.arn
        self.execution_role_name = execution.name
        self.task_role_arn = task.arn
        self.task_role_name = task.name
        self.register_outputs({
            "executionRoleArn": self.execution_role_arn,
            "taskRoleArn": self.task_role_arn,
        })
