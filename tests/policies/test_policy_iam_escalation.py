"""iam-no-privilege-escalation: wildcards and escalation actions in any policy a task, execution
or scheduler role can use, however the stack gives it to the role."""

from __future__ import annotations

import json

import pytest
from policy_testkit import (
    ACCOUNT,
    APP_POLICY_ARN,
    EXECUTION_POLICY_ARN,
    EXECUTION_ROLE_ARN,
    READ_SECRET,
    SCHEDULER_ROLE_ARN,
    TASK_ROLE_ARN,
    compliant_iam_stack,
    policy_document,
    role,
    schedule,
    stack_violations,
)
from pulumi_policy.proxy import UnknownValueError

from ecs_fargate_rules import POLICIES_BY_NAME
from ecs_fargate_rules._common import IAM_POLICY, IAM_ROLE, IAM_ROLE_POLICY, IAM_ROLE_POLICY_ATTACHMENT, TASK_DEFINITION
from ecs_fargate_rules.iam import ESCALATION_ACTIONS
from policy_evaluation import UNKNOWN, evaluate, policy_resource, stack_args, urn_for

RULE = "iam-no-privilege-escalation"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
SCHEDULE = "aws:scheduler/schedule:Schedule"
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def found(*extra, without: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(message, urn) the rule reports on the compliant stack plus `extra` resources."""
    stack = [r for r in compliant_iam_stack() if r[1] not in without] + list(extra)
    return [(v.message, v.urn) for v in stack_violations(RULE, stack)]


def task_role_policy(*statements, role_name: str = "web-task") -> tuple[str, str, dict]:
    return (IAM_ROLE_POLICY, "extra", {"role": role_name, "policy": policy_document(*statements)})


def test_the_compliant_stack_passes():
    assert found() == []


# What a statement grants.

VIOLATING = {
    "every action": {"Action": "*", "Resource": "*"},
    "every action, as service:action": {"Action": "*:*", "Resource": "*"},
    "iam:* in a list": {"Action": ["s3:GetObject", "iam:*"], "Resource": ["*"]},
    "IAM:* in capitals": {"Action": "IAM:*", "Resource": "*"},
    "NotAction with Allow": {"NotAction": ["iam:*", "organizations:*"], "Resource": "*"},
    "PassRole on *": {"Action": "iam:PassRole", "Resource": "*"},
    "PassRole, any casing, Resource list": {"Action": ["IAM:passrole"], "Resource": ["*"]},
    "PassRole by wildcard on every role": {"Action": "iam:Pass*", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"},
    "PassRole on all but one role": {"Action": "iam:PassRole", "NotResource": TASK_ROLE_ARN},
    "PassRole despite a condition": {"Action": "iam:PassRole", "Resource": "*", "Condition": {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
    "policy writes by wildcard": {"Action": "iam:*RolePolicy", "Resource": "*"},
    "lambda:CreateFunction with PassRole": {"Action": ["lambda:CreateFunction", "iam:PassRole"], "Resource": "*"},
}


@pytest.mark.parametrize("statement", VIOLATING.values(), ids=VIOLATING.keys())
def test_wildcards_and_escalations_in_a_task_role_fail(statement):
    [(message, urn)] = found(task_role_policy({"Sid": "Broad", "Effect": "Allow", **statement}))
    assert urn == urn_for(IAM_ROLE_POLICY, "extra")
    assert "used by task role web-task" in message and "statement Broad allows" in message


@pytest.mark.parametrize("action", ESCALATION_ACTIONS)
def test_each_escalation_action_on_every_resource_fails(action):
    [(message, _)] = found(task_role_policy({"Effect": "Allow", "Action": action, "Resource": "*"}))
    assert f"allows {action} on Resource '*'" in message


def test_messages_say_what_was_granted():
    [(message, _)] = found(task_role_policy({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}))
    assert "every IAM action ('iam:*')" in message
    [(message, _)] = found(task_role_policy({"Effect": "Allow", "NotAction": "s3:DeleteBucket",
                                             "Resource": "*"}))
    assert "every action except ['s3:DeleteBucket'] (NotAction) on Resource '*'" in message
    [(message, _)] = found(task_role_policy({"Effect": "Allow", "Action": "*:*", "Resource": "*"}))
    assert "every action ('*:*')" in message


COMPLIANT = {
    "Deny of everything": {"Effect": "Deny", "Action": "*", "Resource": "*"},
    "Deny of PassRole": {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"},
    "Deny with NotAction": {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"},
    "PassRole on named roles": {"Effect": "Allow", "Action": "iam:PassRole",
                                "Resource": [TASK_ROLE_ARN, EXECUTION_ROLE_ARN]},
    "an IAM read of its own role": {"Effect": "Allow", "Action": "iam:GetRole", "Resource": TASK_ROLE_ARN},
    "IAM reads on *": {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
    "a service's wildcard on *": {"Effect": "Allow", "Action": ["s3:*", "ssmmessages:*"], "Resource": "*"},
    "every action on one bucket": {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::bucket/*"},
    "NotAction on one bucket": {"Effect": "Allow", "NotAction": "s3:DeleteBucket",
                                "Resource": "arn:aws:s3:::bucket"},
    "NotAction of everything": {"Effect": "Allow", "NotAction": "*", "Resource": "*"},
    "escalation action on one role": {"Effect": "Allow", "Action": "iam:PutRolePolicy",
                                      "Resource": f"arn:aws:iam::{ACCOUNT}:role/web-helper"},
}


@pytest.mark.parametrize("statement", COMPLIANT.values(), ids=COMPLIANT.keys())
def test_scoped_statements_and_denies_pass(statement):
    assert found(task_role_policy(statement)) == []


# Every way a role gets a policy.

BROAD = {"Sid": "Broad", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
BROAD_POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/broad"
BROAD_POLICY = (IAM_POLICY, "broad", {"name": "broad", "arn": BROAD_POLICY_ARN, "policy": policy_document(BROAD)})


def test_a_role_inline_policy_is_seen():
    task_role = role(name="web-task", arn=TASK_ROLE_ARN, inlinePolicies=[
        {"name": "ok", "policy": policy_document(READ_SECRET)}, {"name": "broad", "policy": policy_document(BROAD)}])
    [(message, urn)] = found((IAM_ROLE, "web-task", task_role), without=("web-task",))
    assert urn == urn_for(IAM_ROLE, "web-task")
    assert message.startswith("web-task inlinePolicies[1] (used by task role web-task): statement Broad")


@pytest.mark.parametrize("attachment", [
    (IAM_ROLE_POLICY_ATTACHMENT, "attach", {"role": "web-task", "policyArn": BROAD_POLICY_ARN}),
    (IAM_ROLE_POLICY_ATTACHMENT, "attach-by-role-arn", {"role": TASK_ROLE_ARN, "policyArn": BROAD_POLICY_ARN}),
    (POLICY_ATTACHMENT, "shared", {"name": "broad", "roles": ["other", "web-task"], "policyArn": BROAD_POLICY_ARN}),
    (EXCLUSIVE, "exclusive", {"roleName": "web-task", "policyArns": [APP_POLICY_ARN, BROAD_POLICY_ARN]}),
], ids=lambda a: a[0].split(":")[-1])
def test_a_customer_managed_policy_attached_any_way_is_seen(attachment):
    [(message, urn)] = found(BROAD_POLICY, attachment)
    assert urn == urn_for(IAM_POLICY, "broad")
    assert message.startswith("broad policy (used by task role web-task): statement Broad allows iam:PassRole")


def test_a_customer_managed_policy_in_managed_policy_arns_is_seen():
    execution = role(name="web-execution", arn=EXECUTION_ROLE_ARN, inlinePolicies=[],
                     managedPolicyArns=[EXECUTION_POLICY_ARN, BROAD_POLICY_ARN])
    [(message, _)] = found(BROAD_POLICY, (IAM_ROLE, "web-execution", execution), without=("web-execution",))
    assert "(used by execution role web-execution)" in message


def test_a_policy_attached_to_two_workload_roles_is_reported_once_naming_both():
    [(message, _)] = found(BROAD_POLICY, (POLICY_ATTACHMENT, "shared", {
        "name": "broad", "roles": ["web-task", "web-execution"], "policyArn": BROAD_POLICY_ARN}))
    assert "(used by execution role web-execution, task role web-task)" in message


@pytest.mark.parametrize("managed, granted", [
    ("AdministratorAccess", "every action on every resource"),
    ("IAMFullAccess", "iam:* on every resource"),
    ("PowerUserAccess", "(NotAction) on every resource"),
])
@pytest.mark.parametrize("attach", [
    lambda arn: (IAM_ROLE_POLICY_ATTACHMENT, "managed", {"role": "web-task", "policyArn": arn}),
    lambda arn: (POLICY_ATTACHMENT, "managed", {"name": "m", "roles": ["web-task"], "policyArn": arn}),
    lambda arn: (EXCLUSIVE, "managed", {"roleName": "web-task", "policyArns": [arn]}),
], ids=["RolePolicyAttachment", "PolicyAttachment", "RolePolicyAttachmentsExclusive"])
def test_aws_managed_wildcard_policies_attached_any_way_fail(managed, granted, attach):
    arn = f"arn:aws:iam::aws:policy/{managed}"
    resource = attach(arn)
    [(message, urn)] = found(resource)
    assert urn == urn_for(resource[0], "managed")
    assert f"attaches {arn} to task role web-task" in message and granted in message


def test_a_get_policy_document_json_string_is_read():
    """aws.iam.get_policy_document(...).json: compact JSON, one-element lists as strings."""
    rendered = ('{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow",'
                '"Action":"iam:CreateAccessKey","Resource":"*"}]}')
    [(message, _)] = found((IAM_ROLE_POLICY, "extra", {"role": "web-task", "policy": rendered}))
    assert "statement #0 allows iam:CreateAccessKey on Resource '*'" in message


# Which roles are judged.

def test_the_execution_and_scheduler_roles_are_judged():
    [(message, _)] = found(task_role_policy(BROAD, role_name="web-execution"))
    assert "(used by execution role web-execution)" in message
    [(message, _)] = found(task_role_policy(BROAD, role_name="scheduler"))
    assert "(used by scheduler role scheduler)" in message


def test_a_scheduler_role_is_found_through_its_schedule():
    """A role the schedule names, whatever it trusts."""
    other = role(name="scheduler", arn=SCHEDULER_ROLE_ARN, inlinePolicies=[], assumeRolePolicy=LAMBDA_TRUST)
    [(message, _)] = found((IAM_ROLE, "scheduler", other), task_role_policy(BROAD, role_name="scheduler"),
                           without=("scheduler",))
    assert "(used by scheduler role scheduler)" in message


def test_an_ecs_trusted_role_no_task_definition_names_is_judged():
    [(message, _)] = found((IAM_ROLE, "spare", role(name="spare", inlinePolicies=[])),
                           task_role_policy(BROAD, role_name="spare"))
    assert "(used by ECS task role spare)" in message


def test_roles_of_other_workloads_are_not_judged():
    lambda_role = (IAM_ROLE, "deployer", role(name="deployer", assumeRolePolicy=LAMBDA_TRUST, inlinePolicies=[
        {"name": "broad", "policy": policy_document(BROAD)}]))
    assert found(lambda_role, task_role_policy(BROAD, role_name="deployer"), BROAD_POLICY,
                 (IAM_ROLE_POLICY_ATTACHMENT, "attach", {"role": "deployer", "policyArn": BROAD_POLICY_ARN})) == []


def test_an_unattached_policy_is_not_judged():
    assert found(BROAD_POLICY) == []


# A first preview: names and ARNs unknown, property dependencies known.

def test_a_first_preview_follows_property_dependencies():
    task_role = policy_resource(IAM_ROLE, {"name": UNKNOWN, "arn": UNKNOWN, "assumeRolePolicy": LAMBDA_TRUST},
                                name="web-task")
    scheduler_role = policy_resource(IAM_ROLE, {"name": UNKNOWN, "arn": UNKNOWN, "assumeRolePolicy": LAMBDA_TRUST},
                                     name="scheduler")
    task_definition = policy_resource(TASK_DEFINITION, {"family": "web", "taskRoleArn": UNKNOWN}, name="web")
    task_definition.property_dependencies = {"taskRoleArn": [task_role]}
    nightly = policy_resource(SCHEDULE, schedule(target={**schedule()["target"], "roleArn": UNKNOWN}),
                              name="nightly")
    nightly.property_dependencies = {"target": [scheduler_role]}
    broad = policy_resource(IAM_POLICY, {"name": UNKNOWN, "arn": UNKNOWN, "policy": policy_document(BROAD)},
                            name="broad")
    attachment = policy_resource(IAM_ROLE_POLICY_ATTACHMENT, {"role": UNKNOWN, "policyArn": UNKNOWN},
                                 name="attach")
    attachment.property_dependencies = {"role": [task_role], "policyArn": [broad]}
    inline = policy_resource(IAM_ROLE_POLICY, {"role": UNKNOWN, "policy": policy_document(BROAD)}, name="run")
    inline.property_dependencies = {"role": [scheduler_role]}
    reported = evaluate(POLICIES_BY_NAME[RULE], stack_args([task_role, scheduler_role, task_definition, nightly,
                                                             broad, attachment, inline]))
    assert sorted((v.urn, v.message.partition(" (")[2].partition(")")[0]) for v in reported) == [
        (broad.urn, "used by task role web-task"), (inline.urn, "used by scheduler role scheduler")]


def test_an_unknown_document_is_not_a_pass():
    stack = compliant_iam_stack() + [(IAM_ROLE_POLICY, "pending", {"role": "web-task", "policy": UNKNOWN})]
    with pytest.raises(UnknownValueError):
        stack_violations(RULE, stack)


def test_an_unknown_document_of_another_workload_does_not_stop_the_rule():
    stack = compliant_iam_stack() + [(IAM_ROLE, "deployer", role(name="deployer", assumeRolePolicy=LAMBDA_TRUST)),
                                     (IAM_ROLE_POLICY, "pending", {"role": "deployer", "policy": UNKNOWN})]
    assert stack_violations(RULE, stack) == []
