"""What FargateService and LoadBalancer build for each deployment strategy (issue 10): rolling as
before with its strategy written out; blueGreen, linear and canary with an alternate target group,
a weighted production rule that ignores its actions, the ECS infrastructure role, the advanced load
balancer configuration, the deployment configuration, lifecycle hooks and their role, rollback
alarms on both target groups, a test listener and rule; a strategy switch that updates in place;
and the policy pack on a program with one service per strategy (tests/fixtures/strategies-program).
"""

from __future__ import annotations

import copy
import json
import re
import textwrap

import pytest
from pulumi.runtime import settings as runtime_settings

from preflight.diff import RULES, _numbers, _regenerated, compare
from preflight.ignore_changes import process
from preflight.policy_engine import configure, evaluate, load_pack, read_config_file, reconcile_config
from preflight.render import render
from testkit import ROOT

PROGRAM = ROOT / "tests" / "fixtures" / "strategies-program"
PROD_POLICY_CONFIG = ROOT / "policies" / "config" / "prod.json"
SERVICE = "aws:ecs/service:Service"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
RULE = "aws:lb/listenerRule:ListenerRule"
LISTENER = "aws:lb/listener:Listener"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
CHECK = "arn:aws:lambda:us-east-1:123456789012:function:check-green"
SMOKE = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test:live"
ECS_STRATEGY = {"rolling": "ROLLING", "blueGreen": "BLUE_GREEN", "linear": "LINEAR", "canary": "CANARY"}
SHIFTING = ("blueGreen", "linear", "canary")

PRELUDE = """
import pulumi
from components import *

placement = Placement(cluster_arn="arn:aws:ecs:us-east-1:123456789012:cluster/c", vpc_id="vpc-0123456789abcdef0",
                      subnet_ids=["subnet-0a1b2c3d"], assign_public_ip=False,
                      repository_url="123456789012.dkr.ecr.us-east-1.amazonaws.com/r", registry_id="123456789012",
                      region="us-east-1")
alb = LoadBalancer("alb", LoadBalancerArgs(
    vpc_id="vpc-0123456789abcdef0", subnet_ids=["subnet-0a1b2c3d", "subnet-0a1b2c3e"],
    spec=LoadBalancerSpec(certificate_arn=CERTIFICATE, test_listener_port=8443,
                          test_listener_cidrs=("10.20.0.0/16", "192.168.1.0/24"))))
plain = LoadBalancer("plain", LoadBalancerArgs(vpc_id="vpc-0123456789abcdef0",
                                               subnet_ids=["subnet-0a1b2c3d", "subnet-0a1b2c3e"]))


def web(name, deployment=DeploymentSpec(), attachment=None, **spec):
    return FargateService(name, FargateServiceArgs(
        service=ServiceSpec(name=name, task=TaskSpec(source=ImageSource(image="nginx:1.27")), port=8080,
                            path_patterns=(f"/{name}/*",), deployment=deployment, **spec),
        family=f"user-test-{name}", cluster_name="c", placement=placement,
        load_balancer=attachment or alb.attachment))
"""


def render_program(tmp_path, body: str, directory: str = "program"):
    program = tmp_path / directory
    program.mkdir(exist_ok=True)
    constants = f"CERTIFICATE = {CERTIFICATE!r}\nCHECK = {CHECK!r}\nSMOKE = {SMOKE!r}\n"
    (program / "__main__.py").write_text(constants + PRELUDE + textwrap.dedent(body))
    return render(program, project="user", stack="test", config={"aws:region": "us-east-1"})


def of(rendering, typ: str, name: str):
    return rendering.one(typ, name)


def service_of(rendering, name: str):
    return of(rendering, SERVICE, f"{name}-service")


def deployment(strategy: str, **knobs) -> str:
    arguments = ", ".join([f"strategy={strategy!r}"] + [f"{k}={v!r}" for k, v in knobs.items()])
    return f"DeploymentSpec({arguments})"


# -- rolling ---------------------------------------------------------------------------------------

