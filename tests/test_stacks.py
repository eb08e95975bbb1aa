"""The shipped dev and prod stacks, rendered under mocks: every property a user relies on."""

from __future__ import annotations

import copy
import json
import re

import pytest

from preflight.stack_config import load_stack_config
from testkit import ROOT, SHIPPED_STACKS, children_of_type, container, render_stack

ACCOUNT = "123456789012"
ECR = "aws:ecr/repository:Repository"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
RULE = "aws:lb/listenerRule:ListenerRule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SHIFTED_GROUPS = "actions[*].forward.targetGroups[*]"
TASK_DEF = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
LISTENER = "aws:lb/listener:Listener"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def one_below(rendering, component, typ):
    found = children_of_type(rendering, component, typ)
    assert len(found) == 1, f"{component}: expected one {typ}, found {[r.urn for r in found]}"
    return found[0]


# -- Registry ---------------------------------------------------------------------------------

def test_prod_registry_is_immutable_scanned_encrypted_and_protected(prod):
    repo = prod.one(ECR)
    assert repo.inputs["imageTagMutability"] == "IMMUTABLE", repo.urn
    assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}, repo.urn
    assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}], repo.urn
    assert repo.inputs["forceDelete"] is False, repo.urn
    assert repo.protect, f"{repo.urn}: prod images must survive `pulumi destroy`"


def test_dev_registry_can_be_torn_down(dev):
    repo = dev.one(ECR)
    assert repo.inputs["imageTagMutability"] == "MUTABLE", repo.urn
    assert repo.inputs["forceDelete"] is True, repo.urn
    assert not repo.protect, repo.urn


def test_lifecycle_policy_expires_untagged_then_caps_the_count(prod):
    repo = prod.one(ECR)
    lifecycle = prod.one("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert lifecycle.inputs["repository"] == repo.outputs["name"], lifecycle.urn
    rules = sorted(json.loads(lifecycle.inputs["policy"])["rules"], key=lambda r: r["rulePriority"])
    assert rules[0]["selection"] == {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                     "countUnit": "days", "countNumber": 7}, lifecycle.urn
    # ECR requires the tagStatus=any rule to have the lowest precedence.
    assert rules[-1]["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan",
                                      "countNumber": 50}, lifecycle.urn
    assert all(rule["action"] == {"type": "expire"} for rule in rules)


# -- Task roles -------------------------------------------------------------------------------

def roles_of(rendering, service):
    execution = next(r for r in children_of_type(rendering, service, ROLE) if r.name.endswith("-execution"))
    task = next(r for r in children_of_type(rendering, service, ROLE) if r.name.endswith("-task"))
    return execution, task


@pytest.mark.parametrize("service", ["api", "worker"])
def test_task_role_trusts_only_ecs_tasks_in_this_account(prod, service):
    _, task = roles_of(prod, service)
    [statement] = json.loads(task.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}, task.urn
    assert statement["Action"] == "sts:AssumeRole", task.urn
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}, task.urn
    assert statement["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:*"}, task.urn


@pytest.mark.parametrize("service", ["api", "worker"])
def test_execution_role_trust_is_exactly_what_aws_documents(prod, service):
    """AWS's task execution role trust has no conditions; an aws:SourceArn that ECS does not
    supply when it pulls the image makes every task fail with 'unable to assume the role'."""
    execution, _ = roles_of(prod, service)
    assert json.loads(execution.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                       "Action": "sts:AssumeRole"}],
    }, execution.urn


def test_execution_and_task_roles_are_distinct_and_wired_correctly(prod):
    execution, task = roles_of(prod, "api")
    assert execution.outputs["arn"] != task.outputs["arn"]
    task_definition = one_below(prod, "api", TASK_DEF)
    assert task_definition.inputs["executionRoleArn"] == execution.outputs["arn"], task_definition.urn
    assert task_definition.inputs["taskRoleArn"] == task.outputs["arn"], task_definition.urn


