"""Every IAM action our components write exists in AWS's Service Authorization Reference.

IAM accepts a policy naming an action that does not exist (`ecs:RunTasks`) and simply never
matches it, so a typo shows up only as AccessDenied in production. policy-sentry ships that
reference offline (policy_sentry/shared/data/iam-definition.json, built from
https://docs.aws.amazon.com/service-authorization/latest/reference/); a `~/.policy_sentry/`
copy made by `policy_sentry initialize` takes precedence, which only makes the catalogue newer.

The AWS managed policies we attach (AmazonECSTaskExecutionRolePolicy) are not checked: the
catalogue lists actions, not the documents of managed policies, and AWS maintains those.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from policy_sentry.querying.all import get_all_actions

from testkit import ROOT, render_config
from preflight.render import Rendering

# Action names are case-insensitive in IAM.
CATALOGUE = frozenset(get_all_actions(lowercase=True))


def action_exists(action: str) -> bool:
    """Whether `action` names at least one action of the reference; `*` and `?` are IAM's wildcards."""
    action = action.lower()
    if "*" not in action and "?" not in action:
        return action in CATALOGUE
    pattern = re.compile(re.escape(action).replace(r"\*", ".*").replace(r"\?", "."))
    return any(pattern.fullmatch(known) for known in CATALOGUE)


def _documents(resource) -> Iterator[str]:
    """The IAM policy documents (JSON strings) among a resource's inputs."""
    inputs = resource.inputs
    if resource.type == "aws:iam/role:Role":
        yield inputs.get("assumeRolePolicy")
        for inline in inputs.get("inlinePolicies") or []:
            yield inline.get("policy")
    elif resource.type in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy",
                           "aws:ecr/repositoryPolicy:RepositoryPolicy"):
        yield inputs.get("policy")


def _actions(document: str) -> Iterator[str]:
    statements = json.loads(document)["Statement"]
    for statement in statements if isinstance(statements, list) else [statements]:
        for key in ("Action", "NotAction"):
            actions = statement.get(key, [])
            yield from [actions] if isinstance(actions, str) else actions


def unknown_actions(rendering: Rendering) -> list[str]:
    """`<urn>: <action>` for every action in an IAM document the program writes that AWS lacks."""
    return [f"{resource.urn}: {action}"
            for resource in rendering.resources
            for document in _documents(resource) if document
            for action in _actions(document) if not action_exists(action)]


@pytest.fixture(scope="module")
def every_grant() -> Rendering:
    """What the shipped stacks leave out: ECS Exec channels, SSM parameters, a scheduled job's role."""
    return render_config({"ecs-fargate:environment": "staging", "ecs-fargate:services": {
        "web": {"image": "nginx:1.27", "port": 80, "enableExecuteCommand": True, "readonlyRootFilesystem": False,
                "secrets": {"API_KEY": "arn:aws:ssm:us-east-1:123456789012:parameter/app/api-key"}}},
        "ecs-fargate:scheduledTasks": {"report": {"image": "busybox:1.36", "command": ["echo", "hi"],
                                                  "schedule": "rate(6 hours)"}}})


@pytest.fixture(scope="module")
def bootstrap() -> Rendering:
    """bootstrap/, the CI's roles, with its example stack (state bucket, pull accounts: every policy)."""
    from preflight.render import render
    from preflight.stack_config import load_stack_config

    loaded = load_stack_config(ROOT / "bootstrap", "example")
    return render(ROOT / "bootstrap", project=loaded.project, stack="example", config=loaded.config,
                  secret_keys=loaded.secret_keys)


def _iam_documents(rendering: Rendering) -> list:
    return [d for resource in rendering.resources for d in _documents(resource) if d]


@pytest.mark.parametrize("name", ["dev", "prod", "every_grant", "bootstrap"])
def test_every_action_in_our_iam_documents_exists(name, request):
    rendering = request.getfixturevalue(name)
    assert _iam_documents(rendering), "no IAM documents rendered: the collector is looking in the wrong place"
    assert unknown_actions(rendering) == [], "actions missing from AWS's Service Authorization Reference"


def test_every_action_of_bootstraps_grant_table_exists():
    """The per-resource-type table the deploy and preview roles are built from, entry by entry."""
    from bootstrap.ci_permissions import INVOKE_GRANTS, RELEASE_PULL_ACTIONS, RELEASE_PUSH_ACTIONS, RESOURCE_GRANTS

    listed = [(typ, action) for typ, grant in RESOURCE_GRANTS.items() for action in grant.all()]
    listed += [(token, action) for token, actions in INVOKE_GRANTS.items() for action in actions]
    listed += [("release", action) for action in RELEASE_PUSH_ACTIONS + RELEASE_PULL_ACTIONS]
    assert [f"{where}: {action}" for where, action in listed if not action_exists(action)] == []


def test_the_every_grant_rendering_covers_the_actions_the_stacks_do_not(every_grant):
    actions = {a for d in _iam_documents(every_grant) for a in _actions(d)}
    assert {"ssmmessages:CreateControlChannel", "ssm:GetParameters", "ecs:RunTask", "iam:PassRole"} <= actions


@pytest.mark.parametrize("action", ["ecs:RunTask", "ECS:runtask", "s3:Get*", "ssmmessages:Open?ataChannel",
                                    "sts:AssumeRole", "*"])
def test_the_check_accepts_real_actions_in_any_case_and_wildcards_that_match(action):
    assert action_exists(action)


@pytest.mark.parametrize("action", ["ecs:RunTasks", "s3:Gte*", "ec2:*Taks", "ecs", "nosuchservice:*"])
def test_the_check_rejects_misspelled_actions_and_wildcards_that_match_nothing(action):
    assert not action_exists(action)


def test_a_misspelled_action_in_a_rendered_policy_fails_naming_the_resource():
    rendering = render_config({"ecs-fargate:environment": "staging", "ecs-fargate:services": {
        "web": {"image": "nginx:1.27", "port": 80, "taskRoleStatements": [
            {"Effect": "Allow", "Action": ["ecs:RunTasks"], "Resource": ["*"]}]}}})
    [policy] = [r for r in rendering.resources if r.name == "web-roles-task-app"]
    assert unknown_actions(rendering) == [f"{policy.urn}: ecs:RunTasks"]
