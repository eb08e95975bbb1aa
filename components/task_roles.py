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
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components._aws import TOKEN_PREFIX, aws_context, policy_document, service_trust_policy
from components.validation import (
    Invalid, Problems, check_fields, constrained, is_unknown, raise_problems, secret_arn_error,
    unknown_keys,
)

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


STATEMENT_KEYS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition")
_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+$")
_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9*-]+:[a-z0-9*-]*:(?:[0-9]{12}|\*)?:.+$|^\*$")


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def check_statement(p: Problems, body: Mapping[str, Any], at: str) -> None:
    """What IAM would refuse in one statement of the task role's policy (its keys are checked by the caller)."""
    if "Sid" in body and not re.match(r"^[A-Za-z0-9]*$", str(body["Sid"])):
        p.fail(f"{at}.Sid", "IAM statement ids are letters and digits only")
    if body.get("Effect") not in ("Allow", "Deny"):
        p.fail(f"{at}.Effect", "expected Allow or Deny")
    if ("Action" in body) == ("NotAction" in body):
        p.fail(at, "set exactly one of Action or NotAction")
    if ("Resource" in body) == ("NotResource" in body):
        p.fail(at, "set exactly one of Resource or NotResource (e.g. an ARN, or \"*\")")
    for key in ("Action", "NotAction"):
        for action in _as_list(body.get(key)):
            if is_unknown(action):
                continue
            if not isinstance(action, str) or not (action == "*" or _ACTION.match(action)):
                p.reject(f"{at}.{key}", action, Invalid("is not an IAM action like s3:GetObject"))
    for key in ("Resource", "NotResource"):
        for resource in _as_list(body.get(key)):
            if is_unknown(resource):
                continue
            if not isinstance(resource, str) or not _ARN.match(resource):
                p.reject(f"{at}.{key}", resource, Invalid("is not an ARN (arn:aws:SERVICE:REGION:ACCOUNT:...) or \"*\""))


def check_statements(p: Problems, statements: Any, where: str) -> None:
    """Every statement of a task role's policy: a mapping of IAM's statement keys, each as IAM takes it."""
    if is_unknown(statements):
        return
    if isinstance(statements, (str, Mapping)) or not isinstance(statements, (list, tuple)):
        p.fail(where, f"expected a list of IAM policy statements, got {p.show(where, statements)}")
        return
    for index, statement in enumerate(statements):
        at = f"{where}[{index}]"
        if is_unknown(statement):
            continue
        if not isinstance(statement, Mapping):
            p.fail(at, f"expected a mapping, got {p.show(at, statement)}")
            continue
        unknown_keys(p, statement, at, STATEMENT_KEYS)
        check_statement(p, statement, at)


@dataclass(frozen=True)
class TaskRolesArgs:
    secret_arns: Sequence[pulumi.Input[str]] = constrained((), kind="strings", check=secret_arn_error,
                                                           deploy_time_items=True)
    """Secrets Manager secret or SSM parameter ARNs the container's `secrets` reference; an ARN may be
    a `pulumi.Output` (a secret's `arn`): the policy is rendered once it is known."""
    task_role_statements: Sequence[Mapping[str, Any]] = ()
    """IAM statements the app needs (`Effect`, one of `Action`/`NotAction`, one of `Resource`/`NotResource`,
    optional `Sid` and `Condition`); nothing else is granted to the task role."""
    enable_execute_command: bool = constrained(False, kind="bool", known_because="it decides which permissions "
                                                                                "the task role gets")
    """Grant the SSM channels ECS Exec needs."""


def check_task_roles(p: Problems, args: TaskRolesArgs, path: str) -> None:
    """Everything IAM would refuse in the roles' Args."""
    check_fields(p, args, path)
    check_statements(p, args.task_role_statements, p.at(path, "task_role_statements"))


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
        problems = Problems()
        check_task_roles(problems, args, "")
        raise_problems(f"TaskRoles {name}", problems)
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
        # Whether the policy exists depends only on how many ARNs there are; the ARNs themselves
        # may be Outputs (a secret created in the same program).
        if args.secret_arns:
            aws.iam.RolePolicy(
                f"{name}-execution-secrets",
                role=execution.name,
                policy=pulumi.Output.all(*args.secret_arns).apply(
                    lambda arns: policy_document(secret_read_statements(arns))),
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
