"""The shipped dev and prod stacks, rendered under mocks: every property a user relies on."""

from __future__ import annotations

import json
import re

import pytest

from testkit import ROOT, SHIPPED_STACKS, children_of_type, container

ACCOUNT = "123456789012"
ECR = "aws:ecr/repository:Repository"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
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
    [attachment] = children_of_type(prod, "api", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["role"] == execution.outputs["name"], attachment.urn
    assert attachment.inputs["policyArn"] == \
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", attachment.urn
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
    listeners = {r.inputs["port"]: r for r in prod.of_type(LISTENER)}
    assert sorted(listeners) == [80, 443]
    https = listeners[443]
    assert https.inputs["protocol"] == "HTTPS", https.urn
    assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06", https.urn
    assert https.inputs["certificateArn"].startswith("arn:aws:acm:us-east-1:"), https.urn
    [redirect] = listeners[80].inputs["defaultActions"]
    assert redirect == {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                         "statusCode": "HTTP_301"}}, listeners[80].urn


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


@pytest.mark.parametrize("stack, ports", [("dev", [80]), ("prod", [80, 443])])
def test_alb_security_group_admits_only_web_ports_from_allowed_cidrs(stack, ports, request):
    rendering = request.getfixturevalue(stack)
    alb_sg = one_below(rendering, "alb", SG)
    rules = [r for r in rendering.of_type(INGRESS) if r.inputs["securityGroupId"] == alb_sg.id]
    assert sorted((r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"]) for r in rules) == \
        [(p, p, "0.0.0.0/0") for p in ports]


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


def test_target_group_checks_health_fast_and_drains_in_30s(prod):
    tg = one_below(prod, "api", "aws:lb/targetGroup:TargetGroup")
    assert tg.inputs["targetType"] == "ip" and tg.inputs["port"] == 3000, tg.urn
    assert tg.inputs["deregistrationDelay"] == 30, tg.urn
    check = tg.inputs["healthCheck"]
    assert (check["path"], check["healthyThreshold"], check["interval"]) == ("/health", 2, 10), tg.urn
    assert check["timeout"] < check["interval"], tg.urn


def test_listener_rule_forwards_the_paths_on_the_https_listener(prod):
    rule = one_below(prod, "api", "aws:lb/listenerRule:ListenerRule")
    https = next(r for r in prod.of_type(LISTENER) if r.inputs["port"] == 443)
    tg = one_below(prod, "api", "aws:lb/targetGroup:TargetGroup")
    assert rule.inputs["listenerArn"] == https.outputs["arn"], rule.urn
    assert rule.inputs["actions"] == [{"type": "forward", "targetGroupArn": tg.outputs["arn"]}], rule.urn
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/*"]}}], rule.urn


def test_service_rolls_out_with_zero_downtime_and_rolls_back_failures(prod, dev):
    for rendering in (prod, dev):
        for service in rendering.of_type(SERVICE):
            assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}, service.urn
            assert service.inputs["deploymentMinimumHealthyPercent"] == 100, service.urn
            assert service.inputs["deploymentMaximumPercent"] == 200, service.urn
            assert service.inputs["waitForSteadyState"] is True, service.urn
            # The provider refuses a capacity provider change without it.
            assert service.inputs["forceNewDeployment"] is True, service.urn
            assert service.inputs["propagateTags"] == "SERVICE", service.urn


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


def test_deployments_roll_back_on_a_5xx_alarm_of_the_services_target_group(prod):
    alarm = one_below(prod, "api", "aws:cloudwatch/metricAlarm:MetricAlarm")
    lb = prod.one("aws:lb/loadBalancer:LoadBalancer")
    tg = one_below(prod, "api", "aws:lb/targetGroup:TargetGroup")
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count")
    assert alarm.inputs["dimensions"] == {"LoadBalancer": lb.outputs["arnSuffix"], "TargetGroup": tg.outputs["arnSuffix"]}
    assert (alarm.inputs["threshold"], alarm.inputs["evaluationPeriods"], alarm.inputs["period"]) == (10, 2, 60)
    assert alarm.inputs["treatMissingData"] == "notBreaching", "idle services must not roll back"
    service = one_below(prod, "api", SERVICE)
    assert service.inputs["alarms"] == {"alarmNames": [alarm.outputs["name"]], "enable": True, "rollback": True}
    assert "alarms" not in one_below(prod, "worker", SERVICE).inputs


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


def test_autoscaling_tracks_cpu_and_requests_and_owns_the_desired_count(prod):
    service = one_below(prod, "api", SERVICE)
    assert "desiredCount" in service.ignore_changes, service.urn
    target = one_below(prod, "api", "aws:appautoscaling/target:Target")
    cluster = prod.one("aws:ecs/cluster:Cluster")
    assert target.inputs["resourceId"] == f"service/{cluster.outputs['name']}/{service.outputs['name']}"
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (3, 10), target.urn
    policies = {p.name: p.inputs["targetTrackingScalingPolicyConfiguration"]
                for p in children_of_type(prod, "api", "aws:appautoscaling/policy:Policy")}
    assert policies["api-scale-cpu"]["targetValue"] == 60
    assert policies["api-scale-cpu"]["predefinedMetricSpecification"] == {
        "predefinedMetricType": "ECSServiceAverageCPUUtilization"}
    requests = policies["api-scale-requests"]
    lb = prod.one("aws:lb/loadBalancer:LoadBalancer")
    tg = one_below(prod, "api", "aws:lb/targetGroup:TargetGroup")
    assert requests["targetValue"] == 1000
    assert requests["predefinedMetricSpecification"]["resourceLabel"] == \
        f"{lb.outputs['arnSuffix']}/{tg.outputs['arnSuffix']}"
    # Without autoscaling, the configured count is applied on every deploy.
    assert "desiredCount" not in one_below(prod, "worker", SERVICE).ignore_changes


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
    attached, and a task started before its role policies exist cannot pull or read secrets."""
    providers = prod.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
    for service in prod.of_type(SERVICE):
        assert providers.urn in service.dependencies, service.urn
    for name in ("api", "worker"):
        task_definition = one_below(prod, name, TASK_DEF)
        grants = children_of_type(prod, name, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") + \
            children_of_type(prod, name, ROLE_POLICY)
        assert grants
        for grant in grants:
            assert grant.urn in task_definition.dependencies, f"{task_definition.urn} before {grant.urn}"


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
