"""Rules on values that are unknown during preview, as the engine sends them.

During `pulumi preview`, an input computed from another resource's output is an unknown
sentinel. The SDK's proxy raises `UnknownValueError` when a rule reads one, and its server turns
that into an advisory "can't run policy ... during preview" note instead of a verdict. A rule
must never fail any other way on unknowns: a Python error aborts the engine's analysis.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from policy_testkit import (
    COMPLIANT_SAMPLES,
    POLICY_PACK,
    analyze,
    cluster,
    compliant_iam_stack,
    ALB_ARN,
    LISTENER_ARN,
    TARGET_GROUP_ARN,
    TEST_RULE_ARN,
    blue_green_service,
    shifting_service,
    weighted_rule,
    compliant_network_stack,
    http_listener,
    ingress_rule,
    https_listener,
    lifecycle_policy,
    listener_rule,
    load_balancer,
    log_group,
    repository,
    repository_policy,
    role,
    service,
    stack_violations,
    task_definition,
    violations,
    waf_association,
)
from pulumi_policy.proxy import UnknownValueError

from ecs_fargate_rules import ALL_POLICIES, POLICIES_BY_NAME, ResourceRule
from ecs_fargate_rules._common import (
    ECR_LIFECYCLE_POLICY,
    ECR_REPOSITORY,
    ECR_REPOSITORY_POLICY,
    ECS_CLUSTER,
    ECS_SERVICE,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    LISTENERS,
    LOAD_BALANCERS,
    LOG_GROUP,
    SECURITY_GROUP_INGRESS_RULE,
    TASK_DEFINITION,
    WAF_ASSOCIATIONS,
)
from policy_evaluation import (
    UNKNOWN,
    UNKNOWN_ARRAY,
    UNKNOWN_BOOL,
    UNKNOWN_NUMBER,
    UNKNOWN_OBJECT,
    evaluate,
    policy_resource,
    resource_args,
    stack_args,
)

LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
SERVICE_NETWORK = {"assignPublicIp": False, "securityGroups": [UNKNOWN], "subnets": UNKNOWN_ARRAY}

# For each rule: resources whose value that the rule needs is unknown.
PREVIEW_CASES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "ecs-image-no-latest-tag": [(TASK_DEFINITION, task_definition(containerDefinitions=UNKNOWN))],
    "ecs-image-allowed-registries": [(TASK_DEFINITION, task_definition(containerDefinitions=UNKNOWN))],
    "ecs-taskdef-distinct-roles": [(TASK_DEFINITION, task_definition(taskRoleArn=UNKNOWN))],
    "ecs-taskdef-logging": [(TASK_DEFINITION, task_definition(containerDefinitions=UNKNOWN))],
    "ecs-taskdef-no-privileged": [(TASK_DEFINITION, task_definition(containerDefinitions=UNKNOWN))],
    "ecs-taskdef-awsvpc": [(TASK_DEFINITION, task_definition(networkMode=UNKNOWN))],
    "ecs-taskdef-no-plaintext-secrets": [(TASK_DEFINITION, task_definition(containerDefinitions=UNKNOWN))],
    "ecs-taskdef-fargate-size": [(TASK_DEFINITION, task_definition(cpu=UNKNOWN))],
    "ecs-taskdef-readonly-rootfs": [(TASK_DEFINITION, task_definition(containerDefinitions=UNKNOWN))],
    "ecs-service-circuit-breaker": [(ECS_SERVICE, service(deploymentCircuitBreaker={
        "enable": UNKNOWN_BOOL, "rollback": True}))],
    "ecs-service-no-public-ip": [(ECS_SERVICE, service(networkConfiguration={
        **SERVICE_NETWORK, "assignPublicIp": UNKNOWN_BOOL}))],
    "ecs-taskdef-unambiguous-definitions": [(TASK_DEFINITION, task_definition(containerDefinitions=UNKNOWN))],
    "ecs-service-min-tasks": [(ECS_SERVICE, service(desiredCount=UNKNOWN_NUMBER))],
    # Which cluster a service with ECS Exec runs in is not known, and it depends on none in the stack.
    "ecs-exec-session-logging": [(ECS_SERVICE, service(enableExecuteCommand=True, cluster=UNKNOWN))],
    "ecs-fargate-platform-version": [(ECS_SERVICE, service(launchType="FARGATE", platformVersion=UNKNOWN))],
    "ecs-cluster-container-insights": [(ECS_CLUSTER, cluster(settings=UNKNOWN_ARRAY))],
    # A canary whose bake time comes from an output not known yet.
    "ecs-deployment-safe-rollback": [(ECS_SERVICE, shifting_service("CANARY", deploymentConfiguration={
        "strategy": "CANARY", "bakeTimeInMinutes": UNKNOWN}))],
    # A production rule not known yet, and the service depends on no rule of the stack.
    "ecs-deployment-rules-not-reverted": [(ECS_SERVICE, blue_green_service(loadBalancers=[{
        "targetGroupArn": TARGET_GROUP_ARN, "containerName": "app", "containerPort": 8080,
        "advancedConfiguration": {"productionListenerRule": UNKNOWN}}])), (LISTENER_RULE, weighted_rule(arn=UNKNOWN))],
    "ecr-scan-on-push": [(ECR_REPOSITORY, repository(imageScanningConfiguration=UNKNOWN_OBJECT))],
    "ecr-immutable-tags": [(ECR_REPOSITORY, repository(imageTagMutability=UNKNOWN))],
    "ecr-lifecycle-policy": [(ECR_REPOSITORY, repository()),
                             (ECR_LIFECYCLE_POLICY, lifecycle_policy(repository_name=UNKNOWN))],
    "alb-https-redirect": [(LISTENERS[0], http_listener(defaultActions=UNKNOWN_ARRAY))],
    "alb-tls-policy": [(LISTENERS[0], https_listener(sslPolicy=UNKNOWN))],
    "alb-drop-invalid-headers": [(LOAD_BALANCERS[0], load_balancer(dropInvalidHeaderFields=UNKNOWN_BOOL))],
    "alb-deletion-protection": [(LOAD_BALANCERS[0], load_balancer(enableDeletionProtection=UNKNOWN_BOOL))],
    "alb-access-logs": [(LOAD_BALANCERS[0], load_balancer(accessLogs=UNKNOWN_OBJECT))],
    "alb-desync-mitigation": [(LOAD_BALANCERS[0], load_balancer(desyncMitigationMode=UNKNOWN))],
    # A rule of a listener outside the stack whose ARN is not known yet.
    "alb-https-redirect-rules": [(LISTENER_RULE, listener_rule(listenerArn=UNKNOWN))],
    # An association of a web ACL with something not known yet: it may be this load balancer.
    "alb-waf": [(LOAD_BALANCERS[0], load_balancer(arn=ALB_ARN)), (WAF_ASSOCIATIONS[0], waf_association(UNKNOWN))],
    "ecr-repository-policy-not-public": [(ECR_REPOSITORY_POLICY, repository_policy() | {"policy": UNKNOWN})],
    "sg-rules-managed-once": [(SECURITY_GROUP_INGRESS_RULE, ingress_rule(securityGroupId=UNKNOWN))],
    "sg-task-ingress-from-alb-only": [(ECS_SERVICE, service(networkConfiguration=SERVICE_NETWORK))],
    "iam-ecs-trust-principals": [(IAM_ROLE, role(assumeRolePolicy=UNKNOWN))],
    "iam-ecs-trust-scoped": [(IAM_ROLE, role(assumeRolePolicy=UNKNOWN))],
    "iam-no-wildcard-admin": [(IAM_ROLE_POLICY, {"role": "web-task", "policy": UNKNOWN})],
    "iam-no-privilege-escalation": [(IAM_ROLE, role(inlinePolicies=[{"name": "app", "policy": UNKNOWN}]))],
    "logs-retention-set": [(LOG_GROUP, log_group(retentionInDays=UNKNOWN_NUMBER))],
    # Judges every known value first; the log group's name passes, its retention is unknown.
    "aws-api-constraints": [(LOG_GROUP, log_group(retentionInDays=UNKNOWN_NUMBER))],
    # Two rules of listeners not yet known: whether their priorities clash can't be told.
    "aws-api-constraints-stack": [(LISTENER_RULE, listener_rule(listenerArn=UNKNOWN)),
                                  (LISTENER_RULE, listener_rule(listenerArn=UNKNOWN))],
}
CONFIG = {"ecs-image-allowed-registries": {"allowedRegistries": ["docker.io/library/"]}}
# As a `--policy-pack-config` file would put it: every rule mandatory, and the config above.
EVERYTHING_MANDATORY = {"all": ("mandatory", {}), **{name: (None, values) for name, values in CONFIG.items()}}
# The pack reports the version of PulumiPolicy.yaml, as the CLI does.
PACK_VERSION = yaml.load((POLICY_PACK / "PulumiPolicy.yaml").read_text(), Loader=yaml.BaseLoader)["version"]


def _run(policy_name: str, resources: list[tuple[str, dict[str, Any]]]) -> list:
    policy = POLICIES_BY_NAME[policy_name]
    config = CONFIG.get(policy_name)
    if isinstance(policy, ResourceRule):
        [(resource_type, props)] = resources
        return evaluate(policy, resource_args(resource_type, props, config=config))
    stack = [policy_resource(t, p, name=f"r{i}") for i, (t, p) in enumerate(resources)]
    return evaluate(policy, stack_args(stack, config=config))


def test_every_rule_has_a_preview_case():
    assert set(PREVIEW_CASES) == {p.name for p in ALL_POLICIES} - {"ecs-taskdef-execution-role-required"}


@pytest.mark.parametrize("policy_name", sorted(PREVIEW_CASES))
def test_rule_reading_an_unknown_value_raises_the_sdks_unknown_error(policy_name):
    with pytest.raises(UnknownValueError) as raised:
        _run(policy_name, PREVIEW_CASES[policy_name])
    assert "can't be known during preview" in raised.value.message


@pytest.mark.parametrize("policy_name", sorted(PREVIEW_CASES))
def test_engine_gets_an_advisory_cannot_run_note_even_for_mandatory_rules(policy_name):
    resources = [(t, f"r{i}", p) for i, (t, p) in enumerate(PREVIEW_CASES[policy_name])]
    found = [d for d in analyze(resources, EVERYTHING_MANDATORY) if d.policy == policy_name]
    assert [(d.enforcement_level, d.skipped) for d in found] == [("advisory", True)]
    assert found[0].message.startswith(
        f"can't run policy '{policy_name}' from policy pack 'ecs-fargate@v{PACK_VERSION}' during preview: ")


def test_unknown_execution_role_counts_as_set():
    # The role is created in the same update, so its ARN is unknown during preview; an
    # unknown value is still a value, so the mandatory rule passes instead of being skipped.
    props = task_definition(executionRoleArn=UNKNOWN)
    assert violations("ecs-taskdef-execution-role-required", TASK_DEFINITION, props) == []
    found = analyze([(TASK_DEFINITION, "web", props)], EVERYTHING_MANDATORY)
    assert not [d for d in found if d.policy == "ecs-taskdef-execution-role-required"]


def test_unknowns_a_rule_does_not_read_do_not_stop_it():
    props = service(desiredCount=1, networkConfiguration={**SERVICE_NETWORK, "assignPublicIp": True},
                    taskDefinition=UNKNOWN, cluster=UNKNOWN)
    [message] = violations("ecs-service-no-public-ip", ECS_SERVICE, props)
    assert "assignPublicIp is true" in message
    [violation] = stack_violations("ecs-service-min-tasks", [(ECS_SERVICE, "web", props)])
    assert "desiredCount is 1" in violation.message


def test_ecr_lifecycle_rule_runs_when_only_unrelated_outputs_are_unknown():
    stack = [(ECR_REPOSITORY, "repo", repository(name="web", repositoryUrl=UNKNOWN, arn=UNKNOWN))]
    [violation] = stack_violations("ecr-lifecycle-policy", stack)
    assert "repository 'web'" in violation.message


# ---------------------------------------------------------------------------------------------
# Sweep: make each value of every sample unknown in turn; a rule either reaches a verdict or
# raises the SDK's UnknownValueError, and nothing else.


def _unknown_for(value: Any) -> str:
    if isinstance(value, bool):
        return UNKNOWN_BOOL
    if isinstance(value, (int, float)):
        return UNKNOWN_NUMBER
    if isinstance(value, list):
        return UNKNOWN_ARRAY
    if isinstance(value, dict):
        return UNKNOWN_OBJECT
    return UNKNOWN


def _with_one_unknown(value: Any) -> Iterator[Any]:
    """Copies of `value` with one nested value (at any depth) replaced by its unknown sentinel."""
    children = (value.items() if isinstance(value, dict)
                else enumerate(value) if isinstance(value, list) else ())
    for key, child in children:
        replacement = copy.deepcopy(value)
        replacement[key] = _unknown_for(child)
        yield replacement
        for variant in _with_one_unknown(child):
            replacement = copy.deepcopy(value)
            replacement[key] = variant
            yield replacement


def _verdict_or_unknown(run) -> str:
    try:
        run()
    except UnknownValueError:
        return "unknown"
    return "verdict"


# Rules that judge only some resources of a type are swept over one they judge.
SWEPT_SAMPLES = {"ecs-deployment-safe-rollback": {ECS_SERVICE: shifting_service("LINEAR")}}


@pytest.mark.parametrize("policy", [p for p in ALL_POLICIES if isinstance(p, ResourceRule)],
                         ids=lambda p: p.name)
def test_resource_rules_survive_any_single_unknown(policy):
    outcomes = set()
    for resource_type in policy.checks:
        sample = SWEPT_SAMPLES.get(policy.name, {}).get(resource_type, COMPLIANT_SAMPLES[resource_type])
        for variant in _with_one_unknown(sample):
            outcomes.add(_verdict_or_unknown(lambda: evaluate(
                policy, resource_args(resource_type, variant, config=CONFIG.get(policy.name)))))
    # Both paths were exercised; the execution-role rule treats an unknown as a value.
    never_unknown = policy.name == "ecs-taskdef-execution-role-required"
    assert outcomes == ({"verdict"} if never_unknown else {"verdict", "unknown"})


STACKS = {
    "sg-task-ingress-from-alb-only": compliant_network_stack(),
    "aws-api-constraints-stack": [(LISTENER_RULE, "api", listener_rule()),
                                  (LISTENER_RULE, "web", listener_rule(priority=20))],
    "ecr-lifecycle-policy": [(ECR_REPOSITORY, "repo", repository()),
                             (ECR_LIFECYCLE_POLICY, "lifecycle", lifecycle_policy())],
    "iam-no-privilege-escalation": compliant_iam_stack(),
    "ecr-scan-on-push": [(ECR_REPOSITORY, "repo", repository(imageScanningConfiguration=None)),
                         ("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "registry",
                          {"scanType": "ENHANCED", "rules": [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [
                              {"filter": "*", "filterType": "WILDCARD"}]}]})],
    "alb-https-redirect-rules": [(LISTENERS[0], "web-http", http_listener(arn=LISTENER_ARN)),
                                 (LISTENER_RULE, "api", listener_rule(actions=[{"type": "redirect", "redirect": {
                                     "protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]))],
    "alb-waf": [(LOAD_BALANCERS[0], "web-alb", load_balancer(arn=ALB_ARN)),
                (WAF_ASSOCIATIONS[0], "web-waf", waf_association(ALB_ARN))],
    "sg-rules-managed-once": compliant_network_stack(),
    "ecs-deployment-rules-not-reverted": [(ECS_SERVICE, "web", blue_green_service(test_rule=TEST_RULE_ARN)),
                                          (LISTENER_RULE, "web-production", weighted_rule()),
                                          (LISTENER_RULE, "web-test", weighted_rule(arn=TEST_RULE_ARN))],
}


@pytest.mark.parametrize("policy_name", sorted(STACKS))
def test_stack_rules_survive_any_single_unknown(policy_name):
    stack = STACKS[policy_name]
    outcomes = set()
    for index, (_type, _name, props) in enumerate(stack):
        for variant in _with_one_unknown(props):
            resources = [(t, n, variant if i == index else p) for i, (t, n, p) in enumerate(stack)]
            outcomes.add(_verdict_or_unknown(lambda: stack_violations(policy_name, resources)))
    assert outcomes == {"verdict", "unknown"}
