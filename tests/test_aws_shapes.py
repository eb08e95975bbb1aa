"""Task definitions and services, as rendered, are requests ECS accepts (botocore's RegisterTaskDefinition,
CreateService and UpdateService)."""

from __future__ import annotations

import functools
import json
import re

import pytest

from aws_shapes import validation_errors
from ecs_service_request import (
    PROVIDER_ONLY,
    ProviderRefuses,
    Untranslated,
    create_service_request,
    update_service_request,
)
from testkit import SHIPPED_STACKS, render_config, render_fixture_stack

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


ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _dimensions(dimensions: dict) -> list[dict]:
    return [{"Name": name, "Value": value} for name, value in dimensions.items()]


def put_metric_alarm_request(alarm) -> dict:
    """The PutMetricAlarm request the provider sends for a MetricAlarm's inputs (terraform-provider-aws
    internal/service/cloudwatch/metric_alarm.go, expandPutMetricAlarmInput and expandMetricAlarmMetrics):
    a single metric, or metric queries (`metric_query`) each with an id, an expression or a metric stat."""
    inputs = alarm.inputs
    request = {
        "AlarmName": alarm.outputs["name"], "ComparisonOperator": inputs["comparisonOperator"],
        "EvaluationPeriods": int(inputs["evaluationPeriods"]), "Threshold": inputs["threshold"],
        "TreatMissingData": inputs.get("treatMissingData", "missing"),
        "ActionsEnabled": inputs.get("actionsEnabled", True),
    }
    for key, field in (("alarmDescription", "AlarmDescription"), ("namespace", "Namespace"),
                       ("metricName", "MetricName"), ("statistic", "Statistic"),
                       ("extendedStatistic", "ExtendedStatistic"), ("unit", "Unit")):
        if inputs.get(key):
            request[field] = inputs[key]
    if inputs.get("period"):
        request["Period"] = int(inputs["period"])
    if inputs.get("dimensions"):
        request["Dimensions"] = _dimensions(inputs["dimensions"])
    queries = []
    for query in inputs.get("metricQueries") or []:
        built = {"Id": query["id"], "ReturnData": query.get("returnData", False)}
        for key, field in (("expression", "Expression"), ("label", "Label"), ("accountId", "AccountId")):
            if query.get(key):
                built[field] = query[key]
        if query.get("period"):
            built["Period"] = int(query["period"])
        if query.get("metric"):
            metric = query["metric"]
            stat = {"Metric": {"MetricName": metric["metricName"]}, "Stat": metric["stat"],
                    "Period": int(metric.get("period", 0))}
            if metric.get("namespace"):
                stat["Metric"]["Namespace"] = metric["namespace"]
            if metric.get("dimensions"):
                stat["Metric"]["Dimensions"] = _dimensions(metric["dimensions"])
            if metric.get("unit"):
                stat["Unit"] = metric["unit"]
            built["MetricStat"] = stat
        queries.append(built)
    if queries:
        request["Metrics"] = queries
    return request


SINGLE_METRIC_ONLY = ("MetricName", "Namespace", "Dimensions", "Statistic", "ExtendedStatistic", "Period", "Unit")


def put_metric_alarm_errors(request: dict) -> list[str]:
    """What CloudWatch refuses in a PutMetricAlarm request: botocore's model (types, required members,
    enums) and the rules of the API reference it cannot express: `Metrics` excludes the single-metric
    parameters, exactly one query returns the data the alarm watches (an anomaly-detection alarm,
    with `ThresholdMetricId`, returns its band too), each query is an expression or a metric stat,
    ids are unique and start with a lowercase letter, an expression names only the ids of other
    queries (functions are upper case: MAX, FILL, IF), and at most 10 queries are metric stats and
    10 expressions."""
    errors = validation_errors("cloudwatch", "PutMetricAlarm", request)
    queries = request.get("Metrics")
    if not queries:
        return errors + [f"{key}: required without Metrics" for key in ("MetricName", "Namespace", "Period")
                         if key not in request]
    errors += [f"{key}: not allowed with Metrics" for key in SINGLE_METRIC_ONLY if key in request]
    returned = [q["Id"] for q in queries if q.get("ReturnData", True)]
    if len(returned) != (2 if request.get("ThresholdMetricId") else 1):
        errors.append(f"Metrics: exactly one query must return data, {returned} do")
    ids = [q["Id"] for q in queries]
    if len(set(ids)) != len(ids):
        errors.append(f"Metrics: ids are not unique: {ids}")
    for query in queries:
        if ("Expression" in query) == ("MetricStat" in query):
            errors.append(f"Metrics[{query['Id']}]: one of Expression and MetricStat")
        if not re.fullmatch(r"[a-z][a-zA-Z0-9_]*", query["Id"]):
            errors.append(f"Metrics[{query['Id']}]: an id starts with a lowercase letter (letters, digits, _)")
        named = set(re.findall(r"\b[a-z][a-zA-Z0-9_]*\b", query.get("Expression", "")))
        if unknown := sorted(named - (set(ids) - {query["Id"]})):
            errors.append(f"Metrics[{query['Id']}]: the expression names no other query's id: {unknown}")
    for kind in ("MetricStat", "Expression"):
        if sum(kind in q for q in queries) > 10:
            errors.append(f"Metrics: at most 10 queries with {kind}")
    return errors


