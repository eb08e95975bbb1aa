"""Components under configurations the shipped stacks don't use."""

from __future__ import annotations

import json

from testkit import children_of_type, container, render_config

SERVICE = "aws:ecs/service:Service"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PUBLIC = ["subnet-0a1b2c3d", "subnet-1a2b3c4d"]
PRIVATE = ["subnet-2a3b4c5d", "subnet-3a4b5c6d"]


def stack(services: dict, **sections) -> dict:
    config = {"ecs-fargate:environment": "staging", "ecs-fargate:services": services}
    config.update({f"ecs-fargate:{key}": value for key, value in sections.items()})
    return config


def test_existing_vpc_runs_tasks_in_its_private_subnets():
    rendering = render_config(stack({"web": {"image": "nginx:1.27", "port": 80}}, network={
        "vpcId": "vpc-0123456789abcdef0", "publicSubnetIds": PUBLIC, "privateSubnetIds": PRIVATE}))
    assert rendering.of_type("awsx:ec2:Vpc") == [], "an existing VPC must not create a new one"
    service = rendering.one(SERVICE)
    assert service.inputs["networkConfiguration"]["subnets"] == PRIVATE, service.urn
    assert service.inputs["networkConfiguration"]["assignPublicIp"] is False, service.urn
    assert rendering.one("aws:lb/loadBalancer:LoadBalancer").inputs["subnets"] == PUBLIC
    sg = children_of_type(rendering, "web", "aws:ec2/securityGroup:SecurityGroup")[0]
    assert sg.inputs["vpcId"] == "vpc-0123456789abcdef0", sg.urn


def test_existing_vpc_without_private_subnets_gives_tasks_a_public_ip():
    rendering = render_config(stack({"web": {"image": "nginx:1.27", "port": 80}}, network={
        "vpcId": "vpc-0123456789abcdef0", "publicSubnetIds": PUBLIC}))
    network = rendering.one(SERVICE).inputs["networkConfiguration"]
    assert (network["subnets"], network["assignPublicIp"]) == (PUBLIC, True)


def test_single_nat_gateway_puts_tasks_in_private_subnets():
    rendering = render_config(stack({"web": {"image": "nginx:1.27", "port": 80}},
                                    network={"natGateways": "single"}))
    vpc = rendering.one("awsx:ec2:Vpc")
    assert vpc.inputs["natGateways"] == {"strategy": "Single"}
    assert rendering.one(SERVICE).inputs["networkConfiguration"]["subnets"] == vpc.outputs["privateSubnetIds"]


def test_workers_only_create_no_load_balancer():
    rendering = render_config(stack({"jobs": {"image": "busybox:1.36", "command": ["sleep", "3600"]}}))
    assert rendering.of_type("aws:lb/loadBalancer:LoadBalancer") == []
    assert "url" not in rendering.exports


def test_ecs_exec_grants_the_ssm_channels_to_the_task_role_only():
    rendering = render_config(stack({"web": {"image": "nginx:1.27", "port": 80, "enableExecuteCommand": True,
                                             "readonlyRootFilesystem": False}}))
    assert rendering.one(SERVICE).inputs["enableExecuteCommand"] is True
    [exec_policy] = [p for p in rendering.of_type(ROLE_POLICY) if p.name == "web-roles-task-exec"]
    task_role = next(r for r in rendering.of_type("aws:iam/role:Role") if r.name == "web-roles-task")
    assert exec_policy.inputs["role"] == task_role.outputs["name"], exec_policy.urn
    [statement] = json.loads(exec_policy.inputs["policy"])["Statement"]
    assert sorted(statement["Action"]) == ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                                           "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
    assert container(rendering.one("aws:ecs/taskDefinition:TaskDefinition"))["linuxParameters"] == \
        {"initProcessEnabled": True}


def test_execution_role_reads_secret_arns_without_their_json_key_and_ssm_parameters():
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
    partial = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api-secret"
    partial_only = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db"
    parameter = "arn:aws:ssm:us-east-1:123456789012:parameter/app/api-key"
    rendering = render_config(stack({"web": {"image": "nginx:1.27", "port": 80, "secrets": {
        "DB_PASSWORD": f"{secret}:password::", "DB_USER": f"{secret}:username::", "API_KEY": parameter,
        "TOKEN": partial, "OTHER": f"{partial_only}:key::"}}}))
    [policy] = [p for p in rendering.of_type(ROLE_POLICY) if p.name == "web-roles-execution-secrets"]
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         # A partial ARN lacks the random suffix of the real one: IAM needs the wildcard.
         # `prod/api-secret` ends like a random suffix: it may be full or partial, so both.
         "Resource": [secret, f"{secret}-??????", partial, f"{partial}-??????", f"{partial_only}-??????"]},
        {"Sid": "ReadParameters", "Effect": "Allow", "Action": ["ssm:GetParameters"], "Resource": [parameter]},
    ]
    secrets = container(rendering.one("aws:ecs/taskDefinition:TaskDefinition"))["secrets"]
    assert {"name": "DB_PASSWORD", "valueFrom": f"{secret}:password::"} in secrets


