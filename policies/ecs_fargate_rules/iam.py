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
_EXECUTION_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy$")
_ACCOUNT = re.compile(r"^\d{12}$")
# Operators under which a condition key must be present and match: without IfExists (true when
# the key is absent) or ForAllValues (true for an empty set), and not a negation.
_MATCHING_OPERATORS = {"stringequals", "stringlike", "arnequals", "arnlike"}
_EXECUTION_POLICY_ATTACHMENTS = {
    # type: (property naming the role(s), property naming the policy ARN(s))
    IAM_ROLE_POLICY_ATTACHMENT: ("role", "policyArn"),
    "aws:iam/policyAttachment:PolicyAttachment": ("roles", "policyArn"),
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": ("roleName", "policyArns"),
}


def _known(read: Callable[[], Any]) -> Any:
    """A property value, or None while it is unknown (a preview before the resource exists)."""
    try:
        return read()
    except UnknownValueError:
        return None


def _known_items(read: Callable[[], Any]) -> list[Any]:
    """The known items of a property that may be one value or a list, skipping unknown ones."""
    value = _known(read)
    if value is None or isinstance(value, (str, Mapping)) or not isinstance(value, Sequence):
        return [] if value is None else [value]
    return [item for index in range(len(value))
            if (item := _known(lambda index=index: value[index])) is not None]


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" and _ACCOUNT.match(parts[4]) else None


class _RoleUses:
    """How the stack's task definitions use each role: as task role, execution role, or both.

    A task definition names a role by ARN (or, for ECS, by name); while those are unknown in a
    first preview, its property dependencies still say which role each property comes from.
    """

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        roles = of_type(resources, IAM_ROLE)
        by_arn: dict[str, str] = {}
        by_name: dict[str, str] = {}
        self.account: dict[str, str] = {}
        for role in roles:
            arn = _known(lambda role=role: role.props.get("arn"))
            if arn:
                by_arn[str(arn)] = role.urn
                if _arn_account(str(arn)):
                    self.account[role.urn] = _arn_account(str(arn))
            for key in ("name", "id"):
                name = _known(lambda role=role, key=key: role.props.get(key))
                if name:
                    by_name[str(name)] = role.urn

        def role_named(reference: str) -> str | None:
            if not reference.startswith("arn:"):
                return by_name.get(reference)
            if reference in by_arn:
                return by_arn[reference]
            # An ARN of a role whose own ARN is not known: the same name in the same account.
            urn = by_name.get(reference.rpartition("/")[2])
            return urn if urn and self.account.get(urn, _arn_account(reference)) == _arn_account(reference) else None

        self.uses: dict[str, set[str]] = {role.urn: set() for role in roles}
        for task_definition in of_type(resources, TASK_DEFINITION):
            for key, use in (("taskRoleArn", "task"), ("executionRoleArn", "execution")):
                value = _known(lambda t=task_definition, key=key: t.props.get(key))
                urn = role_named(str(value)) if value else None
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
                   for arn in _known_items(lambda role=role: role.props.get("managedPolicyArns"))):
                self.execution_policy.add(role.urn)
        for attachment_type, (role_key, policy_key) in _EXECUTION_POLICY_ATTACHMENTS.items():
            for attachment in of_type(resources, attachment_type):
                if any(_EXECUTION_POLICY_ARN.match(str(arn))
                       for arn in _known_items(lambda a=attachment, k=policy_key: a.props.get(k))):
                    for reference in _known_items(lambda a=attachment, k=role_key: a.props.get(k)):
                        if urn := role_named(str(reference)):
                            self.execution_policy.add(urn)

    def needs_scope(self, urn: str) -> bool:
        uses = self.uses.get(urn, set())
        if uses:
            return "task" in uses
        return urn not in self.execution_policy


def _scoped(statement: Mapping[str, Any], account: str | None) -> bool:
    """Whether a condition of the statement ties it to one account's ECS: aws:SourceAccount or
    aws:SourceArn under a matching operator, with literal account ids (this role's account
    where it is known)."""
    for operator, block in mapping(statement.get("Condition")).items():
        operator = operator.lower().removeprefix("foranyvalue:")
        if operator not in _MATCHING_OPERATORS:
            continue
        for key, values in mapping(block).items():
            values = [str(v) for v in as_list(values)]
            if key.lower() == "aws:sourceaccount":
                accounts = values
            elif key.lower() == "aws:sourcearn":
                accounts = [_arn_account(v) for v in values]
            else:
                continue
            if values and all(a and _ACCOUNT.match(a) and a == (account or a) for a in accounts):
                return True
    return False