def test_the_put_metric_alarm_check_catches_what_cloudwatch_refuses():
    both = {"AlarmName": "a", "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 1, "Threshold": 1.0,
            "MetricName": "m", "Namespace": "n", "Period": 60, "Statistic": "Sum",
            "Metrics": [{"Id": "Total", "ReturnData": True, "Expression": "a + b"},
                        {"Id": "q", "ReturnData": True, "MetricStat": {
                            "Metric": {"MetricName": "m", "Namespace": "n"}, "Period": 60, "Stat": "Sum"}}]}
    errors = put_metric_alarm_errors(both)
    assert "MetricName: not allowed with Metrics" in errors and "Statistic: not allowed with Metrics" in errors
    assert any("exactly one query must return data" in e for e in errors)
    assert any("Metrics[Total]: an id starts with a lowercase letter" in e for e in errors)
    assert any("Metrics[Total]: the expression names no other query's id: ['a', 'b']" in e for e in errors)
    assert any("the expression names no other query's id: ['e']" in e
               for e in put_metric_alarm_errors({**both, "Metrics": [{"Id": "e", "Expression": "FILL(e, 0)"}]}))
    assert put_metric_alarm_errors({"AlarmName": "a", "ComparisonOperator": "Above", "EvaluationPeriods": 1,
                                    "Threshold": 1.0, "MetricName": "m", "Namespace": "n", "Statistic": "Sum"})


@pytest.mark.parametrize("stack", (*SHIPPED_STACKS, "strategies"))
def test_every_rollback_alarm_is_a_valid_put_metric_alarm_request(stack, request):
    for alarm in stack_rendering(stack, request).of_type(ALARM):
        assert put_metric_alarm_errors(put_metric_alarm_request(alarm)) == [], alarm.urn


def test_the_rollback_alarm_is_a_valid_put_metric_alarm_request(prod, staging):
    """Prod's canary api: a 5xx, a 5xx rate and a p99 latency alarm, each over both target groups
    through metric math; staging's rolling web service: one 5xx alarm on its one target group."""
    alarms = {alarm.name: put_metric_alarm_request(alarm) for alarm in prod.of_type(ALARM)}
    assert sorted(alarms) == ["api-5xx", "api-5xx-rate", "api-p99"]
    for name, built in alarms.items():
        assert put_metric_alarm_errors(built) == [], name
        data = [q for q in built["Metrics"] if q["ReturnData"]]
        assert len(data) == 1 and "primary" in data[0]["Expression"] and "alternate" in data[0]["Expression"], name
    for name in ("api-5xx", "api-p99"):
        assert [q["Id"] for q in alarms[name]["Metrics"] if "MetricStat" in q] == ["primary", "alternate"], name
    assert [q["Id"] for q in alarms["api-5xx-rate"]["Metrics"] if "MetricStat" in q] == [
        "errors_primary", "requests_primary", "errors_alternate", "requests_alternate"]
    assert alarms["api-5xx-rate"]["Threshold"] == 5.0  # percent
    assert alarms["api-p99"]["Threshold"] == 2.0  # seconds: TargetResponseTime's unit
    [single] = staging.of_type(ALARM)
    built = put_metric_alarm_request(single)
    assert "Metrics" not in built and (built["MetricName"], built["Statistic"], built["Period"]) == \
        ("HTTPCode_Target_5XX_Count", "Sum", 60)
    assert put_metric_alarm_errors(built) == [], single.urn


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


