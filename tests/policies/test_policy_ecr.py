"""ECR repository rules, including the lifecycle-policy stack rule."""

import pytest
from policy_testkit import (
    ACCOUNT,
    lifecycle_policy,
    registry_scanning,
    repository,
    repository_policy,
    stack_violations,
    violations,
)

from ecs_fargate_rules._common import (
    ECR_LIFECYCLE_POLICY,
    ECR_REGISTRY_SCANNING,
    ECR_REPOSITORY,
    ECR_REPOSITORY_POLICY,
)


def test_compliant_repository_passes():
    assert violations("ecr-immutable-tags", ECR_REPOSITORY, repository()) == []
    assert stack_violations("ecr-scan-on-push", [(ECR_REPOSITORY, "repo", repository())]) == []


@pytest.mark.parametrize("scanning", [None, {}, {"scanOnPush": False}])
def test_scan_on_push_off_fails(scanning):
    [found] = stack_violations("ecr-scan-on-push", [
        (ECR_REPOSITORY, "web-repo", repository(imageScanningConfiguration=scanning))])
    assert "repository 'web': imageScanningConfiguration.scanOnPush is not true" in found.message
    assert found.urn.endswith("::web-repo")


# Registry-level scanning (issue 9): a rule whose filter covers the repository scans it on push.

@pytest.mark.parametrize("configuration", [
    registry_scanning(),
    registry_scanning("ENHANCED", "CONTINUOUS_SCAN"),
    registry_scanning("ENHANCED", "SCAN_ON_PUSH", "w*"),
    registry_scanning("ENHANCED", "SCAN_ON_PUSH", "*eb"),
    registry_scanning("ENHANCED", "SCAN_ON_PUSH", "prod-*", "web"),
    registry_scanning("ENHANCED", "SCAN_ON_PUSH", "e"),  # no wildcard: names that contain it
    registry_scanning("BASIC", "SCAN_ON_PUSH"),
])
def test_registry_scanning_that_covers_the_repository_satisfies_scan_on_push(configuration):
    stack = [(ECR_REPOSITORY, "web-repo", repository(imageScanningConfiguration={"scanOnPush": False})),
             (ECR_REGISTRY_SCANNING, "registry", configuration)]
    assert stack_violations("ecr-scan-on-push", stack) == []


@pytest.mark.parametrize("configuration", [
    registry_scanning("ENHANCED", "SCAN_ON_PUSH", "api*"),
    registry_scanning("ENHANCED", "SCAN_ON_PUSH", "w*x"),
    registry_scanning("ENHANCED", "SCAN_ON_PUSH", "webapp"),
    registry_scanning("BASIC", "MANUAL"),
    registry_scanning("BASIC", "CONTINUOUS_SCAN"),  # not a basic frequency
    {"scanType": "ENHANCED", "rules": []},
])
def test_registry_scanning_that_misses_the_repository_does_not(configuration):
    stack = [(ECR_REPOSITORY, "web-repo", repository(imageScanningConfiguration=None)),
             (ECR_REGISTRY_SCANNING, "registry", configuration)]
    assert len(stack_violations("ecr-scan-on-push", stack)) == 1


# ecr-repository-policy-not-public

@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "ecr:BatchGetImage"},
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "ecr:BatchGetImage",
     "Condition": {"StringLike": {"aws:sourceArn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:*"}}},
    {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage",
     "Condition": {"StringEquals": {"aws:PrincipalAccount": [ACCOUNT]}}},
    {"Effect": "Deny", "Principal": "*", "Action": "ecr:*",
     "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}},
])
def test_repository_policies_confined_to_accounts_pass(statement):
    assert violations("ecr-repository-policy-not-public", ECR_REPOSITORY_POLICY, repository_policy()) == []
    assert violations("ecr-repository-policy-not-public", ECR_REPOSITORY_POLICY, repository_policy(statement)) == []


@pytest.mark.parametrize("statement", [
    {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"},
    {"Sid": "Public", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["ecr:BatchGetImage"]},
    {"Sid": "Public", "Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "ecr:*"},
    {"Sid": "Public", "Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "ecr:*"},
    {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "ecr:*",  # negated: everyone else
     "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}},
    {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "ecr:*",  # absent key: true
     "Condition": {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}},
    {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "ecr:*",
     "Condition": {"StringLike": {"aws:PrincipalAccount": "*"}}},
    {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "ecr:*",
     "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
])
def test_repository_policy_open_to_any_principal_fails(statement):
    [message] = violations("ecr-repository-policy-not-public", ECR_REPOSITORY_POLICY, repository_policy(statement))
    assert message.startswith("statement Public allows ") and "to any AWS principal" in message


def test_malformed_repository_policy_is_reported():
    [message] = violations("ecr-repository-policy-not-public", ECR_REPOSITORY_POLICY,
                           {"repository": "web", "policy": "{not json"})
    assert "policy is not valid JSON" in message


@pytest.mark.parametrize("mutability", ["IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"])
def test_immutable_tags_pass(mutability):
    assert violations("ecr-immutable-tags", ECR_REPOSITORY, repository(imageTagMutability=mutability)) == []


@pytest.mark.parametrize("mutability, shown", [
    ("MUTABLE", "MUTABLE"), ("MUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"),
    (None, "MUTABLE"),  # the provider's default
])
def test_mutable_tags_fail(mutability, shown):
    [message] = violations("ecr-immutable-tags", ECR_REPOSITORY, repository(imageTagMutability=mutability))
    assert f"imageTagMutability is {shown}," in message


def test_every_repository_with_a_lifecycle_policy_passes():
    found = stack_violations("ecr-lifecycle-policy", [
        (ECR_REPOSITORY, "web-repo", repository(name="web")),
        (ECR_REPOSITORY, "jobs-repo", repository(name="jobs")),
        (ECR_LIFECYCLE_POLICY, "web-lifecycle", lifecycle_policy("web")),
        (ECR_LIFECYCLE_POLICY, "jobs-lifecycle", lifecycle_policy("jobs")),
    ])
    assert found == []


def test_repository_without_lifecycle_policy_fails_on_its_urn():
    found = stack_violations("ecr-lifecycle-policy", [
        (ECR_REPOSITORY, "web-repo", repository(name="web")),
        (ECR_REPOSITORY, "jobs-repo", repository(name="jobs")),
        (ECR_LIFECYCLE_POLICY, "web-lifecycle", lifecycle_policy("web")),
        (ECR_LIFECYCLE_POLICY, "stray-lifecycle", lifecycle_policy("other")),
    ])
    assert len(found) == 1
    assert "repository 'jobs'" in found[0].message
    assert found[0].urn.endswith("::aws:ecr/repository:Repository::jobs-repo")


def test_stack_without_repositories_passes():
    assert stack_violations("ecr-lifecycle-policy", []) == []