def test_rolling_renders_as_before_with_its_strategy_written_out(tmp_path):
    rendering = render_program(tmp_path, """
        web("api", rollback_alarm=RollbackAlarmSpec(target_errors_per_minute=10))
        FargateService("jobs", FargateServiceArgs(
            service=ServiceSpec(name="jobs", task=TaskSpec(source=ImageSource(image="busybox:1.36"))),
            family="user-test-jobs", cluster_name="c", placement=placement))
    """)
    service = service_of(rendering, "api").inputs
    assert service["deploymentConfiguration"] == {"strategy": "ROLLING"}
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert (service["deploymentMinimumHealthyPercent"], service["deploymentMaximumPercent"]) == (100, 200)
    assert service["forceNewDeployment"] is True and service["waitForSteadyState"] is True
    [target_group] = [r for r in rendering.of_type(TARGET_GROUP) if r.name.startswith("api-")]
    assert service["loadBalancers"] == [{"targetGroupArn": target_group.outputs["arn"], "containerName": "app",
                                         "containerPort": 8080}]
    rule = of(rendering, RULE, "api-rule")
    assert rule.inputs["actions"] == [{"type": "forward", "targetGroupArn": target_group.outputs["arn"]}]
    assert rule.ignore_changes == []
    alarm = of(rendering, ALARM, "api-5xx").inputs
    assert (alarm["metricName"], alarm["statistic"], "metricQueries" in alarm) == ("HTTPCode_Target_5XX_Count", "Sum",
                                                                                     False)
    assert alarm["dimensions"]["TargetGroup"] == target_group.outputs["arnSuffix"]
    assert service["alarms"] == {"alarmNames": [of(rendering, ALARM, "api-5xx").outputs["name"]], "enable": True,
                                 "rollback": True}
    # Nothing a traffic-shifting deployment needs.
    names = {r.name for r in rendering.resources}
    assert not names & {"api-tg-alt", "api-ecs-infra", "api-ecs-infra-lb", "api-hooks", "api-test-rule", "api-p99",
                        "api-5xx-rate"}
    assert service_of(rendering, "jobs").inputs["deploymentConfiguration"] == {"strategy": "ROLLING"}


def test_a_p99_latency_alarm_watches_the_one_target_group_of_a_rolling_service(tmp_path):
    rendering = render_program(tmp_path, """
        web("api", rollback_alarm=RollbackAlarmSpec(target_errors_per_minute=10, evaluation_minutes=3,
                                                    p99_latency_ms=750))
    """)
    latency = of(rendering, ALARM, "api-p99")
    target_group = of(rendering, TARGET_GROUP, "api-tg")
    assert {k: v for k, v in latency.inputs.items() if k not in ("alarmDescription", "name")} == {
        "namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime", "extendedStatistic": "p99",
        "dimensions": {"LoadBalancer": of(rendering, "aws:lb/loadBalancer:LoadBalancer", "alb-lb").outputs["arnSuffix"],
                       "TargetGroup": target_group.outputs["arnSuffix"]},
        "period": 60, "evaluationPeriods": 3, "threshold": 0.75, "comparisonOperator": "GreaterThanThreshold",
        "treatMissingData": "notBreaching"}
    assert "above 750 ms for 3 minutes" in latency.inputs["alarmDescription"]
    assert service_of(rendering, "api").inputs["alarms"]["alarmNames"] == [
        of(rendering, ALARM, "api-5xx").outputs["name"], latency.outputs["name"]]


def test_an_error_rate_alarm_divides_the_one_target_groups_5xx_by_its_requests(tmp_path):
    from test_aws_shapes import put_metric_alarm_errors, put_metric_alarm_request

    rendering = render_program(tmp_path, """
        web("api", rollback_alarm=RollbackAlarmSpec(target_errors_per_minute=10, evaluation_minutes=3,
                                                    error_rate_percent=2))
    """)
    rate = of(rendering, ALARM, "api-5xx-rate")
    dimensions = {"LoadBalancer": of(rendering, "aws:lb/loadBalancer:LoadBalancer", "alb-lb").outputs["arnSuffix"],
                  "TargetGroup": of(rendering, TARGET_GROUP, "api-tg").outputs["arnSuffix"]}
    assert {k: v for k, v in rate.inputs.items() if k not in ("alarmDescription", "name")} == {
        "metricQueries": [
            {"id": query_id, "returnData": False, "metric": {"namespace": "AWS/ApplicationELB", "metricName": metric,
                                                             "stat": "Sum", "period": 60, "dimensions": dimensions}}
            for query_id, metric in (("errors_primary", "HTTPCode_Target_5XX_Count"),
                                     ("requests_primary", "RequestCount"))] + [
            {"id": "rate", "expression": "100 * FILL(errors_primary, 0) / FILL(requests_primary, 1)",
             "returnData": True, "label": "Target 5xx responses, % of requests"}],
        "evaluationPeriods": 3, "threshold": 2, "comparisonOperator": "GreaterThanOrEqualToThreshold",
        "treatMissingData": "notBreaching"}
    assert "api: 2%+ of requests answered with a target 5xx for 3 minutes" in rate.inputs["alarmDescription"]
    assert put_metric_alarm_errors(put_metric_alarm_request(rate)) == []
    assert service_of(rendering, "api").inputs["alarms"]["alarmNames"] == [
        of(rendering, ALARM, "api-5xx").outputs["name"], rate.outputs["name"]]


# -- traffic-shifting: resources and properties --------------------------------------------------

@pytest.fixture(scope="module")
def shifting(tmp_path_factory):
    """One service per traffic-shifting strategy, without hooks or test traffic."""
    return render_program(tmp_path_factory.mktemp("shifting"), f"""
        web("bg", {deployment("blueGreen", bake_time_minutes=7)})
        web("lin", {deployment("linear", bake_time_minutes=0, step_percent=12.5, step_bake_minutes=4)})
        web("can", {deployment("canary", canary_percent=2.5, canary_bake_minutes=9)})
    """)


