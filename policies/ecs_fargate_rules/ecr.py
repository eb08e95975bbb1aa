"""Rules for ECR repositories and their lifecycle policies."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, Severity

from ._common import (
    ECR_LIFECYCLE_POLICY,
    ECR_REGISTRY_SCANNING,
    ECR_REPOSITORY,
    ECR_REPOSITORY_POLICY,
    Config,
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


def _filter_matches(pattern: str, name: str) -> bool:
    """An ECR scanning filter (WILDCARD, the only type): `*` stands for any characters; a filter
    without `*` matches every repository name that contains it."""
    if "*" not in pattern:
        return pattern in name
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), name) is not None


# Frequencies that scan an image when it is pushed: SCAN_ON_PUSH (basic or enhanced) and, with
# enhanced scanning, CONTINUOUS_SCAN (on push and whenever new CVEs are published).
_ON_PUSH = {"BASIC": {"SCAN_ON_PUSH"}, "ENHANCED": {"SCAN_ON_PUSH", "CONTINUOUS_SCAN"}}


def _registry_scans_on_push(configurations: Sequence[PolicyResource], name: str) -> bool:
    for configuration in configurations:
        frequencies = _ON_PUSH.get(str(configuration.props.get("scanType") or "").upper(), set())
        for rule in as_list(configuration.props.get("rules")):
            rule = mapping(rule)
            if str(rule.get("scanFrequency") or "").upper() in frequencies and any(
                    _filter_matches(str(mapping(f).get("filter") or ""), name)
                    for f in as_list(rule.get("repositoryFilters"))):
                return True
    return False


def check_scan_on_push(resources: Sequence[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    configurations = of_type(resources, ECR_REGISTRY_SCANNING)
    for repository in of_type(resources, ECR_REPOSITORY):
        if mapping(repository.props.get("imageScanningConfiguration")).get("scanOnPush") is True:
            continue
        if configurations and _registry_scans_on_push(configurations, str(repository.props.get("name"))):
            continue
        yield (f"repository '{repository.props.get('name')}': imageScanningConfiguration.scanOnPush is "
               "not true and no registry scanning configuration of the stack scans it on push, so "
               "pushed images are never scanned for CVEs.", repository.urn)


# Condition keys that confine a statement to an organization or to accounts (or to one
# principal or resource of them).
_NARROWING_KEYS = {"aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount",
                   "aws:principalarn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths",
                   "aws:sourcearn", "aws:sourceowner"}


def _narrowed(statement: Mapping[str, Any]) -> bool:
    for operator, clauses in mapping(statement.get("Condition")).items():
        # Negated operators (StringNotEquals...) and IfExists leave principals outside the scope in.
        if "Not" in operator or operator.endswith("IfExists") or operator == "Null":
            continue
        for key, values in mapping(clauses).items():
            values = [str(v) for v in as_list(values)]
            if key.lower() in _NARROWING_KEYS and values and not any(v.strip("*?") == "" for v in values):
                return True
    return False


def _open_to_everyone(statement: Mapping[str, Any]) -> bool:
    if "NotPrincipal" in statement:
        return True  # everyone except the principals it names
    return any(value == "*" for kind, value in principals(statement) if kind in ("*", "AWS"))


def check_repository_policy(props: Props, config: Config) -> Iterator[str]:
    document = parse_json_document(props.get("policy"), "policy")
    for index, statement in enumerate(statements(document)):
        if allows(statement) and _open_to_everyone(statement) and not _narrowed(statement):
            label = statement.get("Sid") or f"#{index}"
            actions = ", ".join(str(a) for a in as_list(statement.get("Action"))) or "NotAction"
            yield (f"statement {label} allows {actions} to any AWS principal (Principal '*') with no "
                   "condition confining it to your organization or accounts.")


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
    StackRule(
        name="ecr-scan-on-push",
        description=("ECR repositories must scan images on push (their own setting or the "
                     "registry's scanning configuration)."),
        check=check_scan_on_push,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        security_hub_control="ECR.1",
        rationale="Basic scanning is free and reports known CVEs in an image before it is deployed.",
        remediation_steps=("Set imageScanningConfiguration: {scanOnPush: true}, or add an "
                           "aws.ecr.RegistryScanningConfiguration (ENHANCED, or BASIC with SCAN_ON_PUSH) "
                           "whose rule's repository filter covers the repository."),
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
    ResourceRule(
        name="ecr-repository-policy-not-public",
        description="ECR repository policies must not allow any AWS principal without an org or account condition.",
        checks={ECR_REPOSITORY_POLICY: check_repository_policy},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        rationale=("Principal '*' lets every AWS account pull (or push) the images, with whatever "
                   "code and configuration they contain."),
        remediation_steps=("Name the accounts or roles as principals, or keep Principal '*' with a "
                           "condition such as StringEquals {aws:PrincipalOrgID: o-...}."),
    ),
]
