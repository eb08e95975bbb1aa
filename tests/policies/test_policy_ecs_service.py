"""ECS service and cluster rules."""

import json

import pytest
from policy_evaluation import UNKNOWN, policy_resource
from policy_testkit import (
    ACCOUNT,
    REGION,
    cluster,
    container,
    scaling_target,
    schedule,
    service,
    stack_violations,
    task_definition,
    violations,
)
from pulumi_policy.proxy import UnknownValueError

from ecs_fargate_rules import POLICIES_BY_NAME
from ecs_fargate_rules._common import ECS_CLUSTER, ECS_SERVICE, TASK_DEFINITION
from ecs_fargate_rules.ecs_service import EVENT_TARGET, SCALING_TARGET, SCHEDULE

CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/main"


def test_every_rule_accepts_the_compliant_service_and_cluster():
    for policy in ("ecs-service-circuit-breaker", "ecs-service-no-public-ip"):
        assert violations(policy, ECS_SERVICE, service()) == [], policy
    for policy in ("ecs-service-min-tasks", "ecs-exec-session-logging", "ecs-fargate-platform-version"):
        assert stack_violations(policy, [(ECS_SERVICE, "web", service()),
                                         (ECS_CLUSTER, "main", cluster(arn=CLUSTER_ARN))]) == [], policy
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

def min_tasks(*resources, config=None):
    return [v.message for v in stack_violations("ecs-service-min-tasks", list(resources), config)]


@pytest.mark.parametrize("count, shown", [(1, "1"), (0, "0"), (None, "0")])
def test_too_few_tasks_fail(count, shown):
    [message] = min_tasks((ECS_SERVICE, "web", service(desiredCount=count)))
    # Numbers arrive as floats over gRPC; the message still shows the whole number.
    assert f"desiredCount is {shown}, below the minimum of 2" in message


def test_minimum_is_configurable():
    assert min_tasks((ECS_SERVICE, "web", service(desiredCount=1)), config={"minimum": 1}) == []
    [message] = min_tasks((ECS_SERVICE, "web", service(desiredCount=2)), config={"minimum": 3})
    assert "below the minimum of 3" in message


def test_daemon_services_have_no_desired_count():
    assert min_tasks((ECS_SERVICE, "web", service(desiredCount=None, schedulingStrategy="DAEMON"))) == []


def test_autoscaling_minimum_counts_when_desired_count_is_unset():
    # Decision (issue 9): Application Auto Scaling keeps the service at or above minCapacity.
    svc = (ECS_SERVICE, "web", service(desiredCount=None))
    assert min_tasks(svc, (SCALING_TARGET, "scaling", scaling_target(minCapacity=2))) == []
    [message] = min_tasks(svc, (SCALING_TARGET, "scaling", scaling_target(minCapacity=1)))
    assert "the autoscaling minCapacity is 1, below the minimum of 2" in message


def test_autoscaling_of_another_service_does_not_count():
    svc = (ECS_SERVICE, "web", service(desiredCount=None))
    other = (SCALING_TARGET, "scaling", scaling_target(resourceId="service/main/worker"))
    other_cluster = (SCALING_TARGET, "scaling2", scaling_target(resourceId="service/other/web"))
    [message] = min_tasks(svc, other, other_cluster)
    assert "desiredCount is 0" in message


def test_autoscaling_target_with_unknown_resource_id_links_through_its_dependency():
    svc = policy_resource(ECS_SERVICE, service(desiredCount=None), name="web")
    target = policy_resource(SCALING_TARGET, scaling_target(resourceId=UNKNOWN), name="scaling")
    target.property_dependencies = {"resourceId": [svc]}
    policy = POLICIES_BY_NAME["ecs-service-min-tasks"]
    assert list(policy.check([svc, target], {"minimum": 2})) == []
    unlinked = policy_resource(SCALING_TARGET, scaling_target(resourceId=UNKNOWN), name="scaling")
    with pytest.raises(UnknownValueError):
        list(policy.check([svc, unlinked], {"minimum": 2}))


# ecs-exec-session-logging

def exec_logging(cluster_props, *extra, **service_overrides):
    svc = service(**{"enableExecuteCommand": True, **service_overrides})
    resources = [(ECS_SERVICE, "web", svc), (ECS_CLUSTER, "main", {"arn": CLUSTER_ARN, **cluster_props}), *extra]
    return [v.message for v in stack_violations("ecs-exec-session-logging", resources)]


