"""ECS service and cluster rules."""

import pytest
from policy_testkit import cluster, service, violations

from ecs_fargate_rules._common import ECS_CLUSTER, ECS_SERVICE


def test_every_rule_accepts_the_compliant_service_and_cluster():
    for policy in ("ecs-service-circuit-breaker", "ecs-service-no-public-ip", "ecs-service-min-tasks"):
        assert violations(policy, ECS_SERVICE, service()) == [], policy
    assert violations("ecs-cluster-container-insights", ECS_CLUSTER, cluster()) == []


# ecs-service-circuit-breaker

@pytest.mark.parametrize("breaker, missing", [
    (None, ".enable and .rollback"),
    ({"enable": False, "rollback": False}, ".enable and .rollback"),
    ({"enable": True, "rollback": False}, ".rollback must"),
    ({"enable": True}, ".rollback must"),
])
def test_circuit_breaker_needs_enable_and_rollback(breaker, missing):
    [message] = violations("ecs-service-circuit-breaker", ECS_SERVICE,
                           service(deploymentCircuitBreaker=breaker))
    assert f"deploymentCircuitBreaker{missing}" in message


def test_circuit_breaker_does_not_apply_to_code_deploy():
    props = service(deploymentCircuitBreaker=None, deploymentController={"type": "CODE_DEPLOY"})
    assert violations("ecs-service-circuit-breaker", ECS_SERVICE, props) == []


# ecs-service-no-public-ip

def test_public_ip_fails():
    props = service(networkConfiguration={"assignPublicIp": True, "subnets": ["subnet-1"],
                                          "securityGroups": ["sg-1"]})
    [message] = violations("ecs-service-no-public-ip", ECS_SERVICE, props)
    assert "assignPublicIp is true" in message


def test_service_without_network_configuration_has_no_public_ip():
    assert violations("ecs-service-no-public-ip", ECS_SERVICE, service(networkConfiguration=None)) == []


# ecs-service-min-tasks

@pytest.mark.parametrize("count, shown", [(1, "1"), (0, "0"), (None, "0")])
def test_too_few_tasks_fail(count, shown):
    [message] = violations("ecs-service-min-tasks", ECS_SERVICE, service(desiredCount=count))
    # Numbers arrive as floats over gRPC; the message still shows the whole number.
    assert f"desiredCount is {shown}, below the minimum of 2" in message


def test_minimum_is_configurable():
    assert violations("ecs-service-min-tasks", ECS_SERVICE, service(desiredCount=1), {"minimum": 1}) == []
    [message] = violations("ecs-service-min-tasks", ECS_SERVICE, service(desiredCount=2), {"minimum": 3})
    assert "below the minimum of 3" in message


def test_daemon_services_have_no_desired_count():
    props = service(desiredCount=None, schedulingStrategy="DAEMON")
    assert violations("ecs-service-min-tasks", ECS_SERVICE, props) == []


# ecs-cluster-container-insights

@pytest.mark.parametrize("value", ["enabled", "enhanced"])
def test_container_insights_on_passes(value):
    props = cluster(settings=[{"name": "containerInsights", "value": value}])
    assert violations("ecs-cluster-container-insights", ECS_CLUSTER, props) == []


@pytest.mark.parametrize("settings, shown", [
    (None, "not set"), ([], "not set"), ([{"name": "containerInsights", "value": "disabled"}], "'disabled'"),
])
def test_container_insights_off_fails(settings, shown):
    [message] = violations("ecs-cluster-container-insights", ECS_CLUSTER, cluster(settings=settings))
    assert f"containerInsights setting is {shown}" in message
