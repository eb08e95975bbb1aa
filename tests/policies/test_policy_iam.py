"""IAM rules: ECS task trust policies and administrator grants."""

import json

import pytest
from policy_testkit import (
    ACCOUNT,
    ADMIN,
    COMPLIANT_SAMPLES,
    READ_SECRET,
    REGION,
    ecs_trust_policy,
    policy_document,
    role,
    stack_violations,
    violations,
)
from pulumi_policy.proxy import UnknownValueError

from ecs_fargate_rules import POLICIES_BY_NAME
from policy_evaluation import UNKNOWN, evaluate, policy_resource, stack_args, urn_for

from ecs_fargate_rules._common import (
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    TASK_DEFINITION,
)

TRUST = "iam-ecs-trust-scoped"
ADMIN_RULE = "iam-no-wildcard-admin"


PRINCIPALS = "iam-ecs-trust-principals"


def trust_violations(trust: str, *others, config=None, role_name: str = "web-task") -> list[str]:
    """What the scope stack rule reports for one role (plus other resources of the stack)."""
    stack = [(IAM_ROLE, role_name, role(name=role_name, arn=f"arn:aws:iam::{ACCOUNT}:role/{role_name}",
                                        assumeRolePolicy=trust)), *others]
    found = stack_violations(TRUST, stack, config)
    assert all(v.urn == urn_for(IAM_ROLE, role_name) for v in found), found
    return [v.message for v in found]


# iam-ecs-trust-principals: on the role itself, so it stops the role's own create step.

def test_ecs_trust_passes():
    assert violations(PRINCIPALS, IAM_ROLE, role()) == []
    assert violations(PRINCIPALS, IAM_ROLE, role(assumeRolePolicy=ecs_trust_policy(Condition=None))) == []


