"""Every property a rule reads exists, spelt that way, on the pulumi-aws 7.x resource type.

A misspelt key (say `dropInvalidHeaders`) reads as absent, so the rule would pass or fail
everything without an error. The rules run here on recording mappings that note every key
they ask for - present or not - and each noted path is resolved against pulumi-aws's own
type metadata (the camelCase names the engine sends).
"""

from __future__ import annotations

import functools
import importlib
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from policy_testkit import (
    ALB_ARN,
    ALB_SG,
    ARN_ONLY_GROUP,
    COMPLIANT_SAMPLES,
    LISTENER_ARN,
    TASK_SG,
    TEST_RULE_ARN,
    blue_green_service,
    compliant_iam_stack,
    compliant_network_stack,
    egress_rule,
    http_listener,
    lifecycle_policy,
    listener_rule,
    load_balancer,
    registry_scanning,
    repository,
    shifting_service,
    waf_association,
    weighted_rule,
)
from pulumi import _types
from pulumi_policy import PolicyResource

from ecs_fargate_rules import ALL_POLICIES, ResourceRule
from ecs_fargate_rules._common import (
    ECR_LIFECYCLE_POLICY,
    ECR_REPOSITORY,
    SECURITY_GROUP,
    SECURITY_GROUP_RULE,
)
from policy_evaluation import over_the_wire

# Enough resources for every branch of the stack rules to read what it reads.
STACK_SAMPLES = compliant_network_stack() + [
    (SECURITY_GROUP_RULE, "ingress", {"type": "ingress", "securityGroupId": TASK_SG, "self": True,
                                      "fromPort": 0, "toPort": 0, "protocol": "-1"}),
    (SECURITY_GROUP, "by-arn", ARN_ONLY_GROUP),
    (ECR_REPOSITORY, "repo", repository()),
    (ECR_LIFECYCLE_POLICY, "lifecycle", lifecycle_policy()),
    *compliant_iam_stack(),
    (ECR_REPOSITORY, "unscanned", repository(name="jobs", imageScanningConfiguration=None)),
    ("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "registry", registry_scanning()),
    ("aws:lb/loadBalancer:LoadBalancer", "alb", load_balancer(arn=ALB_ARN)),
    ("aws:wafv2/webAclAssociation:WebAclAssociation", "waf", waf_association(ALB_ARN)),
    ("aws:lb/listener:Listener", "http", http_listener(arn=LISTENER_ARN, protocol=None)),
    ("aws:lb/listenerRule:ListenerRule", "rule", listener_rule()),
    ("aws:ecs/service:Service", "blue-green", blue_green_service(test_rule=TEST_RULE_ARN)),
    ("aws:alb/listenerRule:ListenerRule", "production", weighted_rule()),
    ("aws:lb/listenerRule:ListenerRule", "test", weighted_rule(arn=TEST_RULE_ARN)),
    ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "egress", egress_rule(securityGroupId=ALB_SG)),
    (SECURITY_GROUP, "mixed", {**ARN_ONLY_GROUP, "id": "sg-0eeeeeeeeeeeeeee1", "egress": [
        {"cidrBlocks": ["10.0.0.0/8"], "fromPort": 443, "toPort": 443, "protocol": "tcp", "self": True}]}),
    (SECURITY_GROUP_RULE, "mixed-egress", {"type": "egress", "securityGroupId": "sg-0eeeeeeeeeeeeeee1",
                                           "cidrBlocks": ["10.0.0.0/16"], "prefixListIds": ["pl-1"],
                                           "ipv6CidrBlocks": ["::/0"], "fromPort": 443, "toPort": 443,
                                           "protocol": "tcp", "self": True}),
]


class _Recording(Mapping):
    def __init__(self, target: Mapping, path: tuple[str, ...], seen: set[tuple[str, ...]]):
        self._target, self._path, self._seen = target, path, seen

    def __getitem__(self, key: str) -> Any:
        self._seen.add(self._path + (key,))
        return _record(self._target[key], self._path + (key,), self._seen)

    def __iter__(self):
        return iter(self._target)

    def __len__(self) -> int:
        return len(self._target)


class _RecordingList(Sequence):
    def __init__(self, target: list, path: tuple[str, ...], seen: set[tuple[str, ...]]):
        self._target, self._path, self._seen = target, path, seen

    def __getitem__(self, index):
        return _record(self._target[index], self._path + ("[]",), self._seen)

    def __len__(self) -> int:
        return len(self._target)


def _record(value: Any, path: tuple[str, ...], seen: set[tuple[str, ...]]) -> Any:
    if isinstance(value, dict):
        return _Recording(value, path, seen)
    if isinstance(value, list):
        return _RecordingList(value, path, seen)
    return value


def _resource_class(resource_type: str) -> type:
    """`aws:ecs/service:Service` -> `pulumi_aws.ecs.Service`."""
    _, module, name = resource_type.split(":")
    return getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), name)


