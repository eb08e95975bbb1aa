"""Compliant sample resources and helpers to run one rule on them through the SDK's objects.

The engine runs the pack with `policies/` as its program directory, so the rules import as
`ecs_fargate_rules`; pytest.ini's `pythonpath` puts `policies/` on the path for the tests too.

Samples hold the camelCase inputs a pulumi-aws 7.x program sends (container definitions and
IAM documents as JSON strings). Each builder returns a compliant resource; tests pass keyword
overrides to make it violate exactly one thing.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

POLICY_PACK = Path(__file__).resolve().parents[2] / "policies"

from ecs_fargate_rules import POLICIES_BY_NAME
from ecs_fargate_rules._common import (
    ECR_LIFECYCLE_POLICY,
    ECR_REPOSITORY,
    ECS_CLUSTER,
    ECS_SERVICE,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    LOG_GROUP,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS_RULE,
    SECURITY_GROUP_RULE,
    TASK_DEFINITION,
)
from policy_evaluation import (
    Violation,
    evaluate,
    policy_resource,
    resource_args,
    stack_args,
    urn_for,
)
from preflight.policy_reference import config_file
from preflight.policy_engine import (
    Diagnostic,
    configure,
    load_pack,
    read_config_file,
    reconcile_config,
)
from preflight.policy_engine import evaluate as evaluate_pack
from preflight.render import RenderedResource, Rendering

def read_port(process: subprocess.Popen, timeout: float = 30.0) -> int:
    """The port a started policy pack prints on its first line (how the engine finds it)."""
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            process.kill()
            raise AssertionError(f"the pack printed no port; stderr: {process.communicate()[1].decode()}")
        if select.select([process.stdout], [], [], remaining)[0]:
            line += os.read(process.stdout.fileno(), 64)
    return int(line.strip())


def activated_environment(environ: dict[str, str], venv: Path) -> dict[str, str]:
    """The environment toolchain.ActivateVirtualEnv gives a pack (PYTHONPATH dropped here so
    that nothing outside the pack's virtualenv can satisfy an import)."""
    env = {k: v for k, v in environ.items()
           if k.upper() not in {"PYTHONHOME", "VIRTUAL_ENV", "PYTHONPATH"}}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


@contextmanager
def pack_process(venv: Path, pack_dir: Path, env: dict[str, str], timeout: float = 30.0
                 ) -> Iterator[int]:
    """A pack started as the CLI starts it - `VENV/bin/python -u -m pulumi.policy ENGINE PACK_DIR`
    in the pack directory - yielding the port it serves on; killed afterwards."""
    process = subprocess.Popen([str(venv / "bin" / "python"), "-u", "-m", "pulumi.policy", "127.0.0.1:1",
                                str(pack_dir)], cwd=pack_dir, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield read_port(process, timeout)
    finally:
        process.kill()
        process.wait(timeout=timeout)
        process.stdout.close()
        process.stderr.close()


class RemoteServicer:
    """Sends preflight's Configure request (the CLI's reconciliation of a config file) over gRPC,
    so `configure(LoadedPack(..., servicer=RemoteServicer(stub), ...), ...)` configures a pack
    process."""

    def __init__(self, stub, timeout: float = 30.0):
        self.stub = stub
        self.timeout = timeout

    def Configure(self, request, _context):
        return self.stub.Configure(request, timeout=self.timeout)


ACCOUNT = "123456789012"
REGION = "eu-west-1"
REPOSITORY_URL = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web"
DIGEST = "sha256:" + "ab" * 32
EXECUTION_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/web-execution"
TASK_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/web-task"
ALB_SG = "sg-0a1b2c3d4e5f60001"
TASK_SG = "sg-0a1b2c3d4e5f60002"


def violations(policy_name: str, resource_type: str, props: dict[str, Any],
               config: dict[str, Any] | None = None) -> list[str]:
    """Messages one resource rule reports for one resource, run as the SDK's server runs it."""
    policy = POLICIES_BY_NAME[policy_name]
    return [v.message for v in evaluate(policy, resource_args(resource_type, props, config=config))]


def stack_violations(policy_name: str, resources: list[tuple],
                     config: dict[str, Any] | None = None) -> list[Violation]:
    """Violations a stack rule reports for (type, name, outputs) resources, or (type, name, outputs,
    ignore_changes) for one with that resource option (a stack rule reads it as `opts.ignore_changes`)."""
    policy = POLICIES_BY_NAME[policy_name]
    stack = []
    for type_, name, props, *options in resources:
        stack.append(policy_resource(type_, props, name=name, ignore_changes=options[0] if options else ()))
    return evaluate(policy, stack_args(stack, config=config))


def environment_config(environment: str) -> dict[str, tuple[str | None, dict[str, Any]]]:
    """An environment's `--policy-pack-config` file, parsed as preflight (and the CLI) parse it."""
    return read_config_file(config_file(environment))


def analyze(resources: list[tuple[str, str, dict[str, Any]]],
            config: dict[str, tuple[str | None, dict[str, Any]]], pack_dir: Path = POLICY_PACK
            ) -> list[Diagnostic]:
    """The whole pack's diagnostics under a parsed config, as `python -m preflight` reports them.

    preflight drives the SDK's analyzer servicer as the engine does (Configure, Analyze per
    resource, AnalyzeStack); each resource's props serve as both its inputs and its outputs.
    """
    pack = load_pack(pack_dir)
    configure(pack, reconcile_config(pack, config))
    rendered = [RenderedResource(urn=urn_for(type_, name), type=type_, name=name, parent=None,
                                 custom=True, inputs=props, outputs=props, wire_inputs=props,
                                 wire_outputs=props)
                for type_, name, props in resources]
    return evaluate_pack(pack, Rendering(project="ecs-fargate", stack="dev", resources=rendered, exports={}))


# ---------------------------------------------------------------------------------------------
# ECS


def container(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "app",
        "image": f"{REPOSITORY_URL}:web-3f2a1b@{DIGEST}",
        "essential": True,
        "environment": [{"name": "PORT", "value": "8080"}, {"name": "LOG_LEVEL", "value": "info"}],
        "secrets": [{"name": "DB_PASSWORD",
                     "valueFrom": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/ecs/web", "awslogs-region": REGION, "awslogs-stream-prefix": "web"}},
        "readonlyRootFilesystem": True,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        **overrides,
    }


def task_definition(containers: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "family": "ecs-fargate-dev-web",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
        "executionRoleArn": EXECUTION_ROLE_ARN,
        "taskRoleArn": TASK_ROLE_ARN,
        "containerDefinitions": json.dumps(containers if containers is not None else [container()]),
        **overrides,
    }


def service(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "web",
        "cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/main",
        "taskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:3",
        "desiredCount": 2,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "deploymentController": {"type": "ECS"},
        "networkConfiguration": {"assignPublicIp": False, "securityGroups": [TASK_SG],
                                 "subnets": ["subnet-0aaa1111", "subnet-0bbb2222"]},
        **overrides,
    }


def cluster(**overrides: Any) -> dict[str, Any]:
    return {"name": "main", "settings": [{"name": "containerInsights", "value": "enabled"}], **overrides}


# ---------------------------------------------------------------------------------------------
# ECR


def repository(**overrides: Any) -> dict[str, Any]:
    return {"name": "web", "imageScanningConfiguration": {"scanOnPush": True},
            "imageTagMutability": "IMMUTABLE", **overrides}


def repository_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    """An aws.ecr.RepositoryPolicy; by default another account of the organization may pull."""
    pull = {"Sid": "OrgPull", "Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}
    return {"repository": "web", "policy": policy_document(*(statements or [pull]))}


def registry_scanning(scan_type: str = "ENHANCED", frequency: str = "SCAN_ON_PUSH",
                      *filters: str) -> dict[str, Any]:
    """An aws.ecr.RegistryScanningConfiguration with one rule (filter `*` unless given)."""
    return {"scanType": scan_type, "rules": [{"scanFrequency": frequency, "repositoryFilters": [
        {"filter": f, "filterType": "WILDCARD"} for f in (filters or ("*",))]}]}


def lifecycle_policy(repository_name: str = "web") -> dict[str, Any]:
    return {"repository": repository_name, "policy": json.dumps({"rules": [{
        "rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                         "countUnit": "days", "countNumber": 14},
        "action": {"type": "expire"}}]})}


# ---------------------------------------------------------------------------------------------
# Load balancing and network


ACCESS_LOGS = {"bucket": "web-alb-logs", "enabled": True, "prefix": "web"}


def load_balancer(**overrides: Any) -> dict[str, Any]:
    return {"loadBalancerType": "application", "internal": False, "securityGroups": [ALB_SG],
            "subnets": ["subnet-0aaa1111", "subnet-0bbb2222"], "dropInvalidHeaderFields": True,
            "enableDeletionProtection": True, "accessLogs": ACCESS_LOGS,
            "desyncMitigationMode": "defensive", **overrides}


WAF_ACL_ARN = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/web/a1b2c3d4-5678-90ab-cdef-111122223333"


def waf_association(resource_arn: str, **overrides: Any) -> dict[str, Any]:
    return {"resourceArn": resource_arn, "webAclArn": WAF_ACL_ARN, **overrides}


def redirect_action(protocol: str = "HTTPS") -> dict[str, Any]:
    return {"type": "redirect", "redirect": {"protocol": protocol, "port": "443", "statusCode": "HTTP_301"}}


ALB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188"
CERTIFICATE_ARN = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0b1c2d3e-aaaa-bbbb-cccc-123456789012"


def http_listener(**overrides: Any) -> dict[str, Any]:
    return {"loadBalancerArn": ALB_ARN,
            "port": 80, "protocol": "HTTP", "defaultActions": [redirect_action()], **overrides}


def https_listener(**overrides: Any) -> dict[str, Any]:
    return {"loadBalancerArn": ALB_ARN,
            "port": 443, "protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "certificateArn": CERTIFICATE_ARN,
            "defaultActions": [{"type": "fixed-response", "fixedResponse": {
                "contentType": "text/plain", "messageBody": "Not Found", "statusCode": "404"}}],
            **overrides}


def security_group(group_id: str, ingress: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": group_id, "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group_id}",
            "vpcId": "vpc-0123456789abcdef0", "ingress": ingress or [], "egress": []}


# A security group of no service, described by its ARN only.
ARN_ONLY_GROUP = {k: v for k, v in security_group("sg-0ddddddddddddddd1").items() if k != "id"}


def ingress_rule(**overrides: Any) -> dict[str, Any]:
    """An aws.vpc.SecurityGroupIngressRule on the task group, from the ALB's group."""
    return {"securityGroupId": TASK_SG, "referencedSecurityGroupId": ALB_SG, "ipProtocol": "tcp",
            "fromPort": 8080, "toPort": 8080, **overrides}


def compliant_network_stack() -> list[tuple[str, str, dict[str, Any]]]:
    """A service whose task group admits only the ALB's group, as the stack's outputs."""
    return [
        (ECS_SERVICE, "web-service", service()),
        ("aws:lb/loadBalancer:LoadBalancer", "web-alb", load_balancer()),
        (SECURITY_GROUP, "web-alb-sg", security_group(ALB_SG, [
            {"cidrBlocks": ["0.0.0.0/0"], "fromPort": 443, "toPort": 443, "protocol": "tcp"}])),
        (SECURITY_GROUP, "web-sg", security_group(TASK_SG, [
            {"securityGroups": [ALB_SG], "fromPort": 8080, "toPort": 8080, "protocol": "tcp"}])),
        (SECURITY_GROUP_INGRESS_RULE, "web-ingress-alb", ingress_rule()),
        (SECURITY_GROUP_RULE, "web-alb-to-tasks", {
            "type": "egress", "securityGroupId": ALB_SG, "sourceSecurityGroupId": TASK_SG,
            "fromPort": 8080, "toPort": 8080, "protocol": "tcp"}),
    ]


# ---------------------------------------------------------------------------------------------
# IAM and logs


def ecs_trust_policy(**statement_overrides: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"}},
        **statement_overrides,
    }]})


def policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


READ_SECRET = {"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
               "Resource": [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"]}
ADMIN = {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}


def role(**overrides: Any) -> dict[str, Any]:
    return {"name": "web-task", "assumeRolePolicy": ecs_trust_policy(),
            "inlinePolicies": [{"name": "read-secrets", "policy": policy_document(READ_SECRET)}],
            **overrides}


EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
APP_POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/web-app"
SCHEDULER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/scheduler"
PASS_TASK_ROLES = {"Sid": "PassTaskRoles", "Effect": "Allow", "Action": "iam:PassRole",
                   "Resource": [TASK_ROLE_ARN, EXECUTION_ROLE_ARN],
                   "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}


def compliant_iam_stack() -> list[tuple[str, str, dict[str, Any]]]:
    """A task definition and a schedule with their roles, given policies every way pulumi-aws can."""
    scheduler_trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    return [
        (TASK_DEFINITION, "web", task_definition()),
        ("aws:scheduler/schedule:Schedule", "nightly", schedule()),
        (IAM_ROLE, "web-task", role(name="web-task", arn=TASK_ROLE_ARN)),
        (IAM_ROLE, "web-execution", role(name="web-execution", arn=EXECUTION_ROLE_ARN, inlinePolicies=[],
                                         assumeRolePolicy=ecs_trust_policy(Condition=None),
                                         managedPolicyArns=[EXECUTION_POLICY_ARN])),
        (IAM_ROLE, "scheduler", role(name="scheduler", arn=SCHEDULER_ROLE_ARN, inlinePolicies=[],
                                     assumeRolePolicy=scheduler_trust)),
        (IAM_ROLE_POLICY, "scheduler-run", {"role": "scheduler", "policy": policy_document(PASS_TASK_ROLES)}),
        (IAM_POLICY, "web-app", {"name": "web-app", "arn": APP_POLICY_ARN, "policy": policy_document(READ_SECRET)}),
        (IAM_ROLE_POLICY_ATTACHMENT, "web-app", {"role": "web-task", "policyArn": APP_POLICY_ARN}),
        ("aws:iam/policyAttachment:PolicyAttachment", "web-app-shared",
         {"name": "web-app", "roles": ["web-task"], "policyArn": APP_POLICY_ARN}),
        ("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "web-execution-exclusive",
         {"roleName": "web-execution", "policyArns": [EXECUTION_POLICY_ARN, APP_POLICY_ARN]}),
    ]


def log_group(**overrides: Any) -> dict[str, Any]:
    return {"name": "/ecs/web", "retentionInDays": 30, **overrides}


# ---------------------------------------------------------------------------------------------
# Further types aws-api-constraints judges (inputs as our components and a typical program send)


TARGET_GROUP_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/web/0123456789abcdef"
LISTENER_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"


def target_group(**overrides: Any) -> dict[str, Any]:
    return {"vpcId": "vpc-0123456789abcdef0", "port": 8080, "protocol": "HTTP", "targetType": "ip",
            "deregistrationDelay": 30,
            "healthCheck": {"path": "/health", "protocol": "HTTP", "matcher": "200-399", "interval": 30,
                            "timeout": 5, "healthyThreshold": 2, "unhealthyThreshold": 3},
            **overrides}


def listener_rule(**overrides: Any) -> dict[str, Any]:
    return {"listenerArn": LISTENER_ARN, "priority": 10,
            "actions": [{"type": "forward", "targetGroupArn": TARGET_GROUP_ARN}],
            "conditions": [{"pathPattern": {"values": ["/api/*"]}}], **overrides}


ALTERNATE_TARGET_GROUP_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/web-alt/fedcba9876543210"
PRODUCTION_RULE_ARN = (f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener-rule/app/web/50dc6c495c0c9188/"
                       "f2f7dc8efc522ab2/9683b2d02a6cabee")
TEST_RULE_ARN = PRODUCTION_RULE_ARN.replace("9683b2d02a6cabee", "1a2b3c4d5e6f7a8b")
INFRASTRUCTURE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/web-ecs-infrastructure"


def weighted_rule(**overrides: Any) -> dict[str, Any]:
    """A production listener rule as ECS wants it: one weighted forward, primary 100 / alternate 0."""
    return listener_rule(**{"arn": PRODUCTION_RULE_ARN, "actions": [{"type": "forward", "forward": {"targetGroups": [
        {"arn": TARGET_GROUP_ARN, "weight": 100}, {"arn": ALTERNATE_TARGET_GROUP_ARN, "weight": 0}]}}],
        **overrides})


def blue_green_service(test_rule: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A service deployed blue/green, whose load balancer names its production (and test) rule."""
    advanced = {"alternateTargetGroupArn": ALTERNATE_TARGET_GROUP_ARN, "productionListenerRule": PRODUCTION_RULE_ARN,
                "roleArn": INFRASTRUCTURE_ROLE_ARN, **({"testListenerRule": test_rule} if test_rule else {})}
    return service(**{"deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": "5"},
                      "loadBalancers": [{"targetGroupArn": TARGET_GROUP_ARN, "containerName": "app",
                                         "containerPort": 8080, "advancedConfiguration": advanced}], **overrides})


ROLLBACK_ALARMS = {"enable": True, "rollback": True, "alarmNames": ["web-5xx"]}


def shifting_service(strategy: str = "CANARY", **overrides: Any) -> dict[str, Any]:
    """A service deployed blue/green, linear or canary with every safeguard: alarms that roll it
    back, a bake time of 10 minutes after the last shift, and 10 (canary) or 6 (each linear step)
    minutes before more traffic moves. Strings, as pulumi-aws takes the bake times."""
    deployment: dict[str, Any] = {"strategy": strategy, "bakeTimeInMinutes": "10"}
    if strategy == "CANARY":
        deployment["canaryConfiguration"] = {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": "10"}
    if strategy == "LINEAR":
        deployment["linearConfiguration"] = {"stepPercent": 20.0, "stepBakeTimeInMinutes": "6"}
    return blue_green_service(**{"deploymentConfiguration": deployment, "alarms": dict(ROLLBACK_ALARMS),
                                 **overrides})


def egress_rule(**overrides: Any) -> dict[str, Any]:
    """An aws.vpc.SecurityGroupEgressRule: the task group's outbound HTTPS."""
    return {"securityGroupId": TASK_SG, "cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 443,
            "toPort": 443, "description": "HTTPS to AWS APIs and image registries", **overrides}


def metric_alarm(**overrides: Any) -> dict[str, Any]:
    return {"namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_Target_5XX_Count", "statistic": "Sum",
            "period": 60, "evaluationPeriods": 2, "threshold": 10, "comparisonOperator": "GreaterThanOrEqualToThreshold",
            "treatMissingData": "notBreaching", "alarmDescription": "web: target 5xx responses",
            "dimensions": {"LoadBalancer": "app/web/50dc6c495c0c9188"}, **overrides}


def schedule(**overrides: Any) -> dict[str, Any]:
    return {"scheduleExpression": "cron(0 3 * * ? *)", "scheduleExpressionTimezone": "UTC", "state": "ENABLED",
            "flexibleTimeWindow": {"mode": "OFF"},
            "target": {"arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/main", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/scheduler",
                       "retryPolicy": {"maximumRetryAttempts": 3, "maximumEventAgeInSeconds": 3600},
                       "ecsParameters": {"taskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:3",
                                         "taskCount": 1, "launchType": "FARGATE"}},
            **overrides}


def scaling_target(**overrides: Any) -> dict[str, Any]:
    return {"serviceNamespace": "ecs", "scalableDimension": "ecs:service:DesiredCount",
            "resourceId": "service/main/web", "minCapacity": 2, "maxCapacity": 10, **overrides}


def scaling_policy(**overrides: Any) -> dict[str, Any]:
    return {"serviceNamespace": "ecs", "scalableDimension": "ecs:service:DesiredCount",
            "resourceId": "service/main/web", "policyType": "TargetTrackingScaling",
            "targetTrackingScalingPolicyConfiguration": {
                "targetValue": 60, "predefinedMetricSpecification": {
                    "predefinedMetricType": "ECSServiceAverageCPUUtilization"}},
            **overrides}


# Every resource type the pack checks, with a compliant sample: the tests that sweep all rules
# (unknown values, property names) run each rule on these.
COMPLIANT_SAMPLES: dict[str, dict[str, Any]] = {
    TASK_DEFINITION: task_definition(),
    ECS_SERVICE: service(),
    ECS_CLUSTER: cluster(),
    ECR_REPOSITORY: repository(),
    ECR_LIFECYCLE_POLICY: lifecycle_policy(),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": repository_policy(),
    "aws:lb/loadBalancer:LoadBalancer": load_balancer(),
    "aws:alb/loadBalancer:LoadBalancer": load_balancer(),
    "aws:lb/listener:Listener": https_listener(),
    "aws:alb/listener:Listener": http_listener(),
    IAM_ROLE: role(managedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"]),
    IAM_ROLE_POLICY: {"role": "web-task", "policy": policy_document(READ_SECRET)},
    IAM_POLICY: {"name": "read-secrets", "policy": policy_document(READ_SECRET)},
    "aws:iam/userPolicy:UserPolicy": {"user": "ci", "policy": policy_document(READ_SECRET)},
    "aws:iam/groupPolicy:GroupPolicy": {"group": "ops", "policy": policy_document(READ_SECRET)},
    IAM_ROLE_POLICY_ATTACHMENT: {"role": "web-execution", "policyArn":
                                 "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"},
    "aws:iam/policyAttachment:PolicyAttachment": {"name": "web-app", "roles": ["web-task"],
                                                  "policyArn": APP_POLICY_ARN},
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": {
        "roleName": "web-execution", "policyArns": [EXECUTION_POLICY_ARN, APP_POLICY_ARN]},
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": {"user": "ci", "policyArn": APP_POLICY_ARN},
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": {"group": "ops", "policyArn": APP_POLICY_ARN},
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": {
        "userName": "ci", "policyArns": [APP_POLICY_ARN]},
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": {
        "groupName": "ops", "policyArns": [APP_POLICY_ARN]},
    LOG_GROUP: log_group(),
    "aws:lb/targetGroup:TargetGroup": target_group(),
    "aws:alb/targetGroup:TargetGroup": target_group(),
    "aws:lb/listenerRule:ListenerRule": listener_rule(),
    "aws:alb/listenerRule:ListenerRule": listener_rule(),
    SECURITY_GROUP: {**security_group(TASK_SG, [{"securityGroups": [ALB_SG], "fromPort": 8080, "toPort": 8080,
                                                 "protocol": "tcp", "description": "From the load balancer"}]),
                     "name": "web-tasks", "description": "Tasks of web"},
    SECURITY_GROUP_INGRESS_RULE: ingress_rule(description="From the load balancer"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": egress_rule(),
    SECURITY_GROUP_RULE: {"type": "egress", "securityGroupId": ALB_SG, "sourceSecurityGroupId": TASK_SG,
                          "fromPort": 8080, "toPort": 8080, "protocol": "tcp", "description": "To the tasks"},
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm(),
    "aws:scheduler/schedule:Schedule": schedule(),
    "aws:appautoscaling/target:Target": scaling_target(),
    "aws:appautoscaling/policy:Policy": scaling_policy(),
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": {
        "clusterName": "main", "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
        "defaultCapacityProviderStrategies": [{"capacityProvider": "FARGATE", "weight": 1, "base": 1}]},
}
