"""Rules for ECR repositories and their lifecycle policies."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy import EnforcementLevel, PolicyResource, Severity

from ._common import (
    ECR_LIFECYCLE_POLICY,
    ECR_REPOSITORY,
    Config,
    Props,
    ResourceRule,
    StackRule,
    mapping,
    of_type,
)


def check_scan_on_push(props: Props, config: Config) -> Iterator[str]:
    if mapping(props.get("imageScanningConfiguration")).get("scanOnPush") is not True:
        yield ("imageScanningConfiguration.scanOnPush is not true, so pushed images are never "
               "scanned for CVEs.")


# IMMUTABLE_WITH_EXCLUSION keeps every tag immutable except those its filters name explicitly.
_IMMUTABLE = ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION")


def check_immutable_tags(props: Props, config: Config) -> Iterator[str]:
    mutability = props.get("imageTagMutability") or "MUTABLE"  # the provider's default
    if mutability not in _IMMUTABLE:
        yield (f"imageTagMutability is {mutability}, so a push can silently replace the image "
               "behind a tag that running tasks use.")


def check_lifecycle_policies(resources: Sequence[PolicyResource], config: Config
                             ) -> Iterator[tuple[str, str]]:
    covered = {policy.props.get("repository") for policy in of_type(resources, ECR_LIFECYCLE_POLICY)}
    for repository in of_type(resources, ECR_REPOSITORY):
        name = repository.props.get("name")
        if name not in covered:
            yield (f"repository '{name}' has no aws:ecr/lifecyclePolicy:LifecyclePolicy, so images "
                   "pile up and are billed forever.", repository.urn)


POLICIES = [
    ResourceRule(
        name="ecr-scan-on-push",
        description="ECR repositories must scan images on push.",
        checks={ECR_REPOSITORY: check_scan_on_push},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        security_hub_control="ECR.1",
        rationale="Basic scanning is free and reports known CVEs in an image before it is deployed.",
        remediation_steps=("Set imageScanningConfiguration: {scanOnPush: true} (or enable enhanced "
                           "scanning for the registry)."),
    ),
    ResourceRule(
        name="ecr-immutable-tags",
        description="ECR repositories must make image tags immutable.",
        checks={ECR_REPOSITORY: check_immutable_tags},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        security_hub_control="ECR.2",
        rationale=("With mutable tags, the image a tag names can change after review, and tasks "
                   "that ECS restarts pull the new one."),
        remediation_steps=("Set imageTagMutability: 'IMMUTABLE' and give every build a unique tag "
                           "(a commit SHA or content hash)."),
    ),
    StackRule(
        name="ecr-lifecycle-policy",
        description="Every ECR repository in the stack must have a lifecycle policy.",
        check=check_lifecycle_policies,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.LOW,
        security_hub_control="ECR.3",
        rationale=("Without one, every pushed image is kept and billed forever; a policy that "
                   "expires untagged images first also keeps the tags live tasks use."),
        remediation_steps=("Add an aws.ecr.LifecyclePolicy whose repository is the repository's "
                           "name, e.g. expire untagged images after 14 days and keep the last 50."),
    ),
]
