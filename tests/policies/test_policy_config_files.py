"""The per-environment `--policy-pack-config` files: well-formed, and saying what we intend."""

from __future__ import annotations

import json

import jsonschema
import pytest
from policy_testkit import (
    ALB_SG,
    TASK_SG,
    analyze,
    container,
    environment_config,
    http_listener,
    ingress_rule,
    lifecycle_policy,
    load_balancer,
    repository,
    security_group,
    service,
    task_definition,
)

from ecs_fargate_rules import ALL_POLICIES, POLICIES_BY_NAME
from ecs_fargate_rules._common import (
    ECR_REPOSITORY,
    ECS_SERVICE,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS_RULE,
    TASK_DEFINITION,
)
from preflight.policy_reference import ENVIRONMENTS, PACK_DIR, config_file, effective_settings

# The engine also accepts "remediate", but these rules only report.
LEVELS = {"advisory", "mandatory", "disabled"}


def load_config(environment: str) -> dict:
    return json.loads(config_file(environment).read_text())


def _properties(entry):
    return {k: v for k, v in entry.items() if k != "enforcementLevel"} if isinstance(entry, dict) else {}


def test_there_is_one_config_file_per_environment():
    assert sorted(p.stem for p in (PACK_DIR / "config").glob("*.json")) == sorted(ENVIRONMENTS)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_key_names_a_policy_and_every_policy_is_decided(environment):
    config = load_config(environment)
    assert set(config) - {"all"} <= set(POLICIES_BY_NAME), "unknown policy names"
    # Listing every policy makes adding one a conscious per-environment decision.
    assert set(POLICIES_BY_NAME) <= set(config)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_levels_are_valid_in_the_engines_format(environment):
    # The engine accepts a level string or an object with an optional enforcementLevel.
    for name, entry in load_config(environment).items():
        level = entry if isinstance(entry, str) else entry.get("enforcementLevel")
        assert isinstance(entry, (str, dict)), name
        assert level is None or level in LEVELS, name
        if name == "all":
            assert isinstance(entry, str) or not _properties(entry)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_config_values_validate_against_each_policys_schema(environment):
    config = load_config(environment)
    for name, (_, values) in effective_settings(environment).items():
        schema = POLICIES_BY_NAME[name].config_schema
        properties = schema.properties if schema else {}
        # As the engine builds it (type object, the properties, required) - plus no unknown keys,
        # because the engine would silently ignore a misspelt property.
        jsonschema.validate(values, {
            "type": "object", "properties": properties, "required": (schema and schema.required) or [],
            "additionalProperties": False})
        assert set(_properties(config.get(name, {}))) <= set(properties), name


def test_config_files_are_stable_json():
    for environment in ENVIRONMENTS:
        text = config_file(environment).read_text()
        assert text == json.dumps(json.loads(text), indent=2) + "\n", environment


# ---------------------------------------------------------------------------------------------
# What the levels must say.


def levels(policy_name: str) -> dict[str, str]:
    return {env: effective_settings(env)[policy_name][0] for env in ENVIRONMENTS}


def test_execution_role_is_mandatory_everywhere():
    assert levels("ecs-taskdef-execution-role-required") == dict.fromkeys(ENVIRONMENTS, "mandatory")


def test_latest_tag_is_mandatory_in_prod_and_staging_advisory_in_dev():
    assert levels("ecs-image-no-latest-tag") == {
        "dev": "advisory", "staging": "mandatory", "prod": "mandatory"}


@pytest.mark.parametrize("policy_name", ["ecs-service-no-public-ip", "ecs-service-min-tasks",
                                         "ecr-immutable-tags", "alb-https-redirect",
                                         "alb-deletion-protection", "alb-https-redirect-rules",
                                         "alb-access-logs", "ecs-deployment-safe-rollback"])
def test_production_hardening_is_mandatory_in_prod_only(policy_name):
    found = levels(policy_name)
    assert found["prod"] == "mandatory"
    assert found["dev"] in ("advisory", "disabled") and found["staging"] in ("advisory", "disabled")


def test_privilege_escalation_is_mandatory_in_prod_and_staging_advisory_in_dev():
    assert levels("iam-no-privilege-escalation") == {
        "dev": "advisory", "staging": "mandatory", "prod": "mandatory"}