NAMES = {"blueGreen": "bg", "linear": "lin", "canary": "can"}


@pytest.mark.parametrize("strategy", SHIFTING)
def test_the_alternate_target_group_is_the_primary_but_for_its_name(shifting, strategy):
    name = NAMES[strategy]
    primary, alternate = of(shifting, TARGET_GROUP, f"{name}-tg"), of(shifting, TARGET_GROUP, f"{name}-tg-alt")
    assert alternate.outputs["name"].startswith(f"{name}-tg-alt-")
    without_name = [{k: v for k, v in group.inputs.items() if k != "name"} for group in (primary, alternate)]
    assert without_name[0] == without_name[1]
    assert without_name[0]["deregistrationDelay"] == 30 and without_name[0]["healthCheck"]["path"] == "/health"


@pytest.mark.parametrize("strategy", SHIFTING)
def test_the_production_rule_is_one_weighted_forward_that_ignores_its_actions(shifting, strategy):
    name = NAMES[strategy]
    rule = of(shifting, RULE, f"{name}-rule")
    assert rule.inputs["actions"] == [{"type": "forward", "forward": {"targetGroups": [
        {"arn": of(shifting, TARGET_GROUP, f"{name}-tg").outputs["arn"], "weight": 100},
        {"arn": of(shifting, TARGET_GROUP, f"{name}-tg-alt").outputs["arn"], "weight": 0}]}}]
    assert rule.ignore_changes == ["actions[*].forward.targetGroups[*]"]
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": [f"/{name}/*"]}}]


@pytest.mark.parametrize("strategy", SHIFTING)
def test_the_infrastructure_role_is_trusted_by_ecs_with_the_managed_policy_and_the_service_waits_for_it(
        shifting, strategy):
    name = NAMES[strategy]
    role = of(shifting, ROLE, f"{name}-ecs-infra")
    assert json.loads(role.inputs["assumeRolePolicy"]) == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    attachment = of(shifting, ATTACHMENT, f"{name}-ecs-infra-lb")
    assert attachment.inputs == {
        "role": role.outputs["name"],
        "policyArn": "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"}
    assert attachment.urn in service_of(shifting, name).dependencies


@pytest.mark.parametrize("strategy", SHIFTING)
def test_the_service_names_the_alternate_group_the_production_rule_and_the_role(shifting, strategy):
    name = NAMES[strategy]
    [balancer] = service_of(shifting, name).inputs["loadBalancers"]
    assert balancer == {
        "targetGroupArn": of(shifting, TARGET_GROUP, f"{name}-tg").outputs["arn"],
        "containerName": "app", "containerPort": 8080,
        "advancedConfiguration": {
            "alternateTargetGroupArn": of(shifting, TARGET_GROUP, f"{name}-tg-alt").outputs["arn"],
            "productionListenerRule": of(shifting, RULE, f"{name}-rule").outputs["arn"],
            "roleArn": of(shifting, ROLE, f"{name}-ecs-infra").outputs["arn"]}}


def test_the_deployment_configuration_of_each_strategy_with_bake_times_as_strings(shifting):
    assert service_of(shifting, "bg").inputs["deploymentConfiguration"] == {
        "strategy": "BLUE_GREEN", "bakeTimeInMinutes": "7"}
    assert service_of(shifting, "lin").inputs["deploymentConfiguration"] == {
        "strategy": "LINEAR", "bakeTimeInMinutes": "0",
        "linearConfiguration": {"stepPercent": 12.5, "stepBakeTimeInMinutes": "4"}}
    assert service_of(shifting, "can").inputs["deploymentConfiguration"] == {
        "strategy": "CANARY", "bakeTimeInMinutes": "10",
        "canaryConfiguration": {"canaryPercent": 2.5, "canaryBakeTimeInMinutes": "9"}}


@pytest.mark.parametrize("strategy", SHIFTING)
def test_traffic_shifting_keeps_the_breaker_and_the_percents_but_forces_no_deployment(shifting, strategy):
    service = service_of(shifting, NAMES[strategy]).inputs
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert (service["deploymentMinimumHealthyPercent"], service["deploymentMaximumPercent"]) == (100, 200)
    assert service["forceNewDeployment"] is False and service["waitForSteadyState"] is True
    assert "alarms" not in service, "no rollback alarm configured"


# -- lifecycle hooks ------------------------------------------------------------------------------

def test_lambda_hooks_get_a_role_that_may_invoke_exactly_their_functions_and_pauses_their_timeout(tmp_path):
    rendering = render_program(tmp_path, """
        web("can", DeploymentSpec(strategy="canary", hooks=(
            LifecycleHookSpec(stages=("POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT"), function_arn=CHECK),
            LifecycleHookSpec(stages=("POST_PRODUCTION_TRAFFIC_SHIFT",), function_arn=SMOKE),
            LifecycleHookSpec(stages=("PRE_SCALE_UP",), function_arn=CHECK),
            LifecycleHookSpec(stages=("POST_SCALE_UP",), pause=True, timeout_minutes=90, timeout_action="CONTINUE"),
            LifecycleHookSpec(stages=("RECONCILE_SERVICE",), pause=True))))
        web("bg", DeploymentSpec(strategy="blueGreen", hooks=(
            LifecycleHookSpec(stages=("POST_TEST_TRAFFIC_SHIFT",), pause=True, timeout_minutes=30),)))
    """)
    role = of(rendering, ROLE, "can-hooks")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    policy = of(rendering, ROLE_POLICY, "can-hooks-invoke")
    assert policy.inputs["role"] == role.outputs["name"]
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {"Sid": "InvokeHooks", "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [CHECK, SMOKE]}]
    service = service_of(rendering, "can")
    assert policy.urn in service.dependencies
    role_arn = role.outputs["arn"]
    assert service.inputs["deploymentConfiguration"]["lifecycleHooks"] == [
        {"lifecycleStages": ["POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT"], "targetType": "AWS_LAMBDA",
         "hookTargetArn": CHECK, "roleArn": role_arn},
        {"lifecycleStages": ["POST_PRODUCTION_TRAFFIC_SHIFT"], "targetType": "AWS_LAMBDA", "hookTargetArn": SMOKE,
         "roleArn": role_arn},
        {"lifecycleStages": ["PRE_SCALE_UP"], "targetType": "AWS_LAMBDA", "hookTargetArn": CHECK, "roleArn": role_arn},
        {"lifecycleStages": ["POST_SCALE_UP"], "targetType": "PAUSE",
         "timeoutConfiguration": {"timeoutInMinutes": "90", "action": "CONTINUE"}},
        {"lifecycleStages": ["RECONCILE_SERVICE"], "targetType": "PAUSE"}]
    # Pause hooks only: no role to invoke anything.
    assert service_of(rendering, "bg").inputs["deploymentConfiguration"]["lifecycleHooks"] == [
        {"lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"], "targetType": "PAUSE",
         "timeoutConfiguration": {"timeoutInMinutes": "30"}}]
    assert not [r for r in rendering.resources if r.name in ("bg-hooks", "bg-hooks-invoke")]


# -- rollback alarms ------------------------------------------------------------------------------

def test_rollback_alarms_of_a_traffic_shifting_service_watch_both_target_groups(tmp_path):
    rendering = render_program(tmp_path, """
        web("can", DeploymentSpec(strategy="canary"),
            rollback_alarm=RollbackAlarmSpec(target_errors_per_minute=5, evaluation_minutes=3, p99_latency_ms=500,
                                             error_rate_percent=20))
    """)
    balancer = of(rendering, "aws:lb/loadBalancer:LoadBalancer", "alb-lb").outputs["arnSuffix"]
    groups = [of(rendering, TARGET_GROUP, name).outputs["arnSuffix"] for name in ("can-tg", "can-tg-alt")]

    def queries(metric: str, stat: str, prefix: str = "") -> list[dict]:
        return [{"id": prefix + query_id, "returnData": False, "metric": {
            "namespace": "AWS/ApplicationELB", "metricName": metric, "stat": stat, "period": 60,
            "dimensions": {"LoadBalancer": balancer, "TargetGroup": group}}}
            for query_id, group in zip(("primary", "alternate"), groups, strict=True)]

    errors = of(rendering, ALARM, "can-5xx").inputs
    assert errors["metricQueries"] == queries("HTTPCode_Target_5XX_Count", "Sum") + [
        {"id": "total", "expression": "FILL(primary, 0) + FILL(alternate, 0)", "returnData": True,
         "label": "Target 5xx responses, both target groups"}]
    assert not {"metricName", "namespace", "dimensions", "statistic"} & set(errors)
    assert (errors["threshold"], errors["evaluationPeriods"], errors["comparisonOperator"], errors["treatMissingData"]) \
        == (5, 3, "GreaterThanOrEqualToThreshold", "notBreaching")
    latency = of(rendering, ALARM, "can-p99").inputs
    assert latency["metricQueries"] == queries("TargetResponseTime", "p99") + [
        {"id": "slowest", "expression": "MAX([FILL(primary, 0), FILL(alternate, 0)])", "returnData": True,
         "label": "p99 target response time, both target groups"}]
    assert (latency["threshold"], latency["comparisonOperator"]) == (0.5, "GreaterThanThreshold")
    # Each group's own error rate, the higher of the two: the canary's, whatever its share of the traffic.
    rate = of(rendering, ALARM, "can-5xx-rate").inputs
    errors_of, requests_of = queries("HTTPCode_Target_5XX_Count", "Sum", "errors_"), queries("RequestCount", "Sum",
                                                                                              "requests_")
    assert rate["metricQueries"] == [errors_of[0], requests_of[0], errors_of[1], requests_of[1]] + [
        {"id": f"rate_{group}", "expression": f"100 * FILL(errors_{group}, 0) / FILL(requests_{group}, 1)",
         "returnData": False} for group in ("primary", "alternate")] + [
        {"id": "rate", "expression": "MAX([rate_primary, rate_alternate])", "returnData": True,
         "label": "Target 5xx responses, % of requests, the higher of both target groups"}]
    assert (rate["threshold"], rate["evaluationPeriods"], rate["comparisonOperator"], rate["treatMissingData"]) \
        == (20, 3, "GreaterThanOrEqualToThreshold", "notBreaching")
    assert "20%+ of requests answered with a target 5xx, on either target group, for 3 minutes" in \
        rate["alarmDescription"]
    assert service_of(rendering, "can").inputs["alarms"] == {
        "alarmNames": [of(rendering, ALARM, name).outputs["name"] for name in ("can-5xx", "can-5xx-rate", "can-p99")],
        "enable": True, "rollback": True}


# -- the test listener ----------------------------------------------------------------------------

def test_the_test_listener_serves_like_production_for_its_own_cidrs_only(tmp_path):
    rendering = render_program(tmp_path, "")
    test = of(rendering, LISTENER, "alb-test").inputs
    https = of(rendering, LISTENER, "alb-https").inputs
    assert {k: v for k, v in test.items() if k != "port"} == {k: v for k, v in https.items() if k != "port"}
    assert (test["port"], test["protocol"], test["certificateArn"]) == (8443, "HTTPS", CERTIFICATE)
    assert test["defaultActions"] == [{"type": "fixed-response", "fixedResponse": {
        "contentType": "text/plain", "messageBody": "Not Found", "statusCode": "404"}}]
    sg = of(rendering, "aws:ec2/securityGroup:SecurityGroup", "alb-sg").id
    on_port = [r.inputs for r in rendering.of_type(INGRESS) if r.inputs.get("fromPort") == 8443]
    assert sorted((r["cidrIpv4"], r["toPort"], r["securityGroupId"]) for r in on_port) == [
        ("10.20.0.0/16", 8443, sg), ("192.168.1.0/24", 8443, sg)]
    assert not [r for r in rendering.of_type(INGRESS) if r.inputs.get("cidrIpv4") == "10.20.0.0/16"
                and r.inputs["fromPort"] != 8443]
    # No test listener unless asked for.
    assert [r.name for r in rendering.of_type(LISTENER) if r.name.startswith("plain-")] == ["plain-http"]


def test_without_a_certificate_the_test_listener_is_plain_http(tmp_path):
    rendering = render_program(tmp_path, """
        LoadBalancer("dev", LoadBalancerArgs(vpc_id="vpc-0123456789abcdef0", subnet_ids=["subnet-0a1b2c3d"],
                                             spec=LoadBalancerSpec(test_listener_port=9000,
                                                                   test_listener_cidrs=("10.0.0.0/8",))))
    """)
    test = of(rendering, LISTENER, "dev-test").inputs
    assert (test["port"], test["protocol"]) == (9000, "HTTP")
    assert "certificateArn" not in test and "sslPolicy" not in test


def test_test_traffic_puts_the_production_routes_on_the_test_listener(tmp_path):
    rendering = render_program(tmp_path, """
        web("can", DeploymentSpec(strategy="canary", test_traffic=True))
        web("bg", DeploymentSpec(strategy="blueGreen"))
    """)
    production, test = of(rendering, RULE, "can-rule"), of(rendering, RULE, "can-test-rule")
    assert test.inputs["listenerArn"] == of(rendering, LISTENER, "alb-test").outputs["arn"]
    assert production.inputs["listenerArn"] == of(rendering, LISTENER, "alb-https").outputs["arn"]
    for key in ("conditions", "priority", "actions"):
        assert test.inputs[key] == production.inputs[key], key
    assert test.ignore_changes == ["actions[*].forward.targetGroups[*]"]
    advanced = service_of(rendering, "can").inputs["loadBalancers"][0]["advancedConfiguration"]
    assert advanced["testListenerRule"] == test.outputs["arn"]
    assert advanced["productionListenerRule"] == production.outputs["arn"]
    assert test.urn in service_of(rendering, "can").dependencies
    assert "testListenerRule" not in service_of(rendering, "bg").inputs["loadBalancers"][0]["advancedConfiguration"]
    assert not [r for r in rendering.resources if r.name == "bg-test-rule"]


def test_the_attachment_carries_the_test_listener_or_none():
    from components import LoadBalancerAttachment

    assert LoadBalancerAttachment(listener_arn="l", security_group_id="sg", arn_suffix="s").test_listener_arn is None


# -- refused before anything registers ------------------------------------------------------------

def registered(kind: str) -> list[str]:
    return [r.name for r in runtime_settings.SETTINGS.monitor.registrations if r.type == kind]


def test_test_traffic_without_a_test_listener_is_refused_before_anything_registers(tmp_path):
    from components import ArgsError

    with pytest.raises(ArgsError) as caught:
        render_program(tmp_path, """
            web("can", DeploymentSpec(strategy="canary", test_traffic=True), attachment=plain.attachment)
        """)
    assert caught.value.problems == [
        "service.deployment.test_traffic: the load balancer attachment has no test listener for the test listener "
        "rule; give the LoadBalancer a test_listener_port (and test_listener_cidrs) and attach with its attachment, "
        "or set test_traffic=False"]
    assert registered("ecs-fargate:index:FargateService") == []


def test_request_scaling_of_a_traffic_shifting_service_is_refused(tmp_path):
    from components import ArgsError

    with pytest.raises(ArgsError) as caught:
        render_program(tmp_path, """
            web("can", DeploymentSpec(strategy="canary"),
                autoscaling=AutoscalingSpec(min_count=2, max_count=4, requests_per_target=100))
        """)
    [problem] = caught.value.problems
    assert problem.startswith("service.autoscaling.requests_per_target: scales on the requests of one target group, "
                              "and canary moves production traffic to the other one on every deployment")
    assert registered("ecs-fargate:index:FargateService") == []


def test_a_name_too_long_for_the_alternate_target_group_is_refused_only_where_it_shifts_traffic(tmp_path):
    """`{name}-tg-alt-xxxxxxx` takes 4 characters more of ELB's 32 than `{name}-tg-xxxxxxx`."""
    from components import ArgsError

    name = "a" * 20
    render_program(tmp_path, f'web("{name}")')
    with pytest.raises(ArgsError) as caught:
        render_program(tmp_path, f'web("{name}", DeploymentSpec(strategy="linear"))', directory="again")
    assert caught.value.problems == [
        f"name: the alternate target group would be named '{name}-tg-alt-xxxxxxx' (35 characters); ELB target "
        "group names are at most 32 characters, so this name can have at most 17"]


def test_the_names_of_a_traffic_shifting_service_are_the_ones_its_features_predict(tmp_path):
    from components import DeploymentSpec, ImageSource, LifecycleHookSpec, RollbackAlarmSpec, ServiceSpec, TaskSpec
    from components import name_features
    from components.validation import derived_names

    rendering = render_program(tmp_path, """
        web("svc", DeploymentSpec(strategy="canary", test_traffic=True, hooks=(
            LifecycleHookSpec(stages=("POST_SCALE_UP",), function_arn=CHECK),)),
            rollback_alarm=RollbackAlarmSpec(target_errors_per_minute=5, p99_latency_ms=500, error_rate_percent=5))
    """)
    spec = ServiceSpec(name="svc", task=TaskSpec(source=ImageSource(image="nginx:1.27")), port=8080,
                       deployment=DeploymentSpec(strategy="canary", hooks=(
                           LifecycleHookSpec(stages=("POST_SCALE_UP",), function_arn=CHECK),)),
                       rollback_alarm=RollbackAlarmSpec(target_errors_per_minute=5, p99_latency_ms=500,
                                                        error_rate_percent=5))
    assert name_features(spec) == ("shifting", "latency", "rate")

    def predicted(features) -> set[str]:
        return {physical for _, physical in derived_names("svc", "user-test-svc", web=True, own_task=True, job=False,
                                                          features=features)}
    rendered = set()
    for resource in rendering.resources:
        if resource.custom and resource.name.startswith("svc-"):
            for value in ((resource.outputs or {}).get("name"), (resource.outputs or {}).get("family")):
                if isinstance(value, str) and value:
                    rendered.add(re.sub(r"-[0-9a-f]{7}$", "-xxxxxxx", value))
    # Every name rendered is predicted, and the features' own names are all rendered.
    assert rendered <= predicted(name_features(spec)), rendered - predicted(name_features(spec))
    assert predicted(name_features(spec)) - predicted(()) == {
        "svc-p99-xxxxxxx", "svc-5xx-rate-xxxxxxx", "svc-tg-alt-xxxxxxx", "svc-ecs-infra-xxxxxxx", "svc-hooks-xxxxxxx",
        "svc-hooks-invoke-xxxxxxx"} <= rendered


def test_the_rate_alarms_name_is_checked_only_for_a_service_that_has_one():
    """`rate` (a 5xx rate rollback alarm) adds exactly its alarm's name, measured by CloudWatch's rule."""
    from components.validation import DERIVED_NAMES, derived_names

    def names(features) -> set[tuple[str, str]]:
        return set(derived_names("svc", "f", web=True, own_task=False, job=False, features=features))
    assert names(("rate",)) - names(()) == {("5xx rate rollback alarm", "svc-5xx-rate-xxxxxxx")}
    assert [rule for scope, _, _, rule in DERIVED_NAMES if scope == "rate"] == ["alarm"]


# -- switching strategies in place ----------------------------------------------------------------

def declared(rendering) -> dict[str, dict]:
    """What `preflight diff` compares: each resource's declared inputs, by URN."""
    return {r.urn: {"urn": r.urn, "type": r.type, "name": r.name, "custom": r.custom,
                    "inputs": _numbers(r.wire_inputs), "dependencies": r.property_dependencies,
                    "ignoreChanges": r.ignore_changes, "regenerated": _regenerated(r)}
            for r in rendering.resources if r.type != "pulumi:pulumi:Stack"}


def test_rolling_to_canary_and_back_updates_the_service_in_place(tmp_path):
    """Same URN (so the same autoname), and every changed input is one the provider updates in place
    (preflight/replace_properties.json: the ForceNew attributes of terraform-provider-aws)."""
    body = """
        web("api", {deployment}, rollback_alarm=RollbackAlarmSpec(target_errors_per_minute=5, p99_latency_ms=900))
    """
    renderings = {strategy: declared(render_program(tmp_path, body.format(deployment=deployment(strategy, **knobs)),
                                                    directory=strategy))
                  for strategy, knobs in (("rolling", {}), ("canary", {"test_traffic": True}))}
    urn = next(u for u, r in renderings["rolling"].items() if r["type"] == SERVICE)
    assert urn in renderings["canary"], "the service keeps its URN, so its name"
    for old, new in (("rolling", "canary"), ("canary", "rolling")):
        changes, _ = compare(renderings[old], renderings[new])
        by_urn = {c.urn: c for c in changes}
        assert [c.name for c in changes if c.op == "replace"] == [], (old, new)
        service = by_urn[urn]
        assert service.op == "update"
        changed = {d.path.split(".")[0].split("[")[0] for d in service.diffs}
        assert changed == {"deploymentConfiguration", "loadBalancers", "forceNewDeployment"}, changed
        assert not changed & set(RULES[SERVICE]["replace"])
        # The alarms are updated in place too, from one metric to metric math over both groups.
        assert {c.name: c.op for c in changes if c.type == ALARM} == {"api-5xx": "update", "api-p99": "update"}
        created = {c.name for c in changes if c.op == "create"}
        deleted = {c.name for c in changes if c.op == "delete"}
        extra = {"api-tg-alt", "api-ecs-infra", "api-ecs-infra-lb", "api-test-rule"}
        assert (created, deleted) == ((extra, set()) if new == "canary" else (set(), extra)), (old, new)
    canary = renderings["canary"][urn]["inputs"]
    assert canary["deploymentConfiguration"]["strategy"] == "CANARY"
    assert renderings["rolling"][urn]["inputs"]["deploymentConfiguration"] == {"strategy": "ROLLING"}


def test_switching_from_rolling_puts_both_target_groups_on_the_production_rule(tmp_path):
    """The rule ignores its forward's target groups only where the old inputs have them too (the
    engine's PropertyPath.Reset, ported in preflight/ignore_changes.py): the switch writes the
    weighted forward, and the switch back the plain one."""
    body = """
        web("api", {deployment})
    """
    before = declared(render_program(tmp_path, body.format(deployment=deployment("rolling")), directory="rolling"))
    after = declared(render_program(tmp_path, body.format(deployment=deployment("canary")), directory="canary"))
    urn = next(u for u, r in before.items() if r["name"] == "api-rule")
    for old, new, groups in ((before, after, 2), (after, before, 0)):
        changes, _ = compare(old, new)
        assert next(c for c in changes if c.name == "api-rule").op == "update"
        written, _ = process(new[urn]["inputs"], old[urn]["inputs"], new[urn]["ignoreChanges"])
        action = written["actions"][0]
        assert len((action.get("forward") or {}).get("targetGroups", [])) == groups, action
        assert ("targetGroupArn" in action) == (groups == 0), action


def test_a_traffic_shifting_rule_keeps_the_weights_ecs_gave_it(tmp_path):
    """Once ECS has moved the traffic (the state holds alt 100, primary 0), an update of the rule for
    another reason does not write the program's 100/0 back."""
    rendered = declared(render_program(tmp_path, """
        web("api", {deployment})
    """.format(deployment=deployment("canary")), directory="canary"))
    shifted = copy.deepcopy(rendered)
    urn, rule = next((u, r) for u, r in shifted.items() if r["name"] == "api-rule")
    groups = rule["inputs"]["actions"][0]["forward"]["targetGroups"]
    groups[0]["weight"], groups[1]["weight"] = 0, 100
    changed = copy.deepcopy(rendered)
    changed[urn]["inputs"]["priority"] = rule["inputs"]["priority"] + 1
    changes, _ = compare(shifted, changed)
    diffs = next(c for c in changes if c.name == "api-rule").diffs
    assert [d.path for d in diffs] == ["priority"]


# -- the policy pack ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def strategies():
    return render(PROGRAM, project="strategies-program", stack="prod", config={"aws:region": "eu-west-1"})


def judge(rendering) -> list:
    pack = load_pack(ROOT / "policies")
    configure(pack, reconcile_config(pack, read_config_file(PROD_POLICY_CONFIG)))
    return evaluate(pack, rendering)


def test_one_service_per_strategy_passes_the_pack_at_prods_levels(strategies):
    services = {r.name: r.inputs["deploymentConfiguration"]["strategy"] for r in strategies.of_type(SERVICE)}
    assert services == {"roll-service": "ROLLING", "bg-service": "BLUE_GREEN", "lin-service": "LINEAR",
                        "can-service": "CANARY"}
    diagnostics = judge(strategies)
    assert [(d.policy, d.urn.rsplit("::", 1)[1]) for d in diagnostics if not d.skipped] == [("alb-waf", "alb-lb")]


def test_the_pack_blocks_a_production_or_test_rule_that_owns_its_actions(strategies):
    changed = copy.deepcopy(strategies)
    for resource in changed.resources:
        if resource.name in ("lin-rule", "can-test-rule"):
            resource.ignore_changes = []
    found = [d for d in judge(changed) if d.policy == "ecs-deployment-rules-not-reverted"]
    assert sorted(d.urn.rsplit("::", 1)[1] for d in found) == ["can-test-rule", "lin-rule"]
    assert {d.enforcement_level for d in found} == {"mandatory"}


def test_each_service_waits_as_long_as_its_modeled_deployment(strategies):
    """custom_timeouts from components/rollout.py: the provider's 20 minutes where the model fits in
    them with its margin, more where it does not (the linear service's 5 steps of 5 minutes, the
    blue/green service's 60-minute pause hook)."""
    from components.rollout import PROVIDER_DEFAULT_TIMEOUT_MINUTES, TIMEOUT_MARGIN

    timeouts = {r.name: r.custom_timeouts for r in strategies.of_type(SERVICE)}
    minutes = {name: int(t["update"].removesuffix("m")) for name, t in timeouts.items()}
    assert all(t["create"] == t["update"] for t in timeouts.values()), timeouts
    assert minutes["roll-service"] == PROVIDER_DEFAULT_TIMEOUT_MINUTES
    # linear: 20 % steps, 4 waits of 5 min, and the 10-minute bake: well over 20 minutes.
    assert minutes["lin-service"] >= (4 * 5 + 10) * TIMEOUT_MARGIN
    # blueGreen: its pause hook waits up to 60 minutes.
    assert minutes["bg-service"] >= 60 * TIMEOUT_MARGIN


def test_a_bake_window_warning_is_logged_once(tmp_path, monkeypatch):
    """By the FargateService (not also by check_services before it), and not at all by one built
    with warn=False, as the stack program builds them after the config layer reported it."""
    import pulumi

    logged = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: logged.append(message))
    knobs = "deployment=DeploymentSpec(strategy='canary', canary_bake_minutes=1), " \
            "rollback_alarm=RollbackAlarmSpec(target_errors_per_minute=5)"
    render_program(tmp_path, f"""
        [spec] = check_services([ServiceSpec(name="api", task=TaskSpec(source=ImageSource(image="nginx:1.27")),
                                             port=8080, {knobs})])
        FargateService("api", FargateServiceArgs(service=spec, family="user-test-api", cluster_name="c",
                                                 placement=placement, load_balancer=alb.attachment))
    """, directory="warned")
    assert [m for m in logged if "canary_bake_minutes" in m] == [
        "FargateService api: service.deployment.canary_bake_minutes: 1 min is shorter than the rollback alarm's "
        "window (service.rollback_alarm.evaluation_minutes: 2 min), so the alarm cannot fire before traffic moves on"]
    logged.clear()
    render_program(tmp_path, f"""
        FargateService("api", FargateServiceArgs(
            service=ServiceSpec(name="api", task=TaskSpec(source=ImageSource(image="nginx:1.27")), port=8080,
                                {knobs}),
            family="user-test-api", cluster_name="c", placement=placement, load_balancer=alb.attachment, warn=False))
    """, directory="quiet")
    assert [m for m in logged if "canary_bake_minutes" in m] == []


def test_the_stack_program_leaves_the_warnings_to_the_config_layer():
    """__main__.py builds each FargateService with warn=False: settings reported them in stack keys."""
    import ast

    calls = [node for node in ast.walk(ast.parse((ROOT / "__main__.py").read_text()))
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "FargateServiceArgs"]
    assert calls and all(any(k.arg == "warn" and isinstance(k.value, ast.Constant) and k.value.value is False
                             for k in call.keywords) for call in calls)