def _ecs_trust_statements(trust: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, statement) of each Allow statement, if ecs-tasks.amazonaws.com is trusted at all."""
    allowed = [(str(s.get("Sid") or f"#{index}"), s) for index, s in enumerate(statements(trust)) if allows(s)]
    return allowed if any(ECS_TASKS in principals(s) for _, s in allowed) else []


def check_ecs_trust_principals(props: Props, config: Config) -> Iterator[str]:
    trust = parse_json_document(props.get("assumeRolePolicy"), "assumeRolePolicy")
    for label, statement in _ecs_trust_statements(trust):
        if "NotPrincipal" in statement:
            yield f"statement {label} uses NotPrincipal, which trusts every principal it does not name."
        for kind, principal in principals(statement):
            if (kind, principal) != ECS_TASKS:
                who = "'*' (anyone)" if principal == "*" else f"{kind} principal '{principal}'"
                yield (f"statement {label} lets {who} assume this ECS task role; only "
                       "ecs-tasks.amazonaws.com should.")


def check_ecs_trust_scope(resources: Sequence[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    if not config["requireScopeCondition"]:
        return
    uses = _RoleUses(resources)
    unknown: UnknownValueError | None = None
    for role in of_type(resources, IAM_ROLE):
        if not uses.needs_scope(role.urn):
            continue
        try:
            trust = parse_json_document(role.props.get("assumeRolePolicy"), "assumeRolePolicy")
        except UnknownValueError as error:
            unknown = unknown or error
            continue
        except MalformedDocument:
            continue  # iam-ecs-trust-principals reports it, on the role itself
        account = uses.account.get(role.urn)
        for label, statement in _ecs_trust_statements(trust):
            if not _scoped(statement, account):
                yield (f"role {role.name}: statement {label} of this task role has no condition that "
                       f"ties it to {'account ' + account if account else 'this account'}: aws:SourceAccount "
                       "(StringEquals ACCOUNT) or aws:SourceArn (ArnLike arn:aws:ecs:REGION:ACCOUNT:*), "
                       "so ECS acting for another account could assume it (confused deputy).", role.urn)
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
    ResourceRule(
        name="iam-ecs-trust-principals",
        description="Roles trusted by ecs-tasks.amazonaws.com must trust no other principal.",
        checks={IAM_ROLE: check_ecs_trust_principals},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        rationale=("A task or execution role that other principals (or '*') can assume hands its "
                   "permissions, and the secrets it reads, to them. Checked on the role itself, so "
                   "it stops the role's own create step, not only the preview."),
        remediation_steps=("Trust only {Service: 'ecs-tasks.amazonaws.com'} with Action "
                           "sts:AssumeRole, without NotPrincipal; give other principals their own roles."),
    ),
    StackRule(
        name="iam-ecs-trust-scoped",
        description="Roles used as ECS task roles must be trusted only by ECS acting for their own account.",
        check=check_ecs_trust_scope,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=PolicyConfigSchema(properties={
            "requireScopeCondition": {
                "type": "boolean",
                "default": True,
                "description": ("Require an aws:SourceAccount or aws:SourceArn condition on each "
                                "trust statement of a role used as a task role (false turns the "
                                "check off). Execution roles keep the trust AWS documents for "
                                "them, without conditions."),
            },
        }),
        rationale=("Without an aws:SourceAccount or aws:SourceArn condition, ECS acting for another "
                   "account could assume the app's role (confused deputy), as AWS's task role page "
                   "shows. Execution roles follow AWS's documented trust, which has no conditions. "
                   "It is a stack rule: which role is a task role is said by the task definitions."),
        remediation_steps=("On task roles add Condition {StringEquals: {aws:SourceAccount: ACCOUNT}, "
                           "ArnLike: {aws:SourceArn: arn:aws:ecs:REGION:ACCOUNT:*}}."),
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