def _resolve(resource_type: str, path: tuple[str, ...]) -> None:
    """Walk `path` through the resource's property types; raise KeyError on an unknown name."""
    if path == ("id",):
        return  # every custom resource's output
    properties = _types.resource_types(_resource_class(resource_type))
    for depth, key in enumerate(path):
        if key == "[]":
            continue
        if key not in properties:
            raise KeyError(f"{resource_type}: {'.'.join(path[:depth + 1])}")
        kind = _types.unwrap_type(properties[key])
        while typing.get_origin(kind) in (Sequence, list, typing.Sequence):
            kind = _types.unwrap_type(typing.get_args(kind)[0])
        if typing.get_origin(kind) in (Mapping, dict, typing.Mapping):
            return  # a map (tags, dimensions): its keys are the user's data, not property names
        properties = _types.output_type_types(kind) if _types.is_output_type(kind) else {}


def _defaults(policy) -> dict[str, Any]:
    schema = policy.config_schema.properties if policy.config_schema else {}
    return {key: spec["default"] for key, spec in schema.items()}


# Samples that take the branches the compliant ones do not: services deployed by shifting traffic,
# with and without each optional block.
EXTRA_SAMPLES: dict[str, list[dict[str, Any]]] = {
    "aws:ecs/service:Service": [
        shifting_service("CANARY"), shifting_service("LINEAR"),
        shifting_service("CANARY", deploymentConfiguration={"strategy": "CANARY"}, alarms={}),
    ],
}


@functools.cache
def _paths_read_by_resource_rules() -> dict[str, set[tuple[str, ...]]]:
    read: dict[str, set[tuple[str, ...]]] = {}
    for policy in ALL_POLICIES:
        if not isinstance(policy, ResourceRule):
            continue
        for resource_type, check in policy.checks.items():
            # The compliant sample, and an empty one for the branches taken when keys are absent.
            for props in COMPLIANT_SAMPLES[resource_type], {}, *EXTRA_SAMPLES.get(resource_type, []):
                seen = read.setdefault(resource_type, set())
                list(check(_record(over_the_wire(props), (), seen), _defaults(policy)))
    return read


CHECKED_TYPES = sorted({t for p in ALL_POLICIES if isinstance(p, ResourceRule) for t in p.checks})


@pytest.mark.parametrize("resource_type", CHECKED_TYPES)
def test_resource_rules_read_only_real_properties(resource_type):
    read = _paths_read_by_resource_rules()[resource_type]
    assert read, f"no rule read {resource_type}"
    for path in sorted(read):
        _resolve(resource_type, path)


def test_stack_rules_read_only_real_properties():
    seen_by_type: dict[str, set[tuple[str, ...]]] = {}
    for policy in ALL_POLICIES:
        if isinstance(policy, ResourceRule):
            continue
        resources = []
        for resource_type, name, props in STACK_SAMPLES:
            seen = seen_by_type.setdefault(resource_type, set())
            resources.append(PolicyResource(resource_type, _record(over_the_wire(props), (), seen),
                                            f"urn:{name}", name, None, None, None, [], {}))
        list(policy.check(resources, _defaults(policy)))
    assert all(seen_by_type[resource_type] for resource_type, _, _ in STACK_SAMPLES)
    for resource_type, paths in seen_by_type.items():
        for path in sorted(paths):
            _resolve(resource_type, path)


def test_the_resolver_takes_any_key_of_a_map_but_still_checks_the_map_property():
    _resolve("aws:cloudwatch/metricAlarm:MetricAlarm", ("dimensions", "LoadBalancer"))
    with pytest.raises(KeyError, match="dimension"):
        _resolve("aws:cloudwatch/metricAlarm:MetricAlarm", ("dimension", "LoadBalancer"))


def test_the_resolver_catches_a_misspelt_property():
    with pytest.raises(KeyError, match="dropInvalidHeaders"):
        _resolve("aws:lb/loadBalancer:LoadBalancer", ("dropInvalidHeaders",))
    with pytest.raises(KeyError, match="networkConfiguration.assignPublicIP"):
        _resolve("aws:ecs/service:Service", ("networkConfiguration", "assignPublicIP"))
    _resolve("aws:lb/listener:Listener", ("defaultActions", "[]", "redirect", "protocol"))


def test_the_traffic_shifting_paths_are_read_and_resolved():
    read = _paths_read_by_resource_rules()["aws:ecs/service:Service"]
    assert {("alarms", "alarmNames"), ("deploymentConfiguration", "bakeTimeInMinutes"),
            ("deploymentConfiguration", "canaryConfiguration", "canaryBakeTimeInMinutes"),
            ("deploymentConfiguration", "linearConfiguration", "stepBakeTimeInMinutes")} <= read
