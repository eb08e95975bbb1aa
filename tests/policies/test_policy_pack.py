"""The pack as a whole: its policies' metadata, its entry point, and the offline evaluation path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from policy_testkit import read_port, service
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UnknownValueError

from ecs_fargate_rules import ALL_POLICIES, PACK_NAME, POLICIES_BY_NAME, ResourceRule, StackRule
from ecs_fargate_rules._common import ECS_SERVICE
from policy_evaluation import UNKNOWN, resource_args

POLICY_PACK = Path(__file__).resolve().parents[2] / "policies"

EXPECTED = {
    "ecs-taskdef-execution-role-required": "mandatory",
    "ecs-image-no-latest-tag": "mandatory",
    "ecs-image-allowed-registries": "advisory",
    "ecs-taskdef-unambiguous-definitions": "mandatory",
    "ecs-taskdef-distinct-roles": "mandatory",
    "ecs-taskdef-logging": "mandatory",
    "ecs-taskdef-no-privileged": "mandatory",
    "ecs-taskdef-awsvpc": "mandatory",
    "ecs-taskdef-no-plaintext-secrets": "mandatory",
    "ecs-taskdef-fargate-size": "mandatory",
    "ecs-taskdef-readonly-rootfs": "advisory",
    "ecs-service-circuit-breaker": "mandatory",
    "ecs-service-no-public-ip": "mandatory",
    "ecs-service-min-tasks": "mandatory",
    "ecs-exec-session-logging": "mandatory",
    "ecs-fargate-platform-version": "mandatory",
    "ecs-cluster-container-insights": "mandatory",
    "ecs-deployment-safe-rollback": "mandatory",
    "ecs-deployment-rules-not-reverted": "mandatory",
    "ecr-scan-on-push": "mandatory",
    "ecr-immutable-tags": "mandatory",
    "ecr-lifecycle-policy": "mandatory",
    "ecr-repository-policy-not-public": "mandatory",
    "alb-https-redirect": "mandatory",
    "alb-https-redirect-rules": "mandatory",
    "alb-tls-policy": "mandatory",
    "alb-drop-invalid-headers": "mandatory",
    "alb-deletion-protection": "mandatory",
    "alb-access-logs": "mandatory",
    "alb-desync-mitigation": "mandatory",
    "alb-waf": "advisory",
    "sg-task-ingress-from-alb-only": "mandatory",
    "sg-rules-managed-once": "mandatory",
    "iam-ecs-trust-principals": "mandatory",
    "iam-ecs-trust-scoped": "mandatory",
    "iam-no-wildcard-admin": "mandatory",
    "iam-no-privilege-escalation": "mandatory",
    "logs-retention-set": "mandatory",
    "aws-api-constraints": "mandatory",
    "aws-api-constraints-stack": "mandatory",
}
STACK_POLICIES = {"ecr-lifecycle-policy", "sg-task-ingress-from-alb-only", "iam-ecs-trust-scoped",
                  "iam-no-privilege-escalation", "aws-api-constraints-stack", "ecr-scan-on-push", "alb-https-redirect-rules", "alb-waf",
                  "sg-rules-managed-once", "ecs-service-min-tasks", "ecs-exec-session-logging",
                  "ecs-fargate-platform-version", "ecs-deployment-rules-not-reverted"}


def test_the_pack_has_exactly_the_specified_policies_and_default_levels():
    assert {p.name: p.enforcement_level.value for p in ALL_POLICIES} == EXPECTED
    assert len(POLICIES_BY_NAME) == len(ALL_POLICIES)


def test_stack_and_resource_policies():
    assert {p.name for p in ALL_POLICIES if isinstance(p, StackValidationPolicy)} == STACK_POLICIES
    assert all(isinstance(p, (ResourceRule, StackRule)) for p in ALL_POLICIES)


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=lambda p: p.name)
def test_every_policy_explains_itself(policy):
    assert policy.description.endswith(".") and policy.description.count(". ") == 0, "one sentence"
    assert len(policy.remediation_steps) > 20
    assert len(policy.rationale) > 20
    assert policy.severity is not None


def test_the_sdk_serializes_every_policy_for_the_engine():
    # GetAnalyzerInfo is what `pulumi preview --policy-pack` asks first; config schemas and
    # metadata must convert to protobuf.
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", ALL_POLICIES, EnforcementLevel.ADVISORY)
    info = servicer.GetAnalyzerInfo(None, None)
    assert [p.name for p in info.policies] == list(EXPECTED)
    schemas = {p.name: dict(p.configSchema.properties) for p in info.policies if p.configSchema.properties}
    assert set(schemas) == {"ecs-image-allowed-registries", "ecs-taskdef-no-plaintext-secrets",
                            "ecs-service-min-tasks", "alb-tls-policy", "sg-task-ingress-from-alb-only",
                            "iam-ecs-trust-scoped", "logs-retention-set", "aws-api-constraints",
                            "alb-desync-mitigation", "ecs-deployment-safe-rollback"}
    assert all(p.remediation_steps for p in info.policies)


def test_resource_args_match_what_the_sdk_server_hands_a_policy():
    seen: list[ResourceValidationArgs] = []
    spy = ResourceValidationPolicy(name="spy", description="Records its args.",
                                   validate=lambda args, report: seen.append(args))
    props = service(desiredCount=2, networkConfiguration={
        "assignPublicIp": False, "securityGroups": [UNKNOWN], "subnets": ["subnet-1"]})
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", [spy], EnforcementLevel.ADVISORY)
    properties = struct_pb2.Struct()
    properties.update(props)
    servicer.Analyze(analyzer_pb2.AnalyzeRequest(
        type=ECS_SERVICE, name="web", urn=resource_args(ECS_SERVICE, {}, name="web").urn,
        properties=properties), None)
    [server_args] = seen
    ours = resource_args(ECS_SERVICE, props, name="web")

    assert type(ours.props) is type(server_args.props)  # the unknown-checking proxy
    assert (ours.resource_type, ours.urn, ours.name) == (server_args.resource_type, server_args.urn,
                                                         server_args.name)
    assert ours.props["desiredCount"] == server_args.props["desiredCount"] == 2.0
    assert isinstance(server_args.props["desiredCount"], float)  # gRPC turns ints into floats
    for args in (ours, server_args):
        with pytest.raises(UnknownValueError):
            args.props["networkConfiguration"]["securityGroups"][0]


@pytest.mark.parametrize("command, cwd", [
    # How the engine starts a Python pack: the program directory, run with unbuffered output.
    ([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."], POLICY_PACK),
    ([sys.executable, "-u", str(POLICY_PACK / "__main__.py")], POLICY_PACK.parent),
], ids=["like-the-engine", "as-a-script"])
def test_main_starts_the_analyzer_server_and_prints_its_port(command, cwd):
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = read_port(process)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)
        assert info.name == "ecs-fargate"
        assert [p.name for p in info.policies] == list(EXPECTED)
    finally:
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()
