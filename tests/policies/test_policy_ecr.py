"""ECR repository rules, including the lifecycle-policy stack rule."""

import pytest
from policy_testkit import lifecycle_policy, repository, stack_violations, violations

from ecs_fargate_rules._common import ECR_LIFECYCLE_POLICY, ECR_REPOSITORY


def test_compliant_repository_passes():
    for policy in ("ecr-scan-on-push", "ecr-immutable-tags"):
        assert violations(policy, ECR_REPOSITORY, repository()) == [], policy


@pytest.mark.parametrize("scanning", [None, {}, {"scanOnPush": False}])
def test_scan_on_push_off_fails(scanning):
    [message] = violations("ecr-scan-on-push", ECR_REPOSITORY,
                           repository(imageScanningConfiguration=scanning))
    assert "scanOnPush is not true" in message


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
