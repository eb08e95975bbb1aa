"""Task definitions, as rendered, are requests ECS accepts (botocore's RegisterTaskDefinition)."""

from __future__ import annotations

import json

import pytest

from aws_shapes import validation_errors
from testkit import SHIPPED_STACKS, render_config

TASK_DEF = "aws:ecs/taskDefinition:TaskDefinition"


def register_request(task_definition) -> dict:
    """The RegisterTaskDefinition request the provider sends for these inputs."""
    inputs = task_definition.inputs
    request = {key: inputs[key] for key in (
        "family", "taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities",
        "cpu", "memory", "runtimePlatform", "volumes") if key in inputs}
    request["containerDefinitions"] = json.loads(inputs["containerDefinitions"])
    return request


def test_a_malformed_container_definition_is_caught():
    """The check itself: a string port and a made-up log driver are what ECS would refuse."""
    errors = validation_errors("ecs", "RegisterTaskDefinition", {
        "family": "f", "containerDefinitions": [{
            "name": "app", "image": "nginx:1", "portMappings": [{"containerPort": "80"}],
            "logConfiguration": {"logDriver": "cloudwatch"}, "unknownField": 1}]})
    assert any("containerPort" in e for e in errors)
    assert any("logDriver" in e and "'cloudwatch'" in e for e in errors)
    assert any("unknownField" in e for e in errors)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_shipped_task_definition_is_a_valid_request(stack, request):
    rendering = request.getfixturevalue(stack)
    task_definitions = rendering.of_type(TASK_DEF)
    assert task_definitions
    for task_definition in task_definitions:
        errors = validation_errors("ecs", "RegisterTaskDefinition", register_request(task_definition))
        assert errors == [], f"{task_definition.urn}: {errors}"


def test_the_rollback_alarm_is_a_valid_put_metric_alarm_request(prod):
    [alarm] = prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    inputs = alarm.inputs
    request = {
        "AlarmName": alarm.outputs["name"], "AlarmDescription": inputs["alarmDescription"],
        "Namespace": inputs["namespace"], "MetricName": inputs["metricName"],
        "Dimensions": [{"Name": k, "Value": v} for k, v in inputs["dimensions"].items()],
        "Statistic": inputs["statistic"], "Period": int(inputs["period"]),
        "EvaluationPeriods": int(inputs["evaluationPeriods"]), "Threshold": inputs["threshold"],
        "ComparisonOperator": inputs["comparisonOperator"], "TreatMissingData": inputs["treatMissingData"],
    }
    assert validation_errors("cloudwatch", "PutMetricAlarm", request) == [], alarm.urn


def test_a_fully_loaded_task_definition_is_a_valid_request():
    """Every optional container setting at once: command, secrets, health check, several volumes."""
    rendering = render_config({
        "ecs-fargate:environment": "staging",
        "ecs-fargate:services": {"api": {
            "image": "ghcr.io/acme/api@sha256:" + "a" * 64, "port": 8080, "cpu": 1024, "memory": 2048,
            "command": ["serve", "--port", "8080"], "environment": {"A": "1"},
            "secrets": {"TOKEN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf:token::",
                        "KEY": "arn:aws:ssm:us-east-1:123456789012:parameter/app/key"},
            "healthCheck": {"command": ["CMD-SHELL", "wget -q -O- localhost:8080/health"],
                            "startPeriodSeconds": 30},
            "writablePaths": ["/tmp", "/var/cache/app"], "enableExecuteCommand": True,
            "readonlyRootFilesystem": False,
            "stopTimeoutSeconds": 120}},
        "ecs-fargate:scheduledTasks": {"cleanup": {"image": "busybox:1.36", "command": ["true"],
                                                   "schedule": "rate(1 day)"}},
    })
    for task_definition in rendering.of_type(TASK_DEF):
        errors = validation_errors("ecs", "RegisterTaskDefinition", register_request(task_definition))
        assert errors == [], f"{task_definition.urn}: {errors}"
