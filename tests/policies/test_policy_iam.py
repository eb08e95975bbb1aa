"""IAM rules: ECS task trust policies and administrator grants."""

import json

import pytest
from policy_testkit import (
    ACCOUNT,
    ADMIN,
    COMPLIANT_SAMPLES,
    READ_SECRET,
    ecs_trust_policy,
    policy_document,
    role,
    violations,
)

from ecs_fargate_rules._common import (
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
)

TRUST = "iam-ecs-trust-scoped"
ADMIN_RULE = "iam-no-wildcard-admin"


def test_scoped_ecs_trust_passes():
    assert violations(TRUST, IAM_ROLE, role()) == []


def test_roles_for_other_services_are_not_ecs_task_roles():
    trust = policy_document({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    assert violations(TRUST, IAM_ROLE, role(assumeRolePolicy=trust)) == []


@pytest.mark.parametrize("principal, shown", [
    ({"Service": ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com"]}, "Service principal 'ec2.amazonaws.com'"),
    ({"Service": "ecs-tasks.amazonaws.com", "AWS": f"arn:aws:iam::{ACCOUNT}:root"},
     f"AWS principal 'arn:aws:iam::{ACCOUNT}:root'"),
    ({"Service": "ecs-tasks.amazonaws.com", "AWS": "*"}, "'*' (anyone)"),
])
def test_ecs_trust_shared_with_other_principals_fails(principal, shown):
    [message] = violations(TRUST, IAM_ROLE, role(assumeRolePolicy=ecs_trust_policy(Principal=principal)))
    assert f"lets {shown} assume this ECS task role" in message


def test_a_second_statement_trusting_everyone_fails():
    trust = json.loads(ecs_trust_policy())
    trust["Statement"].append({"Sid": "Anyone", "Effect": "Allow", "Principal": "*",
                               "Action": "sts:AssumeRole",
                               "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}})
    [message] = violations(TRUST, IAM_ROLE, role(assumeRolePolicy=json.dumps(trust)))
    assert "statement Anyone lets '*' (anyone)" in message


def test_deny_statements_do_not_count_as_trust():
    trust = json.loads(ecs_trust_policy())
    trust["Statement"].append({"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    assert violations(TRUST, IAM_ROLE, role(assumeRolePolicy=json.dumps(trust))) == []


def test_trust_without_source_account_condition():
    props = role(assumeRolePolicy=ecs_trust_policy(Condition=None))
    [message] = violations(TRUST, IAM_ROLE, props)
    assert "no aws:SourceAccount condition" in message
    assert violations(TRUST, IAM_ROLE, props, {"requireSourceAccountCondition": False}) == []


def test_not_principal_fails():
    trust = json.loads(ecs_trust_policy())
    trust["Statement"][0]["NotPrincipal"] = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    [message] = violations(TRUST, IAM_ROLE, role(assumeRolePolicy=json.dumps(trust)))
    assert "NotPrincipal" in message


def test_invalid_trust_policy_json_is_reported():
    [message] = violations(TRUST, IAM_ROLE, role(assumeRolePolicy="{"))
    assert "assumeRolePolicy is not valid JSON" in message


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
