"""Rules for IAM roles and policies: scoped ECS trust, no administrator grants, and no privilege
escalation in what the stack's task, execution and scheduler roles can use."""

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
IAM_POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
SCHEDULE = "aws:scheduler/schedule:Schedule"
# Every pulumi-aws 7 resource that attaches a managed policy to a role. (Role.managedPolicyArns
# is the fourth way; RolePoliciesExclusive names inline policies only, whose documents are
# RolePolicy resources or Role.inlinePolicies.)
_ROLE_ATTACHMENTS = {
    # type: (property naming the role(s), property naming the policy ARN(s))
    IAM_ROLE_POLICY_ATTACHMENT: ("role", "policyArn"),
    IAM_POLICY_ATTACHMENT: ("roles", "policyArn"),
    IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE: ("roleName", "policyArns"),
}
# The same for users and groups: only the administrator check, which holds for any principal.
_OTHER_ATTACHMENTS = (
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
)


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


def _dependencies(resource: PolicyResource, key: str, resource_type: str) -> list[str]:
    """URNs of the resources of a type that a property's value comes from (known even while the
    value itself is unknown, in a first preview)."""
    return [dependency.urn
            for dependency in (getattr(resource, "property_dependencies", None) or {}).get(key, [])
            if dependency.resource_type == resource_type]


class _Named:
    """The stack's resources of one IAM type (roles, policies), found by name or by ARN."""

    def __init__(self, resources: Sequence[PolicyResource], resource_type: str) -> None:
        self.type = resource_type
        self.resources = of_type(resources, resource_type)
        self.by_urn = {r.urn: r for r in self.resources}
        self.by_arn: dict[str, str] = {}
        self.by_name: dict[str, str] = {}
        self.account: dict[str, str] = {}
        for resource in self.resources:
            arn = _known(lambda r=resource: r.props.get("arn"))
            if arn:
                self.by_arn[str(arn)] = resource.urn
                if _arn_account(str(arn)):
                    self.account[resource.urn] = _arn_account(str(arn))
            for key in ("name", "id"):
                name = _known(lambda r=resource, key=key: r.props.get(key))
                if name and not str(name).startswith("arn:"):  # a policy's id is its ARN
                    self.by_name[str(name)] = resource.urn

    def named(self, reference: str) -> str | None:
        if not reference.startswith("arn:"):
            return self.by_name.get(reference)
        if reference in self.by_arn:
            return self.by_arn[reference]
        # An ARN of a resource whose own ARN is not known: the same name in the same account.
        urn = self.by_name.get(reference.rpartition("/")[2])
        return urn if urn and self.account.get(urn, _arn_account(reference)) == _arn_account(reference) else None

    def referenced(self, resource: PolicyResource, key: str) -> set[str]:
        """The URNs of those a property of `resource` names, by value or, while the value is
        unknown, by property dependency."""
        urns = {urn for value in _known_items(lambda: resource.props.get(key))
                if (urn := self.named(str(value)))}
        return urns | set(_dependencies(resource, key, self.type))


class _RoleUses:
    """How the stack's task definitions use each role: as task role, execution role, or both.

    A task definition names a role by ARN (or, for ECS, by name); while those are unknown in a
    first preview, its property dependencies still say which role each property comes from.
    """

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        roles = _Named(resources, IAM_ROLE)
        self.account = roles.account
        self.uses: dict[str, set[str]] = {urn: set() for urn in roles.by_urn}
        for task_definition in of_type(resources, TASK_DEFINITION):
            for key, use in (("taskRoleArn", "task"), ("executionRoleArn", "execution")):
                for urn in roles.referenced(task_definition, key):
                    self.uses.setdefault(urn, set()).add(use)
        # Roles the stack's task definitions do not name: a role carrying AWS's execution role
        # policy is an execution role; any other may become a task role elsewhere.
        self.execution_policy: set[str] = set()
        for role in roles.resources:
            if any(_EXECUTION_POLICY_ARN.match(str(arn))
                   for arn in _known_items(lambda role=role: role.props.get("managedPolicyArns"))):
                self.execution_policy.add(role.urn)
        for attachment_type, (role_key, policy_key) in _ROLE_ATTACHMENTS.items():
            for attachment in of_type(resources, attachment_type):
                if any(_EXECUTION_POLICY_ARN.match(str(arn))
                       for arn in _known_items(lambda a=attachment, k=policy_key: a.props.get(k))):
                    for reference in _known_items(lambda a=attachment, k=role_key: a.props.get(k)):
                        if urn := roles.named(str(reference)):
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