# ---------------------------------------------------------------------------------------------
# ECS services: the CreateService and UpdateService requests pulumi-aws sends for the rendered inputs
# (tests/ecs_service_request.py follows terraform-provider-aws's service.go).

SERVICE = "aws:ecs/service:Service"
SERVICE_STACKS = (*SHIPPED_STACKS, "strategies")
"""Stacks whose every ECS service is checked: the shipped ones (conftest fixtures) and fixture stacks
(tests/fixtures/stacks), among them one service per deployment strategy."""


@functools.cache
def _fixture_rendering(name: str):
    return render_fixture_stack(name)


def stack_rendering(stack: str, request):
    """A shipped stack's session fixture, or a fixture stack rendered once."""
    return request.getfixturevalue(stack) if stack in SHIPPED_STACKS else _fixture_rendering(stack)


def service_request_errors(rendering) -> dict[str, list[str]]:
    """Per ECS service of a rendering (by URN), what botocore's ECS model refuses in the CreateService
    and the UpdateService request the provider would send - or why the provider sends none."""
    found = {}
    for service in rendering.of_type(SERVICE):
        errors = []
        for operation, build in (("CreateService", create_service_request), ("UpdateService", update_service_request)):
            try:
                errors += [f"{operation}: {e}" for e in validation_errors("ecs", operation, build(service.inputs))]
            except ProviderRefuses as refused:
                errors.append(f"{operation}: the provider refuses the inputs: {refused}")
        found[service.urn] = errors
    return found


@pytest.mark.parametrize("stack", SERVICE_STACKS)
def test_every_ecs_service_is_a_valid_create_and_update_request(stack, request):
    found = service_request_errors(stack_rendering(stack, request))
    assert found, f"{stack} renders no ECS service"
    assert {urn: errors for urn, errors in found.items() if errors} == {}


TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/0123456789abcdef"
ALTERNATE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-alt/fedcba9876543210"
PRODUCTION_RULE = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/"
                   "f2f7dc8efc522ab2/9683b2d02a6cabee")
TEST_RULE = PRODUCTION_RULE.replace("9683b2d02a6cabee", "1a2b3c4d5e6f7a8b")


def service_inputs(strategy: str, **changes) -> dict:
    """An aws.ecs.Service's inputs as rendered (camelCase, numbers as floats, bake times as strings)
    with every knob of `strategy` and of the service set."""
    deployment = {"strategy": strategy, "bakeTimeInMinutes": "10", "lifecycleHooks": [
        {"targetType": "AWS_LAMBDA", "hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:smoke",
         "roleArn": "arn:aws:iam::123456789012:role/api-hooks", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
         "hookDetails": json.dumps({"path": "/health", "expect": 200})},
        {"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP", "POST_PRODUCTION_TRAFFIC_SHIFT"],
         "timeoutConfiguration": {"timeoutInMinutes": "120", "action": "CONTINUE"}}]}
    if strategy == "CANARY":
        deployment["canaryConfiguration"] = {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": "15"}
    if strategy == "LINEAR":
        deployment["linearConfiguration"] = {"stepPercent": 20.0, "stepBakeTimeInMinutes": "6"}
    advanced = {"alternateTargetGroupArn": ALTERNATE, "productionListenerRule": PRODUCTION_RULE,
                "testListenerRule": TEST_RULE, "roleArn": "arn:aws:iam::123456789012:role/api-ecs-infrastructure"}
    inputs = {
        "name": "api-service-910cdbf", "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/main",
        "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/api:7", "desiredCount": 3.0,
        "deploymentMaximumPercent": 200.0, "deploymentMinimumHealthyPercent": 100.0,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}, "deploymentController": {"type": "ECS"},
        "deploymentConfiguration": deployment,
        "alarms": {"enable": True, "rollback": True, "alarmNames": ["api-5xx-c5506ab", "api-p99-1d2e3f4"]},
        "loadBalancers": [{"targetGroupArn": TARGET_GROUP, "containerName": "app", "containerPort": 3000.0,
                           **({"advancedConfiguration": advanced} if strategy != "ROLLING" else {})}],
        "networkConfiguration": {"subnets": ["subnet-3a3d37c01fe968737"], "securityGroups": ["sg-5cd0eeaab70a40c4e"],
                                 "assignPublicIp": False},
        "capacityProviderStrategies": [{"capacityProvider": "FARGATE", "weight": 1.0, "base": 1.0},
                                       {"capacityProvider": "FARGATE_SPOT", "weight": 3.0}],
        "orderedPlacementStrategies": [], "placementConstraints": [],
        "serviceRegistries": {"registryArn": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1",
                              "containerName": "app", "containerPort": 3000.0},
        "healthCheckGracePeriodSeconds": 60.0, "enableEcsManagedTags": True, "enableExecuteCommand": False,
        "propagateTags": "SERVICE", "platformVersion": "1.4.0", "availabilityZoneRebalancing": "ENABLED",
        "tags": {"Service": "api"}, "forceNewDeployment": True, "waitForSteadyState": True,
    }
    inputs.update(changes)
    return inputs