def test_readonly_rootfs_is_advisory_everywhere():
    assert levels("ecs-taskdef-readonly-rootfs") == dict.fromkeys(ENVIRONMENTS, "advisory")


@pytest.mark.parametrize("policy_name", ["ecs-taskdef-no-privileged", "ecs-taskdef-no-plaintext-secrets",
                                         "sg-task-ingress-from-alb-only", "iam-ecs-trust-principals",
                                         "iam-ecs-trust-scoped",
                                         "iam-no-wildcard-admin", "ecr-repository-policy-not-public",
                                         "sg-rules-managed-once", "alb-desync-mitigation",
                                         "ecs-deployment-rules-not-reverted"])
def test_security_boundaries_are_mandatory_everywhere(policy_name):
    assert levels(policy_name) == dict.fromkeys(ENVIRONMENTS, "mandatory")


def test_waf_is_advice_in_staging_and_prod_and_off_in_dev():
    assert levels("alb-waf") == {"dev": "disabled", "staging": "advisory", "prod": "advisory"}


def test_no_environment_is_looser_than_dev_or_stricter_than_prod():
    order = {"disabled": 0, "advisory": 1, "mandatory": 2}
    for policy in ALL_POLICIES:
        found = levels(policy.name)
        assert order[found["dev"]] <= order[found["staging"]] <= order[found["prod"]], policy.name


def dev_stack(image: str = "nginx:1.27") -> list[tuple[str, str, dict]]:
    """Our dev stack's deliberate shortcuts: public subnets with a public IP, one task, plain
    HTTP, no deletion protection, no access logs, mutable tags, 7-day logs."""
    return [
        (TASK_DEFINITION, "web-task", task_definition([container(image=image)])),
        (ECS_SERVICE, "web-service", service(desiredCount=1, networkConfiguration={
            "assignPublicIp": True, "securityGroups": [TASK_SG], "subnets": ["subnet-0aaa1111"]})),
        ("aws:lb/loadBalancer:LoadBalancer", "web-alb",
                 load_balancer(enableDeletionProtection=False, accessLogs=None)),
        ("aws:lb/listener:Listener", "web-http", http_listener(defaultActions=[{
            "type": "fixed-response", "fixedResponse": {"contentType": "text/plain", "statusCode": "404"}}])),
        (SECURITY_GROUP, "web-alb-sg", security_group(ALB_SG)),
        (SECURITY_GROUP, "web-sg", security_group(TASK_SG)),
        (SECURITY_GROUP_INGRESS_RULE, "web-ingress-alb", ingress_rule()),
        (ECR_REPOSITORY, "web-repo", repository(imageTagMutability="MUTABLE")),
        ("aws:ecr/lifecyclePolicy:LifecyclePolicy", "web-lifecycle", lifecycle_policy("web")),
        ("aws:cloudwatch/logGroup:LogGroup", "web-logs", {"name": "/ecs/web", "retentionInDays": 7}),
    ]


def _mandatory(found):
    return sorted({d.policy for d in found if d.enforcement_level == "mandatory"})


def test_dev_stack_shortcuts_block_nothing_in_dev():
    assert _mandatory(analyze(dev_stack(), environment_config("dev"))) == []


def test_the_same_stack_is_blocked_in_prod_by_exactly_those_shortcuts():
    assert _mandatory(analyze(dev_stack(), environment_config("prod"))) == [
        "alb-access-logs", "alb-deletion-protection", "alb-https-redirect", "ecr-immutable-tags",
        "ecs-image-allowed-registries", "ecs-service-min-tasks", "ecs-service-no-public-ip", "logs-retention-set"]


def test_latest_image_is_advisory_in_dev_and_blocks_staging():
    dev = analyze(dev_stack(image="nginx:latest"), environment_config("dev"))
    assert [d.enforcement_level for d in dev if d.policy == "ecs-image-no-latest-tag"] == ["advisory"]
    staging = analyze(dev_stack(image="nginx"), environment_config("staging"))
    assert "ecs-image-no-latest-tag" in _mandatory(staging)
