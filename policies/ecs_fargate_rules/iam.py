"""Rules for IAM roles and policies: scoped ECS trust, and no administrator grants."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, PolicyResource, Severity
from pulumi_policy.proxy import UnknownValueError

from ._common import (
    IAM_GROUP_POLICY,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_USER_POLICY,
    TASK_DEFINITION,
    Config,
    MalformedDocument,
    Props,
    ResourceRule,
    StackRule,
    allows,
    as_list,
    mapping,
    of_type,
    parse_json_document,
    principals,
    statements,
)

ECS_TASKS = ("Service", "ecs-tasks.amazonaws.com")
# Condition keys that stop the confused deputy: either ties the trust to this account's ECS.
_SCOPE_KEYS = {"aws:sourceaccount", "aws:sourcearn"}
_EXECUTION_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy$")


def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    """Condition keys of a statement, lower-cased (IAM compares them case-insensitively)."""
    return {key.lower() for block in mapping(statement.get("Condition")).values()
            for key in mapping(block)}


def _known(read: Callable[[], Any]) -> Any:
    """A property value, or None while it is unknown (a preview before the resource exists)."""
    try:
        return read()
    except UnknownValueError:
        return None


class _RoleUses:
    """How the stack's task definitions use each role: as task role, execution role, or both.

    A task definition names a role by ARN (or, for ECS, by name); while those are unknown in a
    first preview, its property dependencies still say which role each property comes from.
    """

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        roles = of_type(resources, IAM_ROLE)
        by_reference: dict[str, str] = {}
        for role in roles:
            for key in ("arn", "name", "id"):
                value = _known(lambda role=role, key=key: role.props.get(key))
                if value:
                    by_reference[str(value)] = role.urn
        self.uses: dict[str, set[str]] = {role.urn: set() for role in roles}
        for task_definition in of_type(resources, TASK_DEFINITION):
            for key, use in (("taskRoleArn", "task"), ("executionRoleArn", "execution")):
                value = _known(lambda t=task_definition, key=key: t.props.get(key))
                if value:
                    # An ARN with a path (role/team/name) is also matched by its last part.
                    urn = by_reference.get(str(value)) or by_reference.get(str(value).rpartition("/")[2])
                    if urn:
                        self.uses[urn].add(use)
                for dependency in (getattr(task_definition, "property_dependencies", None) or {}).get(key, []):
                    if dependency.resource_type == IAM_ROLE:
                        self.uses.setdefault(dependency.urn, set()).add(use)
        # Roles the stack's task definitions do not name: a role carrying AWS's execution role
        # policy is an execution role; any other may become a task role elsewhere.
        self.execution_policy: set[str] = set()
        for role in roles:
            if any(_EXECUTION_POLICY_ARN.match(str(arn))
                   for arn in as_list(_known(lambda role=role: role.props.get("managedPolicyArns")))):
                self.execution_policy.add(role.urn)
        for attachment in of_type(resources, IAM_ROLE_POLICY_ATTACHMENT):
            if _EXECUTION_POLICY_ARN.match(str(_known(lambda a=attachment: a.props.get("policyArn")) or "")):
                urn = by_reference.get(str(_known(lambda a=attachment: a.props.get("role")) or ""))
                if urn:
                    self.execution_policy.add(urn)

    def needs_scope(self, urn: str) -> bool:
        uses = self.uses.get(urn, set())
        if uses:
            return "task" in uses
        return urn not in self.execution_policy


def _trust_violations(trust: Any, needs_scope: bool) -> Iterator[str]:
    allowed = [(index, s) for index, s in enumerate(statements(trust)) if allows(s)]
    if not any(ECS_TASKS in principals(s) for _, s in allowed):
        return  # not trusted by ECS tasks
    for index, statement in allowed:
        label = statement.get("Sid") or f"#{index}"
        if "NotPrincipal" in statement:
            yield f"statement {label} uses NotPrincipal, which trusts every principal it does not name."
        for kind, principal in principals(statement):
            if (kind, principal) != ECS_TASKS:
                who = "'*' (anyone)" if principal == "*" else f"{kind} principal '{principal}'"
                yield (f"statement {label} lets {who} assume this ECS task role; only "
                       "ecs-tasks.amazonaws.com should.")
        if needs_scope and not _condition_keys(statement) & _SCOPE_KEYS:
            yield (f"statement {label} of this task role has neither an aws:SourceAccount nor an "
                   "aws:SourceArn condition, so ECS acting for another account could assume it "
                   "(confused deputy).")


def check_ecs_trust(resources: Sequence[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    uses = _RoleUses(resources)
    unknown: UnknownValueError | None = None
    for role in of_type(resources, IAM_ROLE):
        try:
            trust = parse_json_document(role.props.get("assumeRolePolicy"), "assumeRolePolicy")
        except UnknownValueError as error:
            unknown = unknown or error
            continue
        except MalformedDocument as error:
            yield f"role {role.name}: {error}", role.urn
            continue
        needs_scope = config["requireScopeCondition"] and uses.needs_scope(role.urn)
        for message in _trust_violations(trust, needs_scope):
            yield f"role {role.name}: {message}", role.urn
    if unknown is not None:
        # What could be judged is reported; a role whose trust is not known yet is not a pass.
        raise unknown


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
    StackRule(
        name="iam-ecs-trust-scoped",
        description=("Roles trusted by ecs-tasks.amazonaws.com must trust no other principal, and "
                     "task roles must be scoped to the account."),
        check=check_ecs_trust,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=PolicyConfigSchema(properties={
            "requireScopeCondition": {
                "type": "boolean",
                "default": True,
                "description": ("Also require an aws:SourceAccount or aws:SourceArn condition on "
                                "each trust statement of a role used as a task role, against the "
                                "confused-deputy problem. Execution roles keep the trust AWS "
                                "documents for them, without conditions."),
            },
        }),
        rationale=("A task role that other principals (or '*') can assume hands the app's "
                   "permissions to them; an aws:SourceAccount or aws:SourceArn condition stops ECS "
                   "acting for another account from assuming it. The execution role keeps AWS's "
                   "documented trust, since ECS may not supply those keys when it pulls the image."),
        remediation_steps=("Trust only {Service: 'ecs-tasks.amazonaws.com'} with Action "
                           "sts:AssumeRole; on task roles add Condition {StringEquals: "
                           "{aws:SourceAccount: ACCOUNT}, ArnLike: {aws:SourceArn: "
                           "arn:aws:ecs:REGION:ACCOUNT:*}}; give other principals their own roles."),
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