def test_execution_role_gets_the_managed_policy_and_exactly_the_referenced_secrets(prod):
    execution, task = roles_of(prod, "api")
    # The canary api's other managed policy is its ECS infrastructure role's, which moves traffic
    # between the target groups; nothing else of the api gets a managed policy.
    infrastructure = prod.one(ROLE, "api-ecs-infra")
    assert {a.inputs["role"]: a.inputs["policyArn"] for a in children_of_type(prod, "api", ATTACHMENT)} == {
        execution.outputs["name"]: "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        infrastructure.outputs["name"]: "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"}
    policies = {p.name: p for p in children_of_type(prod, "api", ROLE_POLICY)}
    secrets = policies["api-roles-execution-secrets"]
    assert secrets.inputs["role"] == execution.outputs["name"], secrets.urn
    assert json.loads(secrets.inputs["policy"])["Statement"] == [{
        "Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
        # `db-AbCdEf` may be the full ARN or a partial one of a secret named so: both forms.
        "Resource": [f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf",
                     f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf-??????"],
    }], secrets.urn


def test_task_role_gets_only_the_configured_statements(prod):
    execution, task = roles_of(prod, "api")
    on_task_role = [p for p in children_of_type(prod, "api", ROLE_POLICY) if p.inputs["role"] == task.outputs["name"]]
    assert [p.name for p in on_task_role] == ["api-roles-task-app"]
    assert json.loads(on_task_role[0].inputs["policy"])["Statement"] == [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::my-bucket/*"]}]


def test_worker_without_secrets_or_statements_gets_no_inline_policies(prod):
    assert children_of_type(prod, "worker", ROLE_POLICY) == []


# -- Cluster ----------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cluster_has_container_insights_and_both_fargate_providers(stack, request):
    rendering = request.getfixturevalue(stack)
    cluster = rendering.one("aws:ecs/cluster:Cluster")
    # Container Insights costs money: off by default in dev (cluster.containerInsights in settings.py).
    expected = {"dev": "disabled", "prod": "enabled"}[stack]
    assert {"name": "containerInsights", "value": expected} in cluster.inputs["settings"], cluster.urn
    providers = rendering.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
    assert providers.inputs["clusterName"] == cluster.outputs["name"]
    assert sorted(providers.inputs["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"], providers.urn


# -- Load balancer ----------------------------------------------------------------------------

def test_prod_serves_https_with_a_tls13_policy_and_redirects_http(prod):
    """Production on 443, the canary's test listener on 8443 (loadBalancer.testListenerPort), HTTP only
    to redirect: every listener is HTTPS with TLS 1.3 and the certificate, or a redirect to HTTPS."""
    listeners = {r.inputs["port"]: r for r in prod.of_type(LISTENER)}
    assert sorted(listeners) == [80, 443, 8443]
    assert sorted(port for port, listener in listeners.items() if listener.inputs["protocol"] == "HTTPS") == [443, 8443]
    for listener in listeners.values():
        if listener.inputs["protocol"] == "HTTPS":
            assert listener.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06", listener.urn
            assert listener.inputs["certificateArn"].startswith("arn:aws:acm:us-east-1:"), listener.urn
            # Only the services' rules serve; anything else is a 404.
            [default] = listener.inputs["defaultActions"]
            assert default["type"] == "fixed-response" and default["fixedResponse"]["statusCode"] == "404"
        else:
            [redirect] = listener.inputs["defaultActions"]
            assert redirect == {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                                 "statusCode": "HTTP_301"}}, listener.urn


def test_dev_serves_plain_http_with_a_404_default(dev):
    [listener] = dev.of_type(LISTENER)
    assert (listener.inputs["port"], listener.inputs["protocol"]) == (80, "HTTP"), listener.urn
    [default] = listener.inputs["defaultActions"]
    assert default["type"] == "fixed-response" and default["fixedResponse"]["statusCode"] == "404"


@pytest.mark.parametrize("stack, protected", [("dev", False), ("prod", True)])
def test_alb_drops_invalid_headers_and_protects_prod_from_deletion(stack, protected, request):
    lb = request.getfixturevalue(stack).one("aws:lb/loadBalancer:LoadBalancer")
    assert lb.inputs["dropInvalidHeaderFields"] is True, lb.urn
    assert lb.inputs["enableDeletionProtection"] is protected, lb.urn
    assert lb.inputs["idleTimeout"] == 60, lb.urn
    assert lb.inputs["internal"] is False and lb.inputs["loadBalancerType"] == "application", lb.urn


@pytest.mark.parametrize("stack, ports", [
    ("dev", [(80, "0.0.0.0/0")]),
    # The test listener reaches a version before its release: testListenerCidrs only.
    ("prod", [(80, "0.0.0.0/0"), (443, "0.0.0.0/0"), (8443, "203.0.113.0/24")]),
])
def test_alb_security_group_admits_only_web_ports_from_allowed_cidrs(stack, ports, request):
    rendering = request.getfixturevalue(stack)
    alb_sg = one_below(rendering, "alb", SG)
    rules = [r for r in rendering.of_type(INGRESS) if r.inputs["securityGroupId"] == alb_sg.id]
    assert sorted((r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"]) for r in rules) == \
        [(p, p, cidr) for p, cidr in ports]


# -- Fargate service --------------------------------------------------------------------------

def test_api_task_definition_shape(prod):
    task_definition = one_below(prod, "api", TASK_DEF)
    inputs = task_definition.inputs
    assert inputs["family"] == "ecs-fargate-prod-api"
    assert inputs["networkMode"] == "awsvpc" and inputs["requiresCompatibilities"] == ["FARGATE"]
    assert (inputs["cpu"], inputs["memory"]) == ("512", "1024")
    assert inputs["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}
    app = container(task_definition)
    repo = prod.one(ECR)
    assert app["image"] == f"{repo.outputs['repositoryUrl']}:1.4.2"
    assert app["portMappings"][0]["containerPort"] == 3000
    assert {"name": "DATABASE_URL",
            "valueFrom": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf"} in app["secrets"]
    # Secrets never leak into plain environment variables.
    assert "DATABASE_URL" not in {e["name"] for e in app["environment"]}
    assert {"name": "PORT", "value": "3000"} in app["environment"]
    assert app["healthCheck"]["command"] == ["CMD", "python", "/app/healthcheck.py"]
    assert app["stopTimeout"] == 30
    assert app["readonlyRootFilesystem"] is True
    assert app["mountPoints"] == [{"sourceVolume": "scratch-tmp", "containerPath": "/tmp", "readOnly": False}]
    assert inputs["volumes"] == [{"name": "scratch-tmp"}]


def test_logs_go_to_the_services_log_group_with_retention(prod, dev):
    for rendering, service, days in ((prod, "api", 30), (prod, "worker", 30), (dev, "web", 7)):
        log_group = one_below(rendering, service, "aws:cloudwatch/logGroup:LogGroup")
        assert log_group.inputs["retentionInDays"] == days, log_group.urn
        options = container(one_below(rendering, service, TASK_DEF))["logConfiguration"]
        assert options["logDriver"] == "awslogs"
        assert options["options"]["awslogs-group"] == log_group.outputs["name"]
        assert options["options"]["awslogs-region"] == "us-east-1"


def test_target_group_checks_health_fast_and_drains_in_30s(prod, dev):
    """The canary api has two target groups, which swap roles on every deployment: the same but for
    their names. The service starts on the primary one and names the alternate."""
    groups = {tg.name: tg for tg in children_of_type(prod, "api", TARGET_GROUP)}
    assert sorted(groups) == ["api-tg", "api-tg-alt"]
    for tg in [*groups.values(), one_below(dev, "web", TARGET_GROUP)]:
        assert tg.inputs["targetType"] == "ip" and tg.inputs["port"] == 3000, tg.urn
        assert tg.inputs["deregistrationDelay"] == 30, tg.urn
        check = tg.inputs["healthCheck"]
        assert (check["path"], check["healthyThreshold"], check["interval"]) == ("/health", 2, 10), tg.urn
        assert check["timeout"] < check["interval"], tg.urn
    primary, alternate = groups["api-tg"], groups["api-tg-alt"]
    assert {k: v for k, v in primary.inputs.items() if k != "name"} == \
        {k: v for k, v in alternate.inputs.items() if k != "name"}
    [balancer] = one_below(prod, "api", SERVICE).inputs["loadBalancers"]
    assert balancer["targetGroupArn"] == primary.outputs["arn"]
    assert balancer["advancedConfiguration"]["alternateTargetGroupArn"] == alternate.outputs["arn"]


def test_listener_rule_forwards_the_paths_on_the_https_listener(prod, staging):
    """Prod's canary api: its production rule on the HTTPS listener and its test rule on the test
    listener, each one weighted forward over both target groups (all on the primary) whose groups
    and weights the program leaves to ECS after creating them; the service names both rules.
    Staging's rolling web: one plain forward to its one group, which the program owns."""
    rules = {rule.name: rule for rule in children_of_type(prod, "api", RULE)}
    assert sorted(rules) == ["api-rule", "api-test-rule"]
    listeners = {r.inputs["port"]: r.outputs["arn"] for r in prod.of_type(LISTENER)}
    groups = {tg.name: tg.outputs["arn"] for tg in children_of_type(prod, "api", TARGET_GROUP)}
    weighted = [{"type": "forward", "forward": {"targetGroups": [
        {"arn": groups["api-tg"], "weight": 100}, {"arn": groups["api-tg-alt"], "weight": 0}]}}]
    for name, port in (("api-rule", 443), ("api-test-rule", 8443)):
        rule = rules[name]
        assert rule.inputs["listenerArn"] == listeners[port], rule.urn
        assert rule.inputs["actions"] == weighted, rule.urn
        assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/*"]}}], rule.urn
        assert rule.ignore_changes == [SHIFTED_GROUPS], rule.urn
    [balancer] = one_below(prod, "api", SERVICE).inputs["loadBalancers"]
    assert (balancer["advancedConfiguration"]["productionListenerRule"],
            balancer["advancedConfiguration"]["testListenerRule"]) == (
        rules["api-rule"].outputs["arn"], rules["api-test-rule"].outputs["arn"])

    rule = one_below(staging, "web", RULE)
    [listener] = staging.of_type(LISTENER)
    assert rule.inputs["listenerArn"] == listener.outputs["arn"], rule.urn
    assert rule.inputs["actions"] == [
        {"type": "forward", "targetGroupArn": one_below(staging, "web", TARGET_GROUP).outputs["arn"]}], rule.urn
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/*"]}}], rule.urn
    assert rule.ignore_changes == [], rule.urn


def test_service_rolls_out_with_zero_downtime_and_rolls_back_failures(prod, dev):
    strategies = {(rendering.stack, service.name): service.inputs["deploymentConfiguration"]["strategy"]
                  for rendering in (prod, dev) for service in rendering.of_type(SERVICE)}
    assert strategies == {("prod", "api-service"): "CANARY", ("prod", "worker-service"): "ROLLING",
                          ("dev", "web-service"): "ROLLING"}
    for rendering in (prod, dev):
        for service in rendering.of_type(SERVICE):
            assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}, service.urn
            assert service.inputs["deploymentMinimumHealthyPercent"] == 100, service.urn
            assert service.inputs["deploymentMaximumPercent"] == 200, service.urn
            assert service.inputs["waitForSteadyState"] is True, service.urn
            # Rolling: the provider refuses a capacity provider change without it. Traffic-shifting:
            # off, or every `pulumi up` would start a whole canary (new fleet, shift, bake).
            rolling = service.inputs["deploymentConfiguration"]["strategy"] == "ROLLING"
            assert service.inputs["forceNewDeployment"] is rolling, service.urn
            assert service.inputs["propagateTags"] == "SERVICE", service.urn
    canary = prod.one(SERVICE, "api-service").inputs["deploymentConfiguration"]
    assert canary == {"strategy": "CANARY", "bakeTimeInMinutes": "15",
                      "canaryConfiguration": {"canaryPercent": 10, "canaryBakeTimeInMinutes": "10"}}


def test_web_task_security_group_admits_only_the_alb_on_the_container_port(prod):
    alb_sg = one_below(prod, "alb", SG)
    api_sg = one_below(prod, "api", SG)
    service = one_below(prod, "api", SERVICE)
    assert service.inputs["networkConfiguration"]["securityGroups"] == [api_sg.id], service.urn
    ingress = [r for r in prod.of_type(INGRESS) if r.inputs["securityGroupId"] == api_sg.id]
    assert [(r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"], r.inputs["toPort"],
             r.inputs.get("cidrIpv4")) for r in ingress] == [(alb_sg.id, 3000, 3000, None)]
    # The ALB may only reach the tasks on that port: its egress is scoped to the task group.
    alb_egress = [r for r in prod.of_type(EGRESS) if r.inputs["securityGroupId"] == alb_sg.id]
    assert [(r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"]) for r in alb_egress] == [(api_sg.id, 3000)]
    assert service.inputs["healthCheckGracePeriodSeconds"] == 60


def test_deployments_roll_back_on_a_5xx_alarm_of_the_services_target_group(prod, staging):
    """Prod's canary api: a 5xx alarm, a 5xx rate alarm and a p99 latency alarm, each over both
    target groups (they swap roles on every deployment, so green is watched wherever it runs).
    Staging's rolling web: one 5xx alarm on its one target group."""
    alarms = {alarm.name: alarm for alarm in children_of_type(prod, "api", ALARM)}
    assert sorted(alarms) == ["api-5xx", "api-5xx-rate", "api-p99"]
    balancer = prod.one("aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"]
    groups = [prod.one(TARGET_GROUP, name).outputs["arnSuffix"] for name in ("api-tg", "api-tg-alt")]

    def query(query_id: str, metric: str, stat: str, group: str) -> dict:
        return {"id": query_id, "returnData": False, "metric": {
            "namespace": "AWS/ApplicationELB", "metricName": metric, "stat": stat, "period": 60,
            "dimensions": {"LoadBalancer": balancer, "TargetGroup": group}}}

    def over_both_groups(metric: str, stat: str) -> list[dict]:
        return [query(query_id, metric, stat, group)
                for query_id, group in zip(("primary", "alternate"), groups, strict=True)]

    errors, latency = alarms["api-5xx"].inputs, alarms["api-p99"].inputs
    assert errors["metricQueries"] == over_both_groups("HTTPCode_Target_5XX_Count", "Sum") + [
        {"id": "total", "expression": "FILL(primary, 0) + FILL(alternate, 0)", "returnData": True,
         "label": "Target 5xx responses, both target groups"}]
    assert (errors["threshold"], errors["comparisonOperator"]) == (10, "GreaterThanOrEqualToThreshold")
    assert latency["metricQueries"] == over_both_groups("TargetResponseTime", "p99") + [
        {"id": "slowest", "expression": "MAX([FILL(primary, 0), FILL(alternate, 0)])", "returnData": True,
         "label": "p99 target response time, both target groups"}]
    # p99LatencyMs 2000; TargetResponseTime is in seconds.
    assert (latency["threshold"], latency["comparisonOperator"]) == (2, "GreaterThanThreshold")
    # errorRatePercent 5: each group's own share of 5xx, the higher of the two, so a broken 10 % canary
    # alarms whatever the traffic.
    rate = alarms["api-5xx-rate"].inputs
    assert rate["metricQueries"] == [
        query(f"{counted}_{group_id}", metric, "Sum", group)
        for group_id, group in zip(("primary", "alternate"), groups, strict=True)
        for counted, metric in (("errors", "HTTPCode_Target_5XX_Count"), ("requests", "RequestCount"))] + [
        {"id": "rate_primary", "expression": "100 * FILL(errors_primary, 0) / FILL(requests_primary, 1)",
         "returnData": False},
        {"id": "rate_alternate", "expression": "100 * FILL(errors_alternate, 0) / FILL(requests_alternate, 1)",
         "returnData": False},
        {"id": "rate", "expression": "MAX([rate_primary, rate_alternate])", "returnData": True,
         "label": "Target 5xx responses, % of requests, the higher of both target groups"}]
    assert (rate["threshold"], rate["comparisonOperator"]) == (5, "GreaterThanOrEqualToThreshold")
    assert "5%+ of requests answered with a target 5xx, on either target group, for 2 minutes" in \
        rate["alarmDescription"]
    for alarm in alarms.values():
        assert alarm.inputs["evaluationPeriods"] == 2, alarm.urn
        assert alarm.inputs["treatMissingData"] == "notBreaching", "idle services must not roll back"
    service = one_below(prod, "api", SERVICE)
    assert service.inputs["alarms"] == {"alarmNames": [alarms["api-5xx"].outputs["name"],
                                                       alarms["api-5xx-rate"].outputs["name"],
                                                       alarms["api-p99"].outputs["name"]],
                                        "enable": True, "rollback": True}
    assert "alarms" not in one_below(prod, "worker", SERVICE).inputs

    alarm = one_below(staging, "web", ALARM)
    lb = staging.one("aws:lb/loadBalancer:LoadBalancer")
    tg = one_below(staging, "web", TARGET_GROUP)
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count")
    assert alarm.inputs["dimensions"] == {"LoadBalancer": lb.outputs["arnSuffix"], "TargetGroup": tg.outputs["arnSuffix"]}
    assert (alarm.inputs["threshold"], alarm.inputs["evaluationPeriods"], alarm.inputs["period"]) == (10, 2, 60)
    assert alarm.inputs["treatMissingData"] == "notBreaching", "idle services must not roll back"
    assert one_below(staging, "web", SERVICE).inputs["alarms"] == {
        "alarmNames": [alarm.outputs["name"]], "enable": True, "rollback": True}


def test_worker_has_no_load_balancer_and_no_ingress(prod):
    worker_sg = one_below(prod, "worker", SG)
    assert [r for r in prod.of_type(INGRESS) if r.inputs["securityGroupId"] == worker_sg.id] == []
    assert children_of_type(prod, "worker", "aws:lb/targetGroup:TargetGroup") == []
    assert children_of_type(prod, "worker", "aws:lb/listenerRule:ListenerRule") == []
    service = one_below(prod, "worker", SERVICE)
    assert "loadBalancers" not in service.inputs and "healthCheckGracePeriodSeconds" not in service.inputs
    assert container(one_below(prod, "worker", TASK_DEF))["command"] == \
        ["python", "-c", "import time\nwhile True: time.sleep(60)"]


def test_prod_tasks_run_in_private_subnets_without_public_ip(prod):
    vpc = prod.one("awsx:ec2:Vpc")
    assert vpc.inputs["natGateways"] == {"strategy": "OnePerAz"} and vpc.inputs["numberOfAvailabilityZones"] == 3
    for service in prod.of_type(SERVICE):
        network = service.inputs["networkConfiguration"]
        assert network["assignPublicIp"] is False, service.urn
        assert network["subnets"] == vpc.outputs["privateSubnetIds"], service.urn
    lb = prod.one("aws:lb/loadBalancer:LoadBalancer")
    assert lb.inputs["subnets"] == vpc.outputs["publicSubnetIds"]


def test_dev_runs_cheaply_in_public_subnets_on_spot(dev):
    vpc = dev.one("awsx:ec2:Vpc")
    assert vpc.inputs["natGateways"] == {"strategy": "None"}
    assert vpc.inputs["subnetSpecs"] == [{"type": "Public"}], "no useless private subnets without NAT"
    service = dev.one(SERVICE)
    assert service.inputs["networkConfiguration"]["assignPublicIp"] is True, service.urn
    assert service.inputs["networkConfiguration"]["subnets"] == vpc.outputs["publicSubnetIds"], service.urn
    assert service.inputs["capacityProviderStrategies"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]


SCALING_POLICY = "aws:appautoscaling/policy:Policy"


def scaling_policies(rendering, service: str) -> dict[str, dict]:
    return {p.name: p.inputs["targetTrackingScalingPolicyConfiguration"]
            for p in children_of_type(rendering, service, SCALING_POLICY)}


@pytest.fixture(scope="module")
def staging_scaling_on_requests():
    """Staging with its rolling web service scaling on CPU and on requests per target, as
    `autoscaling.requestsPerTarget` allows for a rolling service behind the load balancer."""
    services = copy.deepcopy(load_stack_config(ROOT, "staging").config["ecs-fargate:services"])
    services["web"]["autoscaling"] = {"minCount": 2, "maxCount": 6, "cpuTargetPercent": 70, "requestsPerTarget": 500}
    return render_stack("staging", {"ecs-fargate:services": services})


def test_autoscaling_tracks_cpu_and_requests_and_owns_the_desired_count(prod, staging_scaling_on_requests):
    service = one_below(prod, "api", SERVICE)
    assert "desiredCount" in service.ignore_changes, service.urn
    target = one_below(prod, "api", "aws:appautoscaling/target:Target")
    cluster = prod.one("aws:ecs/cluster:Cluster")
    assert target.inputs["resourceId"] == f"service/{cluster.outputs['name']}/{service.outputs['name']}"
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (3, 10), target.urn
    policies = scaling_policies(prod, "api")
    # CPU only: requests per target count one target group's requests, and the canary moves
    # production traffic to the other group on every deployment.
    assert sorted(policies) == ["api-scale-cpu"]
    assert policies["api-scale-cpu"]["targetValue"] == 60
    assert policies["api-scale-cpu"]["predefinedMetricSpecification"] == {
        "predefinedMetricType": "ECSServiceAverageCPUUtilization"}
    # Without autoscaling, the configured count is applied on every deploy.
    assert "desiredCount" not in one_below(prod, "worker", SERVICE).ignore_changes

    # A rolling service scales on requests too: those of its one target group, on its load balancer.
    staging = staging_scaling_on_requests
    web = one_below(staging, "web", SERVICE)
    assert "desiredCount" in web.ignore_changes, web.urn
    policies = scaling_policies(staging, "web")
    assert sorted(policies) == ["web-scale-cpu", "web-scale-requests"]
    assert policies["web-scale-cpu"]["targetValue"] == 70
    requests = policies["web-scale-requests"]
    lb = staging.one("aws:lb/loadBalancer:LoadBalancer")
    tg = one_below(staging, "web", TARGET_GROUP)
    assert requests["targetValue"] == 500
    assert requests["predefinedMetricSpecification"] == {
        "predefinedMetricType": "ALBRequestCountPerTarget",
        "resourceLabel": f"{lb.outputs['arnSuffix']}/{tg.outputs['arnSuffix']}"}


def test_dev_builds_the_app_and_runs_it_by_digest(dev):
    image = dev.one("docker-build:index:Image")
    repo = dev.one(ECR)
    url = repo.outputs["repositoryUrl"]
    assert image.inputs["push"] is True and image.inputs["platforms"] == ["linux/amd64"]
    assert image.inputs["context"] == {"location": "./app"}
    [tag] = image.inputs["tags"]
    assert tag.startswith(f"{url}:web-"), "each build gets its own content-addressed tag"
    assert image.inputs["registries"][0]["address"] == url
    app = container(dev.one(TASK_DEF))
    assert app["image"] == f"{url}@{image.outputs['digest']}"


# -- Scheduled task ---------------------------------------------------------------------------

def test_nightly_import_runs_the_api_task_definition_with_its_own_command(prod):
    schedule = prod.one("aws:scheduler/schedule:Schedule")
    api_task = one_below(prod, "api", TASK_DEF)
    cluster = prod.one("aws:ecs/cluster:Cluster")
    assert schedule.inputs["scheduleExpression"] == "cron(0 3 * * ? *)"
    target = schedule.inputs["target"]
    assert target["arn"] == cluster.outputs["arn"]
    assert target["ecsParameters"]["taskDefinitionArn"] == api_task.outputs["arn"]
    assert target["ecsParameters"]["networkConfiguration"]["assignPublicIp"] is False
    assert json.loads(target["input"]) == {"containerOverrides": [
        {"name": "app", "command": ["python", "/app/nightly_import.py"]}]}


def test_scheduler_role_may_run_only_that_family_and_pass_only_its_roles(prod):
    role = one_below(prod, "nightly-import", ROLE)
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    [policy] = children_of_type(prod, "nightly-import", ROLE_POLICY)
    run, tag, pass_role = json.loads(policy.inputs["policy"])["Statement"]
    cluster = prod.one("aws:ecs/cluster:Cluster")
    assert run["Action"] == "ecs:RunTask"
    assert run["Resource"] == [f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/ecs-fargate-prod-api:*"]
    assert run["Condition"] == {"ArnLike": {"ecs:cluster": cluster.outputs["arn"]}}
    # Tagging only the tasks RunTask creates in this cluster.
    assert tag["Resource"] == [f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/{cluster.outputs['name']}/*"]
    assert tag["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}
    execution, task = roles_of(prod, "api")
    assert sorted(pass_role["Resource"]) == sorted([execution.outputs["arn"], task.outputs["arn"]])
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


# -- Stack-wide -------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_resource_is_inside_a_component_with_the_tagging_provider(stack, request):
    rendering = request.getfixturevalue(stack)
    provider = rendering.one("pulumi:providers:aws")
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags["Environment"] == stack and tags["Stack"] == stack
    for resource in rendering.resources:
        if resource.type.startswith("aws:"):
            assert resource.provider and resource.provider.startswith(provider.urn), resource.urn
            # Directly, or through awsx's components and their own children (the VPC's subnets).
            ancestors, parent = [], resource.parent
            while parent:
                ancestors.append(rendering.by_urn(parent))
                parent = ancestors[-1].parent
            owner = next(a for a in ancestors if not a.type.startswith(("aws:", "awsx:")))
            assert owner.type.startswith("ecs-fargate:index:"), resource.urn


def test_exports_name_what_a_user_needs(prod):
    exports = prod.exports
    assert exports["url"].startswith("https://") and exports["url"].endswith(".elb.amazonaws.com")
    assert exports["repositoryUrl"].startswith(f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/")
    assert set(exports["services"]) == {"api", "worker"}
    assert exports["services"]["api"]["logGroupName"] == "/ecs/ecs-fargate-prod-api"
    # What a DNS record for your own domain needs (docs/operations.md): an alias to the ALB.
    balancer = prod.one("aws:lb/loadBalancer:LoadBalancer")
    assert (exports["loadBalancerDnsName"], exports["loadBalancerZoneId"]) == (
        balancer.outputs["dnsName"], balancer.outputs["zoneId"])


def test_repository_url_known_before_deploy_is_the_repositorys_own(prod):
    """The URL is computed from account, region and name so previews know it; it must match."""
    repo = prod.one(ECR)
    assert repo.inputs["name"] == "ecs-fargate-prod", repo.urn
    assert prod.exports["repositoryUrl"] == repo.outputs["repositoryUrl"]


def test_services_wait_for_capacity_providers_and_tasks_for_their_role_policies(prod):
    """Creation order AWS needs: a capacity provider strategy fails before the providers are
    attached, a task started before its role policies exist cannot pull or read secrets, and a
    traffic-shifting service created before its infrastructure role has its policy cannot move traffic."""
    providers = prod.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
    for service in prod.of_type(SERVICE):
        assert providers.urn in service.dependencies, service.urn
    for name in ("api", "worker"):
        task_definition = one_below(prod, name, TASK_DEF)
        service = one_below(prod, name, SERVICE)
        # Who assumes each role: ECS tasks (task and execution roles) or ECS itself (infrastructure role).
        trusted_by = {role.outputs["name"]: json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]
                      ["Service"] for role in children_of_type(prod, name, ROLE)}
        grants = children_of_type(prod, name, ATTACHMENT) + children_of_type(prod, name, ROLE_POLICY)
        assert grants
        for grant in grants:
            if trusted_by[grant.inputs["role"]] == "ecs-tasks.amazonaws.com":
                assert grant.urn in task_definition.dependencies, f"{task_definition.urn} before {grant.urn}"
            else:
                assert trusted_by[grant.inputs["role"]] == "ecs.amazonaws.com", grant.urn
                assert grant.urn in service.dependencies, f"{service.urn} before {grant.urn}"
    assert [g.name for g in children_of_type(prod, "api", ATTACHMENT) if g.urn in
            one_below(prod, "api", SERVICE).dependencies] == ["api-ecs-infra-lb"]


SECURITY_GROUP_RULES = (EGRESS, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_tasks_start_only_once_their_security_group_rules_exist(stack, request):
    """The provider strips a new group's default egress: a service or schedule created before
    the egress rule starts tasks that cannot pull their image or write logs, and a web task
    that the ALB cannot reach fails its health checks."""
    rendering = request.getfixturevalue(stack)
    starters = rendering.of_type(SERVICE) + rendering.of_type("aws:scheduler/schedule:Schedule")
    assert starters
    for starter in starters:
        groups = (starter.inputs.get("networkConfiguration")
                  or starter.inputs["target"]["ecsParameters"]["networkConfiguration"])["securityGroups"]
        rules = [r for r in rendering.resources if r.type in SECURITY_GROUP_RULES
                 and (r.inputs["securityGroupId"] in groups or r.inputs.get("referencedSecurityGroupId") in groups)]
        assert any(r.type == EGRESS and r.inputs["securityGroupId"] in groups for r in rules), starter.urn
        for rule in rules:
            assert rule.urn in starter.dependencies, f"{starter.urn} does not wait for {rule.urn}"


def test_every_security_group_description_is_in_ec2s_character_set(request):
    """EC2 refuses descriptions with characters outside a-zA-Z0-9, space and ._-:/()#,@[]+=&;{}!$*
    (the apostrophe of "task's" stopped both stacks from deploying)."""
    allowed = re.compile(r"^[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}$")
    for rendering in map(request.getfixturevalue, SHIPPED_STACKS):
        for resource in rendering.resources:
            if resource.type in (*SECURITY_GROUP_RULES, "aws:ec2/securityGroup:SecurityGroup"):
                assert allowed.match(resource.inputs.get("description", "")), resource.urn


def test_shipped_stacks_are_all_tested():
    assert {p.name for p in ROOT.glob("Pulumi.*.yaml")} == {f"Pulumi.{s}.yaml" for s in SHIPPED_STACKS}