def exec_configuration(**configuration):
    return {"configuration": {"executeCommandConfiguration": configuration}}


def test_exec_with_session_logging_to_cloudwatch_or_s3_passes():
    assert exec_logging(exec_configuration(logging="OVERRIDE", logConfiguration={
        "cloudWatchLogGroupName": "/ecs/exec"})) == []
    assert exec_logging(exec_configuration(logging="OVERRIDE", logConfiguration={"s3BucketName": "audit"})) == []


@pytest.mark.parametrize("configuration, reason", [
    (exec_configuration(logging="NONE"), "logging is NONE"),
    (exec_configuration(logging="OVERRIDE"), "OVERRIDE without a cloudWatchLogGroupName or s3BucketName"),
    (exec_configuration(logging="OVERRIDE", logConfiguration={"cloudWatchEncryptionEnabled": True}),
     "OVERRIDE without"),
])
def test_exec_without_session_logging_fails(configuration, reason):
    [message] = exec_logging(configuration)
    assert "enableExecuteCommand is true" in message and reason in message


def test_exec_default_logging_needs_the_awslogs_driver_in_the_task_definition():
    # DEFAULT (also when unset) writes sessions through the task's awslogs configuration.
    task_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:3"
    awslogs = (TASK_DEFINITION, "web-task", task_definition(arn=task_arn))
    firelens = (TASK_DEFINITION, "web-task", task_definition(arn=task_arn, containerDefinitions=json.dumps(
        [container(logConfiguration={"logDriver": "awsfirelens"})])))
    assert exec_logging({}, awslogs) == []
    assert exec_logging(exec_configuration(logging="DEFAULT"), awslogs) == []
    [message] = exec_logging({}, firelens)
    assert "DEFAULT" in message and "container(s) app of web-task do not use the awslogs driver" in message


def test_exec_off_or_cluster_outside_the_stack_is_not_judged():
    assert exec_logging(exec_configuration(logging="NONE"), enableExecuteCommand=False) == []
    assert exec_logging(exec_configuration(logging="NONE"), cluster="arn:aws:ecs:us-east-1:1:cluster/x") == []


# ecs-fargate-platform-version

def platform(*resources):
    return [v.message for v in stack_violations("ecs-fargate-platform-version", list(resources))]


@pytest.mark.parametrize("version", [None, "LATEST", "1.4.0"])
def test_current_platform_versions_pass(version):
    assert platform((ECS_SERVICE, "web", service(launchType="FARGATE", platformVersion=version))) == []


@pytest.mark.parametrize("version", ["1.3.0", "1.0.0"])
def test_old_linux_platform_versions_fail(version):
    [message] = platform((ECS_SERVICE, "web", service(launchType="FARGATE", platformVersion=version)))
    assert f"platformVersion pins Fargate platform version {version}" in message
    spot = service(capacityProviderStrategies=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
                   platformVersion=version)
    assert len(platform((ECS_SERVICE, "web", spot))) == 1


def test_old_platform_version_of_a_scheduled_task_fails():
    job = schedule()
    job["target"]["ecsParameters"]["platformVersion"] = "1.3.0"
    [message] = platform((SCHEDULE, "nightly", job))
    assert "target.ecsParameters.platformVersion pins" in message
    rule = {"arn": CLUSTER_ARN, "rule": "nightly",
            "ecsTarget": {"taskDefinitionArn": "web:3", "launchType": "FARGATE", "platformVersion": "1.2.0"}}
    assert len(platform((EVENT_TARGET, "nightly", rule))) == 1


def test_windows_and_ec2_have_their_own_versions():
    windows = task_definition(arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:3",
                              runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"})
    assert platform((ECS_SERVICE, "web", service(launchType="FARGATE", platformVersion="1.0.0")),
                    (TASK_DEFINITION, "web-task", windows)) == []
    assert platform((ECS_SERVICE, "web", service(launchType="EC2", platformVersion="1.0.0"))) == []


def test_unknown_task_definition_without_dependency_is_not_runnable():
    svc = policy_resource(ECS_SERVICE, service(launchType="FARGATE", platformVersion="1.3.0",
                                               taskDefinition=UNKNOWN), name="web")
    policy = POLICIES_BY_NAME["ecs-fargate-platform-version"]
    with pytest.raises(UnknownValueError):
        list(policy.check([svc], {}))


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
