"""Rules for IAM roles and policies: scoped ECS trust, and no administrator grants."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity

from ._common import (
    IAM_GROUP_POLICY,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_USER_POLICY,
    Config,
    Props,
    ResourceRule,
    allows,
    as_list,
    mapping,
    parse_json_document,
    principals,
    statements,
)

ECS_TASKS = ("Service", "ecs-tasks.amazonaws.com")


def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    """Condition keys of a statement, lower-cased (IAM compares them case-insensitively)."""
    return {key.lower() for block in mapping(statement.get("Condition")).values()
            for key in mapping(block)}


def check_ecs_trust(props: Props, config: Config) -> Iterator[str]:
    trust = parse_json_document(props.get("assumeRolePolicy"), "assumeRolePolicy")
    allowed = [(index, s) for index, s in enumerate(statements(trust)) if allows(s)]
    if not any(ECS_TASKS in principals(s) for _, s in allowed):
        return  # not an ECS task role
    for index, statement in allowed:
        label = statement.get("Sid") or f"#{index}"
        if "NotPrincipal" in statement:
            yield f"statement {label} uses NotPrincipal, which trusts every principal it does not name."
        for kind, principal in principals(statement):
            if (kind, principal) != ECS_TASKS:
                who = "'*' (anyone)" if principal == "*" else f"{kind} principal '{principal}'"
                yield (f"statement {label} lets {who} assume this ECS task role; only "
                       "ecs-tasks.amazonaws.com should.")
        if config["requireSourceAccountCondition"] and "aws:sourceaccount" not in _condition_keys(statement):
            yield (f"statement {label} has no aws:SourceAccount condition, so ECS acting for another "
                   "account could assume the role (confused deputy).")


def _admin_grants(where: str, document: Any) -> Iterator[str]:
    for index, statement in enumerate(statements(document)):
        if (allows(statement) and "*" in as_list(statement.get("Action"))
                and "*" in as_list(statement.get("Resource"))):
            label = statement.get("Sid") or f"#{index}"
            yield f"{where} statement {label} allows Action '*' on Resource '*' (full administrator)."


# The AWS managed policy that is exactly Allow * on *, in any partition.
_ADMIN_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AdministratorAccess$")


def _admin_attachments(arns: Any) -> Iterator[str]:
    for arn in as_list(arns):
        if _ADMIN_POLICY_ARN.match(str(arn)):
            yield f"attaches {arn}, which allows every action on every resource."


def check_role_admin(props: Props, config: Config) -> Iterator[str]:
    """A role's inline policies and managed policy ARNs (its trust policy grants nothing)."""
    for index, inline in enumerate(as_list(props.get("inlinePolicies"))):
        policy = mapping(inline).get("policy")
        if policy:  # an empty inline block means "no inline policies"
            where = f"inlinePolicies[{index}] ('{mapping(inline).get('name')}')"
            yield from _admin_grants(where, parse_json_document(policy, where))
    yield from _admin_attachments(props.get("managedPolicyArns"))


def check_policy_admin(props: Props, config: Config) -> Iterator[str]:
    yield from _admin_grants("policy", parse_json_document(props.get("policy"), "policy"))


def check_attachment_admin(props: Props, config: Config) -> Iterator[str]:
    yield from _admin_attachments(props.get("policyArn"))


POLICIES = [
    ResourceRule(
        name="iam-ecs-trust-scoped",
        description="Roles trusted by ecs-tasks.amazonaws.com must trust no other principal.",
        checks={IAM_ROLE: check_ecs_trust},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=PolicyConfigSchema(properties={
            "requireSourceAccountCondition": {
                "type": "boolean",
                "default": True,
                "description": ("Also require an aws:SourceAccount condition on each trust "
                                "statement, against the confused-deputy problem."),
            },
        }),
        rationale=("A task role that other principals (or '*') can assume hands the app's "
                   "permissions to them; the aws:SourceAccount condition stops ECS acting for "
                   "another account from assuming it."),
        remediation_steps=("Trust only {Service: 'ecs-tasks.amazonaws.com'} with Action "
                           "sts:AssumeRole and Condition {StringEquals: {aws:SourceAccount: "
                           "ACCOUNT}, ArnLike: {aws:SourceArn: arn:aws:ecs:REGION:ACCOUNT:*}}; "
                           "give other principals their own roles."),
    ),
    ResourceRule(
        name="iam-no-wildcard-admin",
        description="IAM policies must not allow every action on every resource.",
        checks={
            IAM_ROLE: check_role_admin,
            IAM_ROLE_POLICY_ATTACHMENT: check_attachment_admin,
            **dict.fromkeys((IAM_POLICY, IAM_ROLE_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY),
                            check_policy_admin),
        },
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        security_hub_control="IAM.1",
        rationale=("Action '*' on Resource '*' turns any bug or leaked credential of the app into "
                   "full control of the account."),
        remediation_steps=("List the actions and resource ARNs the code actually uses; never attach "
                           "AdministratorAccess to a workload role."),
    ),
]