def _every_action(pattern: Any) -> bool:
    """Whether an Action pattern matches every action: '*', and '*:*' (any service, any action)."""
    return isinstance(pattern, str) and bool(pattern) and not pattern.replace("*", "").replace(":", "")


def _admin_grants(where: str, document: Any) -> Iterator[str]:
    for index, statement in enumerate(statements(document)):
        if (allows(statement) and any(_every_action(a) for a in as_list(statement.get("Action")))
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


def check_exclusive_attachments_admin(props: Props, config: Config) -> Iterator[str]:
    yield from _admin_attachments(props.get("policyArns"))


# ---------------------------------------------------------------------------------------------
# iam-no-privilege-escalation

# Single permissions that let their holder raise its own privileges when allowed on every
# resource: Rhino Security Labs' "AWS IAM Privilege Escalation - Methods and Mitigation" (methods
# 1-2, 4-14, 17 and 19; the others combine iam:PassRole, listed here on its own, with a service
# that runs code under the passed role: ec2:RunInstances, lambda:CreateFunction,
# glue:CreateDevEndpoint, cloudformation:CreateStack, datapipeline:CreatePipeline), plus removing
# or replacing a role's permissions boundary (AWS IAM User Guide, "Permissions boundaries").
ESCALATION_ACTIONS = (
    "iam:PassRole",
    "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
    "iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy",
    "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy",
    "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:AddUserToGroup",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
    "lambda:UpdateFunctionCode", "glue:UpdateDevEndpoint",
)
# AWS managed policies whose documents (AWS managed policy reference) hold one of the patterns:
# AdministratorAccess (Action '*'), IAMFullAccess (iam:*), PowerUserAccess (NotAction on '*').
_MANAGED_ESCALATIONS = {
    "AdministratorAccess": "allows every action on every resource",
    "IAMFullAccess": "allows iam:* on every resource, so the role can grant itself anything",
    "PowerUserAccess": "allows every action but iam:*, organizations:* and account:* (NotAction) on every resource",
}
_MANAGED_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?([^/]+)$")
# An IAM ARN that covers every role, user, group or policy (of one account, or of any).
_ANY_IAM_RESOURCE = re.compile(r"^arn:[^:]*:(?:iam|\*):[^:]*:[^:]*:(?:\*|(?:role|user|group|policy)/\*)$",
                               re.IGNORECASE)
_SERVICE_PRINCIPALS = {"ecs-tasks.amazonaws.com": "ECS task", "scheduler.amazonaws.com": "scheduler"}


def _action_matches(pattern: str, action: str) -> bool:
    """IAM's action matching: case-insensitive, '*' any run of characters, '?' one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, action, re.IGNORECASE) is not None


def _any_resource(statement: Mapping[str, Any]) -> str | None:
    """How the statement covers every resource ('*', a wildcard IAM ARN, NotResource), or None."""
    if "NotResource" in statement:
        return "every resource but its NotResource"
    for resource in as_list(statement.get("Resource")):
        if resource == "*" or (isinstance(resource, str) and _ANY_IAM_RESOURCE.match(resource)):
            return f"Resource '{resource}'"
    return None


def escalation(statement: Mapping[str, Any]) -> str | None:
    """What an Allow statement grants on every resource that lets its holder escalate, or None."""
    if not allows(statement) or not (resource := _any_resource(statement)):
        return None
    if "NotAction" in statement:
        excluded = [str(a) for a in as_list(statement.get("NotAction"))]
        if any(_every_action(a) for a in excluded):
            return None
        return f"allows every action except {excluded} (NotAction) on {resource}"
    actions = [a for a in as_list(statement.get("Action")) if isinstance(a, str)]
    if wildcard := next((a for a in actions if _every_action(a)), None):
        return f"allows every action ('{wildcard}') on {resource}"
    if wildcard := next((a for a in actions if re.fullmatch(r"iam:\*+", a, re.IGNORECASE)), None):
        return f"allows every IAM action ('{wildcard}') on {resource}, so the role can grant itself anything"
    found = [action for action in ESCALATION_ACTIONS if any(_action_matches(a, action) for a in actions)]
    if found:
        return f"allows {', '.join(found)} on {resource}, which lets the role raise its own privileges"
    return None


def _service_trust(role: PolicyResource) -> set[str]:
    """Which of ECS tasks and EventBridge Scheduler a role's trust policy lets assume it."""
    try:
        trust = parse_json_document(role.props.get("assumeRolePolicy"), "assumeRolePolicy")
    except (UnknownValueError, MalformedDocument):
        return set()
    return {_SERVICE_PRINCIPALS[principal] for statement in statements(trust) if allows(statement)
            for kind, principal in principals(statement)
            if kind == "Service" and principal in _SERVICE_PRINCIPALS}


class _Grants:
    """Every policy document the stack gives a role, and the resource that carries it."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.roles = _Named(resources, IAM_ROLE)
        self.policies = _Named(resources, IAM_POLICY)
        # (urn of the carrier, what it is) -> (roles it reaches, how to read its document)
        self.documents: dict[tuple[str, str], tuple[set[str], Callable[[], Any]]] = {}
        self.managed: dict[tuple[str, str], set[str]] = {}  # (urn of the carrier, ARN) -> roles
        for role in self.roles.resources:
            self._inline(role)
            self._attached(role, {role.urn}, "managedPolicyArns")
        for role_policy in of_type(resources, IAM_ROLE_POLICY):
            roles = self.roles.referenced(role_policy, "role")
            self._document(role_policy.urn, "policy", roles, lambda r=role_policy: r.props.get("policy"))
        for attachment_type, (role_key, policy_key) in _ROLE_ATTACHMENTS.items():
            for attachment in of_type(resources, attachment_type):
                self._attached(attachment, self.roles.referenced(attachment, role_key), policy_key)

    def _document(self, urn: str, where: str, roles: set[str], read: Callable[[], Any]) -> None:
        if roles:
            self.documents.setdefault((urn, where), (set(), read))[0].update(roles)

    def _inline(self, role: PolicyResource) -> None:
        try:
            inline = as_list(role.props.get("inlinePolicies"))
        except UnknownValueError:
            inline = [None]  # read (and raise) as a document below
        for index in range(len(inline)):
            def read(index: int = index) -> Any:
                return mapping(as_list(role.props.get("inlinePolicies"))[index]).get("policy")
            self._document(role.urn, f"inlinePolicies[{index}]", {role.urn}, read)

    def _attached(self, carrier: PolicyResource, roles: set[str], key: str) -> None:
        if not roles:
            return
        for arn in _known_items(lambda: carrier.props.get(key)):
            match = _MANAGED_POLICY_ARN.match(str(arn))
            if match and match.group(1) in _MANAGED_ESCALATIONS:
                self.managed.setdefault((carrier.urn, str(arn)), set()).update(roles)
        for urn in self.policies.referenced(carrier, key):
            policy = self.policies.by_urn[urn]
            self._document(urn, "policy", roles, lambda p=policy: p.props.get("policy"))


def _workload_roles(resources: Sequence[PolicyResource], roles: _Named) -> dict[str, set[str]]:
    """urn -> how it is used, for each role a task definition or schedule names, or that trusts
    ECS tasks or EventBridge Scheduler."""
    uses: dict[str, set[str]] = {}
    for task_definition in of_type(resources, TASK_DEFINITION):
        for key, use in (("taskRoleArn", "task"), ("executionRoleArn", "execution")):
            for urn in roles.referenced(task_definition, key):
                uses.setdefault(urn, set()).add(use)
    for schedule in of_type(resources, SCHEDULE):
        target = _known(lambda s=schedule: s.props.get("target"))
        reference = _known(lambda t=target: mapping(t).get("roleArn"))
        urns = {urn} if reference and (urn := roles.named(str(reference))) else set()
        for urn in urns | set(_dependencies(schedule, "target", IAM_ROLE)):
            uses.setdefault(urn, set()).add("scheduler")
    for role in roles.resources:
        if role.urn not in uses and (trusted := _service_trust(role)):
            uses[role.urn] = trusted
    return uses


def check_privilege_escalation(resources: Sequence[PolicyResource], config: Config
                               ) -> Iterator[tuple[str, str]]:
    grants = _Grants(resources)
    uses = _workload_roles(resources, grants.roles)

    def reaching(roles: set[str]) -> str:
        described = []
        for urn in sorted(roles & set(uses)):
            kinds = " and ".join(sorted(uses[urn]))
            described.append(f"{kinds} role {grants.roles.by_urn[urn].name}")
        return ", ".join(described)

    unknown: UnknownValueError | None = None
    for (urn, where), (roles, read) in grants.documents.items():
        if not (used_by := reaching(roles)):
            continue
        try:
            value = read()
            if not value:
                continue  # an empty inline block means "no inline policies"
            document = parse_json_document(value, where)
        except UnknownValueError as error:
            unknown = unknown or error
            continue
        except MalformedDocument:
            continue  # iam-no-wildcard-admin reports it, on the resource itself
        carrier = urn.rpartition("::")[2]
        for index, statement in enumerate(statements(document)):
            if found := escalation(statement):
                label = statement.get("Sid") or f"#{index}"
                yield (f"{carrier} {where} (used by {used_by}): statement {label} {found}.", urn)
    for (urn, arn), roles in grants.managed.items():
        if used_by := reaching(roles):
            name = _MANAGED_POLICY_ARN.match(arn).group(1)
            yield (f"{urn.rpartition('::')[2]} attaches {arn} to {used_by}; it "
                   f"{_MANAGED_ESCALATIONS[name]}.", urn)
    if unknown is not None:
        # What could be judged is reported; a document not known yet is not a pass.
        raise unknown


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
            **dict.fromkeys((IAM_ROLE_POLICY_ATTACHMENT, IAM_POLICY_ATTACHMENT, *_OTHER_ATTACHMENTS[:2]),
                            check_attachment_admin),
            **dict.fromkeys((IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE, *_OTHER_ATTACHMENTS[2:]),
                            check_exclusive_attachments_admin),
            **dict.fromkeys((IAM_POLICY, IAM_ROLE_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY),
                            check_policy_admin),
        },
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        security_hub_control="IAM.1",
        rationale=("Action '*' (or '*:*') on Resource '*' turns any bug or leaked credential of the "
                   "app into full control of the account. AdministratorAccess is seen however it is "
                   "attached: managedPolicyArns, RolePolicyAttachment, PolicyAttachment, and the "
                   "user, group and *PolicyAttachmentsExclusive resources."),
        remediation_steps=("List the actions and resource ARNs the code actually uses; never attach "
                           "AdministratorAccess to a workload role."),
    ),
    StackRule(
        name="iam-no-privilege-escalation",
        description=("Policies a task, execution or scheduler role can use must not allow wildcards or "
                     "privilege escalation on every resource."),
        check=check_privilege_escalation,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        rationale=("A workload role that may run '*', iam:*, an Allow with NotAction, iam:PassRole or "
                   "one of the classic escalation actions (Rhino Security Labs' list: "
                   "CreatePolicyVersion, AttachRolePolicy, PutRolePolicy, CreateAccessKey, "
                   "UpdateAssumeRolePolicy, ...) on every resource turns a bug in the app into "
                   "administrator access. Every way the stack gives a role a policy is followed: "
                   "inline policies, RolePolicy, customer managed policies attached by "
                   "RolePolicyAttachment, PolicyAttachment, RolePolicyAttachmentsExclusive or "
                   "managedPolicyArns, and the AWS managed IAMFullAccess, PowerUserAccess and "
                   "AdministratorAccess. Conditions are not weighed: PassRole to any role is an "
                   "escalation whatever service it is passed to."),
        remediation_steps=("Name the actions the code calls and the ARNs it touches; give iam:PassRole "
                           "only the ARNs of the roles it must pass (with an iam:PassedToService "
                           "condition); keep IAM administration out of workload roles."),
    ),
]