@pytest.mark.parametrize("strategy", ["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"])
@pytest.mark.parametrize("operation, build", [("CreateService", create_service_request),
                                              ("UpdateService", update_service_request)])
def test_a_service_with_every_knob_of_its_strategy_is_a_valid_request(strategy, operation, build):
    built = build(service_inputs(strategy))
    assert validation_errors("ecs", operation, built) == []
    deployment = built["deploymentConfiguration"]
    assert deployment["strategy"] == strategy and deployment["bakeTimeInMinutes"] == 10
    assert deployment["alarms"]["alarmNames"] == ["api-5xx-c5506ab", "api-p99-1d2e3f4"]
    assert deployment["maximumPercent"] == 200 and built["desiredCount"] == 3
    lambda_hook, pause_hook = deployment["lifecycleHooks"]
    assert lambda_hook["hookDetails"] == {"path": "/health", "expect": 200}
    assert pause_hook["timeoutConfiguration"] == {"timeoutInMinutes": 120, "action": "CONTINUE"}
    assert deployment.get("canaryConfiguration") == (
        {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 15} if strategy == "CANARY" else None)
    assert deployment.get("linearConfiguration") == (
        {"stepPercent": 20.0, "stepBakeTimeInMinutes": 6} if strategy == "LINEAR" else None)
    advanced = built["loadBalancers"][0].get("advancedConfiguration")
    assert (advanced or {}).get("testListenerRule") == (TEST_RULE if strategy != "ROLLING" else None)
    assert built["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    assert built["loadBalancers"][0]["containerPort"] == 3000


def test_the_create_request_carries_what_only_create_takes():
    built = create_service_request(service_inputs("CANARY", iamRole="ecsServiceRole", launchType="FARGATE"),
                                   default_tags={"Project": "ecs-fargate", "Service": "overridden"})
    assert built["serviceName"] == "api-service-910cdbf" and built["role"] == "ecsServiceRole"
    assert built["tags"] == [{"key": "Project", "value": "ecs-fargate"}, {"key": "Service", "value": "api"}]
    assert built["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                                                 {"capacityProvider": "FARGATE_SPOT", "weight": 3}]
    assert built["serviceRegistries"] == [{"registryArn": "arn:aws:servicediscovery:us-east-1:123456789012:"
                                                          "service/srv-1", "containerPort": 3000, "containerName": "app"}]
    assert validation_errors("ecs", "CreateService", built) == []


def test_the_provider_drops_or_fills_in_as_service_go_does():
    # A block of another strategy is not sent; without a strategy, neither is the bake time.
    wrong = service_inputs("LINEAR")
    wrong["deploymentConfiguration"]["canaryConfiguration"] = {"canaryPercent": 5.0}
    assert "canaryConfiguration" not in create_service_request(wrong)["deploymentConfiguration"]
    unset = service_inputs("CANARY")
    del unset["deploymentConfiguration"]["strategy"]
    sent = create_service_request(unset)["deploymentConfiguration"]
    assert not {"strategy", "bakeTimeInMinutes", "canaryConfiguration", "lifecycleHooks"} & set(sent)
    # ...but an update sends the hooks all the same.
    assert "lifecycleHooks" in update_service_request(unset)["deploymentConfiguration"]
    # An empty bake time is not sent; an empty canary bake time and an unset percentage are sent as 0.
    empty = service_inputs("CANARY")
    empty["deploymentConfiguration"].update(bakeTimeInMinutes="", canaryConfiguration={"canaryBakeTimeInMinutes": ""})
    sent = create_service_request(empty)["deploymentConfiguration"]
    assert "bakeTimeInMinutes" not in sent
    assert sent["canaryConfiguration"] == {"canaryPercent": 0.0, "canaryBakeTimeInMinutes": 0}
    # Hook details that are not JSON are dropped, not sent.
    broken = service_inputs("BLUE_GREEN")
    broken["deploymentConfiguration"]["lifecycleHooks"][0]["hookDetails"] = "{not json"
    assert "hookDetails" not in create_service_request(broken)["deploymentConfiguration"]["lifecycleHooks"][0]
    # A rolling service with no deployment block still gets a deploymentConfiguration (the defaults).
    rolling = {"name": "web", "desiredCount": 2.0}
    assert create_service_request(rolling)["deploymentConfiguration"] == {
        "maximumPercent": 200, "minimumHealthyPercent": 100}


@pytest.mark.parametrize("change, fragment", [
    (lambda d: d["canaryConfiguration"].update(canaryPercent="five"), "canaryPercent"),
    (lambda d: d.update(strategy="BLUE-GREEN"), "'BLUE-GREEN' is not one of"),
    (lambda d: d["lifecycleHooks"][1].update(lifecycleStages=["AFTER_SCALE_UP"]), "'AFTER_SCALE_UP' is not one of"),
    (lambda d: d["lifecycleHooks"][1]["timeoutConfiguration"].update(action="RETRY"), "'RETRY' is not one of"),
    (lambda d: d["lifecycleHooks"][0].update(targetType="LAMBDA"), "'LAMBDA' is not one of"),
])
@pytest.mark.parametrize("operation, build", [("CreateService", create_service_request),
                                              ("UpdateService", update_service_request)])
def test_a_malformed_deployment_configuration_is_caught(change, fragment, operation, build):
    inputs = service_inputs("CANARY")
    change(inputs["deploymentConfiguration"])
    errors = validation_errors("ecs", operation, build(inputs))
    assert errors and all(fragment in e for e in errors), errors


def test_a_malformed_service_is_caught_on_a_rendering():
    """The check on a whole rendering: a service whose inputs were given a string port."""
    from preflight.render import Rendering, RenderedResource

    broken = RenderedResource(urn="urn:pulumi:t::p::aws:ecs/service:Service::api", type=SERVICE, name="api",
                              parent=None, custom=True, inputs=service_inputs("LINEAR", loadBalancers=[
                                  {"targetGroupArn": TARGET_GROUP, "containerName": "app", "containerPort": "3000"}]),
                              outputs={})
    [errors] = service_request_errors(Rendering(project="p", stack="t", resources=[broken], exports={})).values()
    assert len(errors) == 2 and all("containerPort" in e for e in errors), errors


@pytest.mark.parametrize("bake", ["5.5", "ten", "99999999999", " 5"])
def test_a_bake_time_the_provider_cannot_parse_sends_no_request(bake):
    inputs = service_inputs("LINEAR")
    inputs["deploymentConfiguration"]["linearConfiguration"]["stepBakeTimeInMinutes"] = bake
    for build in (create_service_request, update_service_request):
        with pytest.raises(ProviderRefuses, match="stepBakeTimeInMinutes"):
            build(inputs)


def test_inputs_not_translated_are_refused_not_skipped():
    with pytest.raises(Untranslated, match="serviceConnectConfiguration"):
        create_service_request(service_inputs("ROLLING", serviceConnectConfiguration={"enabled": True}))


def test_the_translation_reads_pulumi_aws_input_names():
    """Every input the translation reads exists, spelt that way, on aws.ecs.Service (camelCase)."""
    from test_policy_prop_names import _record, _resolve

    seen: set[tuple[str, ...]] = set()
    for strategy in ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"):
        inputs = service_inputs(strategy, iamRole="r", launchType="FARGATE", vpcLatticeConfigurations=[
            {"roleArn": "arn:aws:iam::123456789012:role/l", "targetGroupArn": TARGET_GROUP, "portName": "http"}],
            orderedPlacementStrategies=[{"type": "spread", "field": "attribute:ecs.availability-zone"}],
            placementConstraints=[{"type": "distinctInstance"}])
        for build in (create_service_request, update_service_request):
            build(_record(inputs, (), seen))
    assert ("deploymentConfiguration", "lifecycleHooks", "[]", "timeoutConfiguration", "timeoutInMinutes") in seen
    for path in sorted(seen):
        if path[0] in PROVIDER_ONLY:
            continue
        _resolve(SERVICE, path)