def test_scheduled_task_with_its_own_image_gets_its_own_roles_and_task_definition():
    rendering = render_config(stack(
        {"web": {"image": "nginx:1.27", "port": 80}},
        scheduledTasks={"report": {"image": "busybox:1.36", "command": ["echo", "hi"],
                                   "schedule": "rate(6 hours)", "enabled": False}}))
    [task_definition] = children_of_type(rendering, "report", "aws:ecs/taskDefinition:TaskDefinition")
    assert task_definition.inputs["family"] == "ecs-fargate-test-report"
    roles = children_of_type(rendering, "report", "aws:iam/role:Role")
    assert sorted(r.name for r in roles) == ["report-roles-execution", "report-roles-task", "report-scheduler"]
    assert task_definition.inputs["executionRoleArn"] != task_definition.inputs["taskRoleArn"]
    schedule = rendering.one("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["state"] == "DISABLED"
    assert schedule.inputs["target"]["ecsParameters"]["taskDefinitionArn"] == task_definition.outputs["arn"]


def test_host_headers_and_paths_route_and_specific_rules_come_first():
    rendering = render_config(stack({
        "aaa-site": {"image": "nginx:1.27", "port": 80},
        "api": {"image": "nginx:1.27", "port": 80, "pathPatterns": ["/api/*"]},
        "zzz-admin": {"image": "nginx:1.27", "port": 80, "pathPatterns": ["/admin/*"],
                      "hostHeaders": ["admin.example.com"]},
        "worker": {"image": "busybox:1.36"},
    }))
    rules = {r.name: r.inputs for r in rendering.of_type("aws:lb/listenerRule:ListenerRule")}
    assert rules["zzz-admin-rule"]["conditions"] == [{"pathPattern": {"values": ["/admin/*"]}},
                                                     {"hostHeader": {"values": ["admin.example.com"]}}]
    # Whatever the names or the file order, the catch-all is evaluated last.
    admin, api, site = (rules[f"{name}-rule"]["priority"] for name in ("zzz-admin", "api", "aaa-site"))
    assert admin < api < site


def test_scheduled_job_with_ecs_exec_enables_it_on_the_run():
    rendering = render_config(stack({"web": {"image": "nginx:1.27", "port": 80}}, scheduledTasks={
        "debug": {"image": "busybox:1.36", "schedule": "rate(1 day)", "enableExecuteCommand": True,
                  "readonlyRootFilesystem": False}}))
    schedule = rendering.one("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["target"]["ecsParameters"]["enableExecuteCommand"] is True


def test_stack_aws_settings_reach_the_explicit_provider():
    """An explicit provider ignores `aws:*` stack config unless the program passes it on."""
    rendering = render_config({**stack({"web": {"image": "nginx:1.27", "port": 80}}),
                               "aws:profile": "deployer", "aws:allowedAccountIds": ["123456789012"],
                               "aws:defaultTags": {"tags": {"Owner": "team-a"}}})
    provider = rendering.one("pulumi:providers:aws")
    assert provider.inputs["profile"] == "deployer"
    assert json.loads(provider.inputs["allowedAccountIds"]) == ["123456789012"]
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags["Owner"] == "team-a" and tags["Environment"] == "staging"


def test_load_balancer_cidrs_access_logs_and_kms_registry():
    rendering = render_config(stack(
        {"web": {"image": "nginx:1.27", "port": 80}},
        loadBalancer={"allowedCidrs": ["10.0.0.0/8", "192.168.0.0/16"], "accessLogsBucket": "my-alb-logs",
                      "idleTimeoutSeconds": 120},
        registry={"kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/abcd"}))
    ingress = rendering.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert sorted(r.inputs.get("cidrIpv4") for r in ingress if "cidrIpv4" in r.inputs) == \
        ["10.0.0.0/8", "192.168.0.0/16"]
    lb = rendering.one("aws:lb/loadBalancer:LoadBalancer")
    assert lb.inputs["accessLogs"] == {"bucket": "my-alb-logs", "enabled": True}
    assert lb.inputs["idleTimeout"] == 120
    repo = rendering.one("aws:ecr/repository:Repository")
    assert repo.inputs["encryptionConfigurations"] == [
        {"encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-east-1:123456789012:key/abcd"}]


def test_stack_tags_reach_the_provider_default_tags():
    rendering = render_config(stack({"web": {"image": "nginx:1.27", "port": 80}}, tags={"CostCenter": "42"}))
    tags = json.loads(rendering.one("pulumi:providers:aws").inputs["defaultTags"])["tags"]
    assert tags["CostCenter"] == "42" and tags["Environment"] == "staging"