def test_roles_for_other_services_are_not_ecs_task_roles():
    trust = policy_document({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    assert violations(PRINCIPALS, IAM_ROLE, role(assumeRolePolicy=trust)) == []
    assert trust_violations(trust) == []


@pytest.mark.parametrize("principal, shown", [
    ({"Service": ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com"]}, "Service principal 'ec2.amazonaws.com'"),
    ({"Service": "ecs-tasks.amazonaws.com", "AWS": f"arn:aws:iam::{ACCOUNT}:root"},
     f"AWS principal 'arn:aws:iam::{ACCOUNT}:root'"),
    ({"Service": "ecs-tasks.amazonaws.com", "AWS": "*"}, "'*' (anyone)"),
])
def test_ecs_trust_shared_with_other_principals_fails(principal, shown):
    [message] = violations(PRINCIPALS, IAM_ROLE, role(assumeRolePolicy=ecs_trust_policy(Principal=principal)))
    assert f"lets {shown} assume this ECS task role" in message


def test_a_second_statement_trusting_everyone_fails():
    trust = json.loads(ecs_trust_policy())
    trust["Statement"].append({"Sid": "Anyone", "Effect": "Allow", "Principal": "*",
                               "Action": "sts:AssumeRole",
                               "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}})
    [message] = violations(PRINCIPALS, IAM_ROLE, role(assumeRolePolicy=json.dumps(trust)))
    assert "statement Anyone lets '*' (anyone)" in message


def test_deny_statements_do_not_count_as_trust():
    trust = json.loads(ecs_trust_policy())
    trust["Statement"].append({"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    assert violations(PRINCIPALS, IAM_ROLE, role(assumeRolePolicy=json.dumps(trust))) == []
    assert trust_violations(json.dumps(trust)) == []


def test_not_principal_fails():
    trust = json.loads(ecs_trust_policy())
    trust["Statement"][0]["NotPrincipal"] = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    [message] = violations(PRINCIPALS, IAM_ROLE, role(assumeRolePolicy=json.dumps(trust)))
    assert "NotPrincipal" in message


def test_invalid_trust_policy_json_is_reported_once_on_the_role():
    [message] = violations(PRINCIPALS, IAM_ROLE, role(assumeRolePolicy="{"))
    assert "assumeRolePolicy is not valid JSON" in message
    assert trust_violations("{") == []


# iam-ecs-trust-scoped: which role is a task role is said by the stack's task definitions.

def test_scoped_ecs_trust_passes():
    assert trust_violations(ecs_trust_policy()) == []


UNSCOPED = ecs_trust_policy(Condition=None)


def task_definition_using(*, task_role: str | None = None, execution_role: str | None = None,
                          account: str = ACCOUNT):
    props = {"family": "web", "containerDefinitions": "[]"}
    if task_role:
        props["taskRoleArn"] = f"arn:aws:iam::{account}:role/{task_role}"
    if execution_role:
        props["executionRoleArn"] = f"arn:aws:iam::{account}:role/{execution_role}"
    return (TASK_DEFINITION, "web", props)


def test_a_task_role_without_a_scope_condition_fails():
    [message] = trust_violations(UNSCOPED, task_definition_using(task_role="web-task"))
    assert f"statement #0 of this task role has no condition that ties it to account {ACCOUNT}" in message
    assert trust_violations(UNSCOPED, task_definition_using(task_role="web-task"),
                            config={"requireScopeCondition": False}) == []


def test_a_role_no_task_definition_names_is_judged_as_a_task_role():
    [message] = trust_violations(UNSCOPED)
    assert "confused deputy" in message


@pytest.mark.parametrize("condition", [
    {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    {"ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"}},
    {"ArnLike": {"AWS:SOURCEARN": f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"}},
    {"StringLike": {"aws:SourceArn": f"arn:aws:ecs:*:{ACCOUNT}:*"}},
    {"ForAnyValue:StringEquals": {"aws:SourceAccount": [ACCOUNT]}},
])
def test_either_condition_key_scopes_a_task_role(condition):
    trust = ecs_trust_policy(Condition=condition)
    assert trust_violations(trust, task_definition_using(task_role="web-task")) == []


@pytest.mark.parametrize("condition", [
    {"StringNotEquals": {"aws:SourceAccount": ACCOUNT}},
    {"Null": {"aws:SourceArn": "false"}},
    {"StringLike": {"aws:SourceAccount": "*"}},
    {"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}},
    {"ForAllValues:StringEquals": {"aws:SourceAccount": [ACCOUNT]}},
    {"StringEquals": {"aws:SourceAccount": "210987654321"}},
    {"ArnLike": {"aws:SourceArn": "arn:aws:ecs:*:*:*"}},
    {"StringEquals": {"aws:SourceAccount": []}},
    {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}},
])
def test_conditions_that_do_not_tie_the_role_to_its_account_fail(condition):
    """Named keys are not enough: the condition must hold only for ECS acting for this account."""
    trust = ecs_trust_policy(Condition=condition)
    assert trust_violations(trust, task_definition_using(task_role="web-task"))


def test_the_execution_roles_documented_trust_passes():
    """AWS documents the execution role's trust without conditions; it must not be flagged."""
    used_as_execution = task_definition_using(execution_role="web-execution", task_role="other")
    assert trust_violations(UNSCOPED, used_as_execution, role_name="web-execution") == []
    execution_policy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    for attachment in [
        (IAM_ROLE_POLICY_ATTACHMENT, "managed", {"role": "web-execution", "policyArn": execution_policy}),
        (IAM_ROLE_POLICY_ATTACHMENT, "by-arn", {"role": f"arn:aws:iam::{ACCOUNT}:role/web-execution",
                                                "policyArn": execution_policy}),
        ("aws:iam/policyAttachment:PolicyAttachment", "shared", {"roles": ["web-execution"],
                                                                 "policyArn": execution_policy}),
        ("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "exclusive",
         {"roleName": "web-execution", "policyArns": [execution_policy]}),
    ]:
        assert trust_violations(UNSCOPED, attachment, role_name="web-execution") == [], attachment
    managed = (IAM_ROLE, "web-execution", role(name="web-execution", assumeRolePolicy=UNSCOPED,
                                                managedPolicyArns=[execution_policy]))
    assert stack_violations(TRUST, [managed]) == []


def test_a_role_used_as_both_task_and_execution_role_needs_the_scope():
    both = task_definition_using(execution_role="web-task", task_role="web-task")
    [message] = trust_violations(UNSCOPED, both)
    assert "of this task role" in message


def test_a_same_named_role_of_another_account_does_not_make_ours_an_execution_role():
    other_account = task_definition_using(execution_role="web-task", account="210987654321")
    assert trust_violations(UNSCOPED, other_account)


def test_a_first_preview_finds_the_task_role_through_property_dependencies():
    """Before the roles exist their ARNs are unknown; the engine still says which role the task
    definition's taskRoleArn comes from."""
    unscoped = policy_resource(IAM_ROLE, {"name": UNKNOWN, "arn": UNKNOWN, "assumeRolePolicy": UNSCOPED},
                               name="web-task")
    documented = policy_resource(IAM_ROLE, {"name": UNKNOWN, "arn": UNKNOWN, "assumeRolePolicy": UNSCOPED},
                                 name="web-execution")
    task_definition = policy_resource(TASK_DEFINITION, {"family": "web", "taskRoleArn": UNKNOWN,
                                                        "executionRoleArn": UNKNOWN}, name="web")
    task_definition.property_dependencies = {"taskRoleArn": [unscoped], "executionRoleArn": [documented]}
    found = evaluate(POLICIES_BY_NAME[TRUST], stack_args([unscoped, documented, task_definition]))
    assert [v.urn for v in found] == [unscoped.urn], found


def test_an_unknown_managed_policy_arn_does_not_hide_the_other_roles():
    """One unknown list element is skipped, not the whole rule."""
    pending = policy_resource(IAM_ROLE, {"name": "pending", "assumeRolePolicy": ecs_trust_policy(),
                                         "managedPolicyArns": [UNKNOWN]}, name="pending")
    unscoped = policy_resource(IAM_ROLE, {"name": "web-task", "assumeRolePolicy": UNSCOPED}, name="web-task")
    found = evaluate(POLICIES_BY_NAME[TRUST], stack_args([pending, unscoped]))
    assert [v.urn for v in found] == [unscoped.urn]


def test_an_unknown_trust_policy_is_not_a_pass():
    pending = policy_resource(IAM_ROLE, {"name": "web-task", "assumeRolePolicy": UNKNOWN}, name="web-task")
    with pytest.raises(UnknownValueError):
        evaluate(POLICIES_BY_NAME[TRUST], stack_args([pending]))


# iam-no-wildcard-admin

@pytest.mark.parametrize("resource_type", [t for t in COMPLIANT_SAMPLES if t.startswith("aws:iam/")])
def test_least_privilege_policies_pass(resource_type):
    assert violations(ADMIN_RULE, resource_type, COMPLIANT_SAMPLES[resource_type]) == []


@pytest.mark.parametrize("resource_type", [IAM_ROLE_POLICY, IAM_POLICY, "aws:iam/userPolicy:UserPolicy",
                                           "aws:iam/groupPolicy:GroupPolicy"])
def test_admin_statement_in_a_policy_fails(resource_type):
    [message] = violations(ADMIN_RULE, resource_type, {"policy": policy_document(READ_SECRET, ADMIN)})
    assert "policy statement Everything allows Action '*' on Resource '*'" in message


def test_admin_statement_as_lists_fails():
    statement = {"Effect": "Allow", "Action": ["s3:GetObject", "*"], "Resource": ["*"]}
    [message] = violations(ADMIN_RULE, IAM_POLICY, {"policy": policy_document(statement)})
    assert "statement #0" in message


@pytest.mark.parametrize("statement", [
    {"Effect": "Deny", "Action": "*", "Resource": "*"},
    {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::bucket/*"},
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
])
def test_not_full_admin_passes(statement):
    assert violations(ADMIN_RULE, IAM_POLICY, {"policy": policy_document(statement)}) == []


def test_admin_in_a_role_inline_policy_fails():
    props = role(inlinePolicies=[{"name": "ok", "policy": policy_document(READ_SECRET)},
                                 {"name": "god-mode", "policy": policy_document(ADMIN)},
                                 {"name": "", "policy": ""}])  # an empty block: no inline policies
    [message] = violations(ADMIN_RULE, IAM_ROLE, props)
    assert "inlinePolicies[1] ('god-mode') statement Everything" in message


def test_role_trust_policy_is_not_a_grant():
    trust_everything = {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                        "Action": "*", "Resource": "*"}
    props = role(assumeRolePolicy=policy_document(trust_everything))
    assert violations(ADMIN_RULE, IAM_ROLE, props) == []


@pytest.mark.parametrize("arn", ["arn:aws:iam::aws:policy/AdministratorAccess",
                                 "arn:aws-us-gov:iam::aws:policy/AdministratorAccess"])
def test_administrator_access_attachment_fails(arn):
    [message] = violations(ADMIN_RULE, IAM_ROLE_POLICY_ATTACHMENT, {"role": "web-task", "policyArn": arn})
    assert f"attaches {arn}" in message
    [message] = violations(ADMIN_RULE, IAM_ROLE, role(managedPolicyArns=[arn]))
    assert f"attaches {arn}" in message


ATTACHMENT_TYPES = {
    "aws:iam/policyAttachment:PolicyAttachment": lambda arn: {"name": "a", "roles": ["web-task"], "policyArn": arn},
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive":
        lambda arn: {"roleName": "web-task", "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess", arn]},
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": lambda arn: {"user": "ci", "policyArn": arn},
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": lambda arn: {"group": "ops", "policyArn": arn},
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive":
        lambda arn: {"userName": "ci", "policyArns": [arn]},
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive":
        lambda arn: {"groupName": "ops", "policyArns": [arn]},
}


@pytest.mark.parametrize("resource_type", ATTACHMENT_TYPES)
def test_administrator_access_attached_by_any_attachment_type_fails(resource_type):
    arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    [message] = violations(ADMIN_RULE, resource_type, ATTACHMENT_TYPES[resource_type](arn))
    assert f"attaches {arn}" in message
    assert violations(ADMIN_RULE, resource_type,
                      ATTACHMENT_TYPES[resource_type]("arn:aws:iam::aws:policy/ReadOnlyAccess")) == []


def test_every_action_spelt_service_colon_action_is_admin():
    [message] = violations(ADMIN_RULE, IAM_POLICY, {"policy": policy_document(
        {"Effect": "Allow", "Action": "*:*", "Resource": "*"})})
    assert "full administrator" in message
