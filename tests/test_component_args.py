"""Components built straight from their Args, as a user's own program builds them (awsx's tests do the
same): what each registers, the checks it makes before registering anything, and a whole stack from
Args alone (tests/fixtures/user-program) that renders and passes the policy pack."""

from __future__ import annotations

import ast
import textwrap

import pytest
from pulumi.runtime import settings as runtime_settings

from testkit import ROOT
from preflight.render import render
from components.validation import TLS_POLICIES
from settings import SettingsError, parse

USER_PROGRAM = ROOT / "tests" / "fixtures" / "user-program"
CONFIG_LAYER = {"settings", "config_reference", "preflight"}

PRELUDE = """
import pulumi
from components import *

placement = Placement(cluster_arn="arn:aws:ecs:us-east-1:123456789012:cluster/c", vpc_id="vpc-0123456789abcdef0",
                      subnet_ids=["subnet-0a1b2c3d"], assign_public_ip=False,
                      repository_url="123456789012.dkr.ecr.us-east-1.amazonaws.com/r", registry_id="123456789012",
                      region="us-east-1")
lb = LoadBalancerAttachment(listener_arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/1/2",
                            security_group_id="sg-0123456789abcdef0", arn_suffix="app/a/1")
"""


def render_program(tmp_path, body: str):
    (tmp_path / "__main__.py").write_text(PRELUDE + textwrap.dedent(body))
    return render(tmp_path, project="user", stack="test", config={"aws:region": "us-east-1"})


def registered_types() -> list[str]:
    return [r.type for r in runtime_settings.SETTINGS.monitor.registrations]


def test_no_module_of_components_imports_the_config_layer():
    for path in sorted((ROOT / "components").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported = [node.module or ""]
            else:
                continue
            assert not {name.split(".")[0] for name in imported} & CONFIG_LAYER, (path.name, imported)


def test_the_user_program_imports_components_only():
    tree = ast.parse((USER_PROGRAM / "__main__.py").read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert modules == {"sys", "pathlib", "pulumi", "pulumi_aws", "components"}, modules


def test_a_user_program_builds_the_whole_stack_from_args_and_passes_the_pack(capsys):
    from preflight.__main__ import main

    assert main(["--cwd", str(USER_PROGRAM), "--stack", "dev"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "0 mandatory, 0 advisory" in out, out
    rendering = render(USER_PROGRAM, project="user-program", stack="dev", config={"aws:region": "eu-west-1"})
    types = [r.type for r in rendering.resources]
    for typ in ("ecs-fargate:index:Network", "ecs-fargate:index:Registry", "ecs-fargate:index:Cluster",
                "ecs-fargate:index:LoadBalancer", "ecs-fargate:index:FargateService",
                "ecs-fargate:index:ScheduledTask", "aws:lb/listenerRule:ListenerRule", "aws:scheduler/schedule:Schedule",
                "aws:appautoscaling/target:Target", "aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert typ in types, typ
    assert types.count("aws:ecs/service:Service") == 2
    # No priority in the program: the one a stack file derives for a service "web" routing every path.
    assert rendering.one("aws:lb/listenerRule:ListenerRule").inputs["priority"] == \
        stack_file_priorities({"web": {"image": "nginx:1.27", "port": 8080}})["web"]


def test_a_web_service_from_its_args(tmp_path):
    rendering = render_program(tmp_path, """
        FargateService("web", FargateServiceArgs(
            service=ServiceSpec(name="web", task=TaskSpec(source=ImageSource(image="nginx:1.27")), port=80, priority=7),
            family="user-test-web", cluster_name="c", placement=placement, load_balancer=lb))
    """)
    rule = rendering.one("aws:lb/listenerRule:ListenerRule")
    assert rule.inputs["priority"] == 7
    # Neither paths nor hosts: the rule takes every path, as a stack file's service does.
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/*"]}}]
    task = rendering.one("aws:ecs/taskDefinition:TaskDefinition")
    # The Args' defaults are the component's: 256 cpu, 512 MiB, X86_64, logs kept 30 days.
    assert (task.inputs["cpu"], task.inputs["memory"]) == ("256", "512")
    assert task.inputs["runtimePlatform"]["cpuArchitecture"] == "X86_64"
    assert rendering.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 30
    assert rendering.one("aws:ecs/service:Service").inputs["desiredCount"] == 1


def test_a_scheduled_task_with_its_own_task_from_its_args(tmp_path):
    rendering = render_program(tmp_path, """
        ScheduledTask("job", ScheduledTaskArgs(
            job=ScheduledJobSpec(name="job", schedule="rate(6 hours)",
                                 task=TaskSpec(source=ImageSource(image="busybox:1.36"), command=("true",))),
            family="user-test-job", placement=placement))
    """)
    schedule = rendering.one("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["scheduleExpression"] == "rate(6 hours)"
    assert schedule.inputs["scheduleExpressionTimezone"] == "UTC"
    assert rendering.one("aws:ecs/taskDefinition:TaskDefinition").inputs["family"] == "user-test-job"


def test_the_issue_example_is_refused_before_anything_is_registered(tmp_path):
    """Priority 0 and a task of cpu 300 / memory 100, which AWS refuses at deploy time."""
    with pytest.raises(Exception) as caught:
        render_program(tmp_path, """
            FargateService("web", FargateServiceArgs(
                service=ServiceSpec(name="web", task=TaskSpec(source=ImageSource(image="nginx:1.27"), cpu=300,
                                                              memory=100), port=80, priority=0),
                family="user-test-web", cluster_name="c", placement=placement, load_balancer=lb))
        """)
    from components import ArgsError
    assert isinstance(caught.value, ArgsError), caught.value
    assert caught.value.problems == [
        "service.priority: 0 is out of range; valid: 1 to 50000",
        "service.task.cpu: 300 is not allowed; valid: 256, 512, 1024, 2048, 4096, 8192, 16384",
        "service.task.memory: 100 is out of range; valid: 512 to 122880",
    ]
    assert str(caught.value).startswith("Invalid arguments for FargateService web (3 problems); nothing was registered")
    assert registered_types() == ["pulumi:pulumi:Stack"]


def test_args_and_stack_files_get_the_same_messages(tmp_path):
    with pytest.raises(SettingsError) as from_config:
        parse({"environment": "dev", "services": {"web": {"image": "nginx:1.27", "port": 80, "cpu": 512,
                                                          "memory": 512, "logRetentionDays": 10}}},
              project="p", stack="s", region="us-east-1")
    with pytest.raises(Exception) as from_args:
        render_program(tmp_path, """
            FargateService("web", FargateServiceArgs(
                service=ServiceSpec(name="web", task=TaskSpec(source=ImageSource(image="nginx:1.27"), cpu=512,
                                                              memory=512, log_retention_days=10),
                                    port=80, priority=1),
                family="user-test-web", cluster_name="c", placement=placement, load_balancer=lb))
        """)

    def messages(problems, prefix):
        return sorted(p.removeprefix(prefix).split(": ", 1)[1] for p in problems)

    assert messages(from_config.value.problems, "services.web.") == messages(from_args.value.problems, "service.task.")
    assert len(from_args.value.problems) == 2


def test_cross_field_checks_of_args(tmp_path):
    with pytest.raises(Exception) as caught:
        render_program(tmp_path, """
            FargateService("w", FargateServiceArgs(
                service=ServiceSpec(name="w", capacity_provider="FARGATE_SPOT", path_patterns=("/a",),
                                    autoscaling=AutoscalingSpec(min_count=5, max_count=2, requests_per_target=10),
                                    task=TaskSpec(source=ImageSource(image="busybox:1", image_tag="1"),
                                                  architecture="ARM64", enable_execute_command=True,
                                                  environment={"A": "1"},
                                                  secrets={"A": "arn:aws:ssm:us-east-1:123456789012:parameter/a"})),
                family="user-test-w", cluster_name="c", placement=placement))
        """)
    assert sorted(caught.value.problems) == sorted([
        "service.task: set exactly one of image (a full image reference), image_tag (a tag in this stack's ECR "
        "repository) or build (a Docker build context); found image, image_tag",
        # At the service's own field: TaskSpec has no capacity_provider.
        "service.capacity_provider: FARGATE_SPOT does not run ARM64 tasks; use FARGATE or architecture X86_64",
        "service.task.secrets.A: also set in environment; a variable comes from one or the other",
        "service.task.enable_execute_command: ECS Exec needs a writable root filesystem: also set "
        "readonly_root_filesystem=False (an explicit loosening)",
        "service.path_patterns: only applies to a service with a port; without one it is a worker",
        "service.autoscaling.max_count: 2 is below min_count 5",
        "service.autoscaling.requests_per_target: only applies to a service with a port behind the load balancer",
    ])
    assert registered_types() == ["pulumi:pulumi:Stack"]


def test_a_web_service_needs_a_load_balancer(tmp_path):
    with pytest.raises(Exception) as caught:
        render_program(tmp_path, """
            FargateService("web", FargateServiceArgs(
                service=ServiceSpec(name="web", task=TaskSpec(source=ImageSource(image="nginx:1.27")), port=80),
                family="user-test-web", cluster_name="c", placement=placement))
        """)
    assert caught.value.problems == ["load_balancer: required: service 'web' has a port"]


def stack_file_priorities(services: dict) -> dict[str, int]:
    parsed = parse({"environment": "dev", "services": services}, project="p", stack="s", region="us-east-1")
    return {s.name: s.priority for s in parsed.services}


def test_a_web_service_without_a_priority_gets_the_one_a_stack_file_derives(tmp_path):
    rendering = render_program(tmp_path, """
        for name, paths in (("web", ()), ("api", ("/api/*",)), ("admin", ("/api/admin/*",))):
            FargateService(name, FargateServiceArgs(
                service=ServiceSpec(name=name, task=TaskSpec(source=ImageSource(image="nginx:1.27")), port=80,
                                    path_patterns=paths),
                family=f"user-test-{name}", cluster_name="c", placement=placement, load_balancer=lb))
    """)
    found = {r.name.removesuffix("-rule"): r.inputs["priority"]
             for r in rendering.of_type("aws:lb/listenerRule:ListenerRule")}
    web = {"image": "nginx:1.27", "port": 80}
    assert found == stack_file_priorities({"web": web, "api": {**web, "pathPatterns": ["/api/*"]},
                                            "admin": {**web, "pathPatterns": ["/api/admin/*"]}})
    # Narrower routes first, derived in 1000..49763.
    assert found["admin"] < found["api"] < found["web"] and all(1000 <= p <= 49763 for p in found.values())


def test_check_services_assigns_and_checks_priorities_across_services_as_a_stack_file_does():
    from components import ArgsError, ImageSource, ServiceSpec, TaskSpec, check_services

    def spec(name, **routing):
        return ServiceSpec(name=name, task=TaskSpec(source=ImageSource(image="nginx:1.27")), port=80, **routing)

    # api and search-new share a derived slot: one steps on, as in a stack file (with a warning).
    web = {"image": "nginx:1.27", "port": 80}
    checked = check_services([spec("api", path_patterns=("/api/*",)), spec("search-new", path_patterns=("/sea/*",)),
                              ServiceSpec(name="worker", task=TaskSpec(source=ImageSource(image="busybox:1")))])
    assert {s.name: s.priority for s in checked} == {
        **stack_file_priorities({"api": {**web, "pathPatterns": ["/api/*"]},
                                 "search-new": {**web, "pathPatterns": ["/sea/*"]}}), "worker": None}

    with pytest.raises(ArgsError) as caught:
        check_services([spec("a1"), spec("b1", path_patterns=("/*",)), spec("web", priority=1),
                        spec("shop", host_headers=("shop.example.com",))])
    assert caught.value.problems[0] == ("services.b1: routes the same requests as services.a1 "
                                        "(path_patterns/host_headers), so one would never be reached")
    assert any(p.startswith("services.shop: is never reached: services.web (priority 1) is evaluated first")
               for p in caught.value.problems), caught.value.problems


# -- Network, Registry, Cluster, LoadBalancer, TaskRoles from their Args ---------------------------


def test_a_network_from_its_args(tmp_path):
    rendering = render_program(tmp_path, """
        Network("network", NetworkArgs())
        Network("existing", NetworkArgs(vpc_id="vpc-0123456789abcdef0",
                                        public_subnet_ids=("subnet-0a1b2c3d", "subnet-0a1b2c3e")))
    """)
    vpc = rendering.one("awsx:ec2:Vpc")
    # The Args' defaults: 10.0.0.0/16 over 2 AZs, no NAT gateway (public subnets only).
    assert (vpc.inputs["cidrBlock"], vpc.inputs["numberOfAvailabilityZones"]) == ("10.0.0.0/16", 2)
    assert vpc.inputs["natGateways"] == {"strategy": "None"}
    assert [spec["type"] for spec in vpc.inputs["subnetSpecs"]] == ["Public"]
    assert len(rendering.of_type("ecs-fargate:index:Network")) == 2


def test_a_bad_network_is_refused_before_anything_is_registered(tmp_path):
    from components import ArgsError

    with pytest.raises(ArgsError) as caught:
        render_program(tmp_path, """
            Network("network", NetworkArgs(vpc_cidr="10.0.1.0/16", availability_zones=7, nat_gateways="two",
                                           private_subnet_ids=("subnet-0a1b2c3d",)))
        """)
    assert caught.value.problems == [
        "vpc_cidr: '10.0.1.0/16' has host bits set, which AWS refuses (did you mean '10.0.0.0/16'?)",
        "availability_zones: 7 is out of range; valid: 2 to 6",
        "nat_gateways: 'two' is not one of: none, single, perAz",
        "private_subnet_ids: only applies to an existing VPC; set vpc_id too",
    ]
    with pytest.raises(ArgsError) as caught:
        render_program(tmp_path, """
            Network("network", NetworkArgs(vpc_id="vpc-0123456789abcdef0", nat_gateways="single",
                                           public_subnet_ids=("subnet-0a1b2c3d",)))
        """)
    assert caught.value.problems == [
        "nat_gateways: only applies to a new VPC; remove it or remove vpc_id",
        "public_subnet_ids: with vpc_id, list at least 2 public subnets in different AZs (the ALB needs 2)",
    ]
    with pytest.raises(ArgsError) as caught:
        render_program(tmp_path, 'Network("network", NetworkArgs(vpc_cidr="10.0.0.0/28"))')
    assert caught.value.problems[0].startswith("vpc_cidr: '10.0.0.0/28' leaves too little room for this stack's "
                                               "subnets")
    assert registered_types() == ["pulumi:pulumi:Stack"]


def test_a_registry_from_its_args(tmp_path):
    import json

    rendering = render_program(tmp_path, 'Registry("registry", RegistryArgs(name="user-test"))')
    repository = rendering.one("aws:ecr/repository:Repository")
    assert repository.inputs["name"] == "user-test"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["imageTagMutability"] == "MUTABLE"
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    rules = json.loads(rendering.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"]
    assert [rule["selection"]["countNumber"] for rule in rules] == [14, 50]


def test_a_bad_registry_is_refused_with_the_messages_of_a_stack_file(tmp_path):
    from components import ArgsError

    with pytest.raises(ArgsError) as from_args:
        render_program(tmp_path, """
            Registry("registry", RegistryArgs(name="Bad Name", untagged_expiry_days=0, keep_images=10001,
                                              kms_key_arn="alias/mine", scan_on_push="yes"))
        """)
    assert from_args.value.problems[0] == ("name: 'Bad Name' is not an ECR repository name: 2 to 256 lowercase "
                                           "letters, digits and single ._- between them, / between path components")
    assert registered_types() == ["pulumi:pulumi:Stack"]
    with pytest.raises(SettingsError) as from_config:
        parse({"environment": "dev", "services": {"web": {"image": "nginx:1.27"}},
               "registry": {"untaggedExpiryDays": 0, "keepImages": 10001, "kmsKeyArn": "alias/mine",
                            "scanOnPush": "yes"}}, project="p", stack="s", region="us-east-1")

    def messages(problems):
        return sorted(p.split(": ", 1)[1] for p in problems if not p.startswith("name:"))

    # The same messages, literals written as each reader writes them (True in Python, true in YAML).
    assert messages(from_args.value.problems) == [m.replace("expected true or false", "expected True or False")
                                                  for m in messages(from_config.value.problems)]
    assert "registry.scanOnPush: expected true or false, got 'yes'" in from_config.value.problems
    assert len(from_config.value.problems) == 4


def test_a_cluster_from_its_args(tmp_path):
    rendering = render_program(tmp_path, 'Cluster("cluster", ClusterArgs())')
    cluster = rendering.one("aws:ecs/cluster:Cluster")
    assert cluster.inputs["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    providers = rendering.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
    assert providers.inputs["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert providers.inputs["defaultCapacityProviderStrategies"][0]["capacityProvider"] == "FARGATE"


def test_a_bad_cluster_is_refused_before_anything_is_registered(tmp_path):
    from components import ArgsError

    with pytest.raises(ArgsError) as caught:
        render_program(tmp_path, """
            Cluster("cluster", ClusterArgs(container_insights="on", default_capacity_provider="EC2"))
        """)
    assert caught.value.problems == ["container_insights: 'on' is not one of: disabled, enabled, enhanced",
                                     "default_capacity_provider: 'EC2' is not one of: FARGATE, FARGATE_SPOT"]
    assert registered_types() == ["pulumi:pulumi:Stack"]


def test_a_load_balancer_from_its_args(tmp_path):
    rendering = render_program(tmp_path, """
        LoadBalancer("alb", LoadBalancerArgs(vpc_id="vpc-0123456789abcdef0",
                                             subnet_ids=["subnet-0a1b2c3d", "subnet-0a1b2c3e"]))
        LoadBalancer("tls", LoadBalancerArgs(
            vpc_id="vpc-0123456789abcdef0", subnet_ids=["subnet-0a1b2c3d", "subnet-0a1b2c3e"],
            spec=LoadBalancerSpec(certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/"
                                                  "12345678-1234-1234-1234-123456789012",
                                  allowed_cidrs=("203.0.113.0/24",), access_logs_bucket="my-logs")))
    """)
    plain = rendering.one("aws:lb/loadBalancer:LoadBalancer", "alb-lb")
    # The Args' defaults: from anywhere, HTTP only, 60 s idle, no deletion protection, no access logs.
    assert (plain.inputs["idleTimeout"], plain.inputs["enableDeletionProtection"]) == (60, False)
    assert "accessLogs" not in plain.inputs
    assert rendering.one("aws:lb/listener:Listener", "alb-http").inputs["port"] == 80
    ingress = [r.inputs for r in rendering.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    assert {(i["cidrIpv4"], i["fromPort"]) for i in ingress} == {("0.0.0.0/0", 80), ("203.0.113.0/24", 80),
                                                                  ("203.0.113.0/24", 443)}
    https = rendering.one("aws:lb/listener:Listener", "tls-https")
    assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert rendering.one("aws:lb/loadBalancer:LoadBalancer", "tls-lb").inputs["accessLogs"]["bucket"] == "my-logs"


def test_a_bad_load_balancer_is_refused_before_anything_is_registered(tmp_path):
    from components import ArgsError

    with pytest.raises(ArgsError) as caught:
        render_program(tmp_path, """
            LoadBalancer("alb", LoadBalancerArgs(vpc_id="vpc-0123456789abcdef0", subnet_ids=["subnet-0a1b2c3d"],
                spec=LoadBalancerSpec(allowed_cidrs=(), certificate_arn="arn:aws:acm:us-east-1:1:certificate/x",
                                      ssl_policy="ELBSecurityPolicy-2016-08", idle_timeout_seconds=0,
                                      access_logs_prefix="/AWSLogs/")))
        """)
    assert caught.value.problems == [
        "spec.certificate_arn: 'arn:aws:acm:us-east-1:1:certificate/x' is not an ACM certificate ARN "
        "(arn:aws:acm:REGION:ACCOUNT:certificate/UUID)",
        "spec.ssl_policy: 'ELBSecurityPolicy-2016-08' is not one of: " + ", ".join(TLS_POLICIES),
        "spec.idle_timeout_seconds: 0 is out of range; valid: 1 to 4000",
        "spec.access_logs_prefix: '/AWSLogs/' contains AWSLogs, which ELB adds itself and refuses in a prefix",
        "spec.allowed_cidrs: an empty list would make the load balancer unreachable; list at least one CIDR",
        "spec.access_logs_prefix: only applies with spec.access_logs_bucket",
    ]
    assert registered_types() == ["pulumi:pulumi:Stack"]


def test_task_roles_from_their_args(tmp_path):
    import json

    rendering = render_program(tmp_path, """
        TaskRoles("roles", TaskRolesArgs(
            secret_arns=["arn:aws:ssm:us-east-1:123456789012:parameter/db"],
            task_role_statements=[{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
            enable_execute_command=True))
    """)
    assert len(rendering.of_type("aws:iam/role:Role")) == 2
    policies = {r.name: json.loads(r.inputs["policy"]) for r in rendering.of_type("aws:iam/rolePolicy:RolePolicy")}
    assert policies["roles-execution-secrets"]["Statement"][0]["Resource"] == [
        "arn:aws:ssm:us-east-1:123456789012:parameter/db"]
    assert policies["roles-task-app"]["Statement"] == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]
    assert "roles-task-exec" in policies


def test_bad_task_roles_are_refused_before_anything_is_registered(tmp_path):
    from components import ArgsError

    with pytest.raises(ArgsError) as caught:
        render_program(tmp_path, """
            TaskRoles("roles", TaskRolesArgs(
                secret_arns=["db-password"],
                task_role_statements=[{"Sid": "read-it", "Effect": "allow", "Action": "s3 get", "Resorce": "*"},
                                      "s3:*"]))
        """)
    assert caught.value.problems[0].startswith("secret_arns[0]: 'db-password' is not a Secrets Manager secret ARN")
    assert caught.value.problems[1:] == [
        "task_role_statements[0].Resorce: unknown key; did you mean 'Resource'? valid keys: Sid, Effect, Action, "
        "NotAction, Resource, NotResource, Condition",
        "task_role_statements[0].Sid: IAM statement ids are letters and digits only",
        "task_role_statements[0].Effect: expected Allow or Deny",
        "task_role_statements[0]: set exactly one of Resource or NotResource (e.g. an ARN, or \"*\")",
        "task_role_statements[0].Action: 's3 get' is not an IAM action like s3:GetObject",
        "task_role_statements[1]: expected a mapping, got 's3:*'",
    ]
    assert registered_types() == ["pulumi:pulumi:Stack"]


def test_a_service_with_a_bad_statement_is_refused_before_anything_is_registered(tmp_path):
    """FargateService checks its task's statements itself, before its roles are created."""
    with pytest.raises(Exception) as caught:
        render_program(tmp_path, """
            FargateService("w", FargateServiceArgs(
                service=ServiceSpec(name="w", task=TaskSpec(source=ImageSource(image="busybox:1"),
                                    task_role_statements=({"Effect": "Allow", "Action": "*"},))),
                family="user-test-w", cluster_name="c", placement=placement))
        """)
    assert caught.value.problems == ["service.task.task_role_statements[0]: set exactly one of Resource or "
                                     "NotResource (e.g. an ARN, or \"*\")"]
    assert registered_types() == ["pulumi:pulumi:Stack"]


def test_values_known_only_at_deploy_time_are_left_to_aws(tmp_path):
    rendering = render_program(tmp_path, """
        image = pulumi.Output.from_input("not checked: known at deploy time")
        FargateService("web", FargateServiceArgs(
            service=ServiceSpec(name="web", task=TaskSpec(source=ImageSource(image=image)), port=80,
                                priority=pulumi.Output.from_input(0)),
            family="user-test-web", cluster_name="c", placement=placement, load_balancer=lb))
    """)
    assert rendering.one("aws:lb/listenerRule:ListenerRule").inputs["priority"] == 0


# -- Values only known at deploy time: accepted where they work, refused where they cannot ---------


def test_outputs_are_refused_where_the_program_needs_the_value(tmp_path):
    """An Output where the component sizes, renders or names something from the value is refused before
    anything is registered, naming the field and why (it used to crash or render garbage)."""
    with pytest.raises(Exception) as caught:
        render_program(tmp_path, """
            known = pulumi.Output.from_input
            FargateService("web", FargateServiceArgs(
                service=ServiceSpec(name="web", port=known(80), path_patterns=known(["/a/*"]),
                                    task=TaskSpec(source=ImageSource(image="nginx:1.27"), cpu=known(256),
                                                  memory=known(512), environment={"A": known("1")},
                                                  stop_timeout_seconds=known(30), writable_paths=known(["/tmp"]),
                                                  command=(known("serve"),))),
                family="user-test-web", cluster_name="c", placement=placement, load_balancer=lb))
        """)
    from components import ArgsError
    assert isinstance(caught.value, ArgsError), caught.value
    tail = " (a pulumi.Output is only known at deploy time)"
    assert sorted(caught.value.problems) == sorted(f"{field}: must be known when the program runs: {why}{tail}" for
                                                   field, why in (
        ("service.port", "it goes into the container definition, the target group and the security group rules"),
        ("service.path_patterns", "it decides the listener rule's conditions"),
        ("service.task.cpu", "it sizes the task definition"),
        ("service.task.memory", "it sizes the task definition"),
        ("service.task.environment.A", "it goes into the container definition"),
        ("service.task.stop_timeout_seconds", "it goes into the container definition"),
        ("service.task.writable_paths", "each path becomes a task volume"),
        ("service.task.command[0]", "it goes into the container definition"),
    ))
    assert registered_types() == ["pulumi:pulumi:Stack"]


def test_outputs_work_end_to_end_in_the_fields_that_take_them(tmp_path):
    rendering = render_program(tmp_path, """
        later = pulumi.Output.from_input
        FargateService("web", FargateServiceArgs(
            service=ServiceSpec(name="web", port=80, priority=later(7), desired_count=later(3),
                                health_check_path=later("/ready"), deregistration_delay_seconds=later(5),
                                health_check_grace_period_seconds=later(90),
                                autoscaling=AutoscalingSpec(min_count=later(2), max_count=later(4),
                                                            cpu_target_percent=later(50)),
                                task=TaskSpec(source=ImageSource(image=later("nginx:1.27")),
                                              architecture=later("ARM64"), log_retention_days=later(7))),
            family="user-test-web", cluster_name="c", placement=placement, load_balancer=lb))
    """)
    assert rendering.one("aws:lb/listenerRule:ListenerRule").inputs["priority"] == 7
    assert rendering.one("aws:ecs/service:Service").inputs["desiredCount"] == 3
    target = rendering.one("aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 4)
    task = rendering.one("aws:ecs/taskDefinition:TaskDefinition")
    assert task.inputs["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    import json
    assert json.loads(task.inputs["containerDefinitions"])[0]["image"] == "nginx:1.27"
    assert rendering.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 7
    group = rendering.one("aws:lb/targetGroup:TargetGroup")
    assert (group.inputs["healthCheck"]["path"], group.inputs["deregistrationDelay"]) == ("/ready", 5)


def test_a_service_with_output_timing_waits_as_long_as_one_with_the_defaults(tmp_path):
    """custom_timeouts come from the modeled deployment, which runs with the program: a grace period
    and deregistration delay that are Outputs count as their defaults (60 s, 30 s), known ones as
    given. Linear, so that the model (3980 s with the defaults) sizes the timeouts above 20 minutes."""
    rendering = render_program(tmp_path, """
        later = pulumi.Output.from_input
        def linear(name, priority, **timing):
            FargateService(name, FargateServiceArgs(
                service=ServiceSpec(name=name, port=80, priority=priority, deployment=DeploymentSpec(strategy="linear"),
                                    task=TaskSpec(source=ImageSource(image="nginx:1.27")), **timing),
                family=f"user-test-{name}", cluster_name="c", placement=placement, load_balancer=lb))
        linear("plain", 1)
        linear("outputs", 2, health_check_grace_period_seconds=later(90), deregistration_delay_seconds=later(5))
        linear("known", 3, health_check_grace_period_seconds=90, deregistration_delay_seconds=5)
    """)
    timeouts = {name: rendering.one("aws:ecs/service:Service", f"{name}-service").custom_timeouts
                for name in ("plain", "outputs", "known")}
    # ceil(3980 s × 1.5 / 60) = 100 minutes; 25 s less drain: ceil(3955 × 1.5 / 60) = 99.
    assert timeouts == {"plain": {"create": "100m", "update": "100m"},
                        "outputs": {"create": "100m", "update": "100m"},
                        "known": {"create": "99m", "update": "99m"}}


def test_an_output_architecture_is_refused_for_a_build(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(Exception) as caught:
        render_program(tmp_path, """
            FargateService("w", FargateServiceArgs(
                service=ServiceSpec(name="w", task=TaskSpec(source=ImageSource(build=DockerBuild(context="app")),
                                                            architecture=pulumi.Output.from_input("ARM64"))),
                family="user-test-w", cluster_name="c", placement=placement))
        """)
    assert caught.value.problems == [
        "service.task.architecture: must be known when the program runs: with a build it picks the platform the "
        "image is built for (a pulumi.Output is only known at deploy time)"]


def test_secret_arns_may_be_outputs(tmp_path):
    """A secret created in the same program: its ARN reaches the execution role's policy and the container."""
    import json

    rendering = render_program(tmp_path, """
        import pulumi_aws as aws
        secret = aws.secretsmanager.Secret("db", name="db-password")
        FargateService("w", FargateServiceArgs(
            service=ServiceSpec(name="w", task=TaskSpec(source=ImageSource(image="busybox:1"), secrets={
                "DB_PASSWORD": secret.arn, "API_KEY": "arn:aws:ssm:us-east-1:123456789012:parameter/api-key"})),
            family="user-test-w", cluster_name="c", placement=placement))
    """)
    arn = rendering.one("aws:secretsmanager/secret:Secret").outputs["arn"]
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:") and ":secret:db-password-" in arn
    policy = json.loads(rendering.one("aws:iam/rolePolicy:RolePolicy", "w-roles-execution-secrets").inputs["policy"])
    assert policy["Statement"] == [
        {"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         # A name ending like Secrets Manager's suffix gets both forms (_secret_resources).
         "Resource": [arn, f"{arn}-??????"]},
        {"Sid": "ReadParameters", "Effect": "Allow", "Action": ["ssm:GetParameters"],
         "Resource": ["arn:aws:ssm:us-east-1:123456789012:parameter/api-key"]},
    ]
    container = json.loads(rendering.one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])[0]
    assert container["secrets"] == [
        {"name": "API_KEY", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/api-key"},
        {"name": "DB_PASSWORD", "valueFrom": arn}]


def test_an_arm64_job_on_fargate_spot_is_refused_at_its_capacity_provider(tmp_path):
    with pytest.raises(Exception) as caught:
        render_program(tmp_path, """
            ScheduledTask("job", ScheduledTaskArgs(
                job=ScheduledJobSpec(name="job", schedule="rate(6 hours)", capacity_provider="FARGATE_SPOT",
                                     task=TaskSpec(source=ImageSource(image="busybox:1.36"), architecture="ARM64")),
                family="user-test-job", placement=placement))
        """)
    assert caught.value.problems == [
        "job.capacity_provider: FARGATE_SPOT does not run ARM64 tasks; use FARGATE or architecture X86_64"]


def test_desired_count_defaults_to_autoscaling_min_count(tmp_path):
    """Not set: autoscaling's min_count with autoscaling (no complaint about a value the user never
    gave), else 1; set, it is still checked against min..max."""
    rendering = render_program(tmp_path, """
        for name, scaling in (("scaled", AutoscalingSpec(min_count=2, max_count=4)), ("fixed", None)):
            FargateService(name, FargateServiceArgs(
                service=ServiceSpec(name=name, task=TaskSpec(source=ImageSource(image="busybox:1")),
                                    autoscaling=scaling),
                family=f"user-test-{name}", cluster_name="c", placement=placement))
    """)
    assert {r.name: r.inputs["desiredCount"] for r in rendering.of_type("aws:ecs/service:Service")} == \
        {"scaled-service": 2, "fixed-service": 1}
    with pytest.raises(Exception) as caught:
        render_program(tmp_path, """
            FargateService("w", FargateServiceArgs(
                service=ServiceSpec(name="w", task=TaskSpec(source=ImageSource(image="busybox:1")), desired_count=1,
                                    autoscaling=AutoscalingSpec(min_count=2, max_count=4)),
                family="user-test-w", cluster_name="c", placement=placement))
        """)
    assert caught.value.problems == ["service.desired_count: 1 is outside autoscaling.min_count..max_count (2..4)"]


def test_values_of_the_wrong_type_are_refused_not_crashed_on(tmp_path):
    with pytest.raises(Exception) as caught:
        render_program(tmp_path, """
            FargateService("w", FargateServiceArgs(
                service=ServiceSpec(name="w", autoscaling={"min_count": 1},
                                    task=TaskSpec(source="nginx:1.27", environment=None, cpu=None,
                                                  health_check=("CMD", "true"))),
                family="user-test-w", cluster_name="c", placement=placement))
        """)
    assert sorted(caught.value.problems) == sorted([
        "service.task.source: expected an ImageSource, got 'nginx:1.27'",
        "service.task.cpu: expected a value, got None (leave it out for the default, 256)",
        "service.task.environment: expected a value, got None (leave it out for the default, {})",
        "service.task.health_check: expected None or a ContainerHealthCheck, got [\"CMD\", \"true\"]",
        "service.autoscaling: expected None or an AutoscalingSpec, got {\"min_count\": 1}",
    ]), caught.value.problems
    assert registered_types() == ["pulumi:pulumi:Stack"]


def test_args_messages_speak_python(tmp_path):
    """Advice in an ArgsError is written as the Args are (image_tag, readonly_root_filesystem=False,
    ["CMD", ...]), not as a stack file's YAML."""
    with pytest.raises(Exception) as caught:
        render_program(tmp_path, """
            FargateService("w", FargateServiceArgs(
                service=ServiceSpec(name="w", task=TaskSpec(
                    source=ImageSource(), enable_execute_command=True, readonly_root_filesystem="no",
                    health_check=ContainerHealthCheck(command=("python", "/check.py")))),
                family="user-test-w", cluster_name="c", placement=placement))
        """)
    assert sorted(caught.value.problems) == sorted([
        "service.task: set exactly one of image (a full image reference), image_tag (a tag in this stack's ECR "
        "repository) or build (a Docker build context); found none",
        "service.task.readonly_root_filesystem: expected True or False, got 'no'",
        "service.task.health_check.command: must start with CMD (exec form) or CMD-SHELL (shell form), "
        "e.g. [\"CMD\", \"python\", \"/app/healthcheck.py\"]",
    ]), caught.value.problems


def args_problems(tmp_path, body: str) -> list[str]:
    """The problems of the ArgsError the program raises, after checking nothing was registered."""
    from components import ArgsError

    with pytest.raises(ArgsError) as caught:
        render_program(tmp_path, body)
    assert registered_types() == ["pulumi:pulumi:Stack"]
    return caught.value.problems


def test_a_resource_name_aws_would_refuse_is_refused_before_anything_is_registered(tmp_path):
    """Not pulumi's late "name 'My-Extremely-Long-Web-Service-tg-' plus 7 random chars is longer than
    maximum length 32": the name rules and derived-name limits a stack file's service names get."""
    from settings import derived_names

    assert ("target group", "My-Extremely-Long-Web-Service-tg-xxxxxxx") in derived_names(
        "p", "s", "My-Extremely-Long-Web-Service", web=True, own_task=True, job=False)
    assert args_problems(tmp_path, """
        FargateService("My-Extremely-Long-Web-Service", FargateServiceArgs(
            service=ServiceSpec(name="web", task=TaskSpec(source=ImageSource(image="nginx:1.27")), port=80),
            family="user-test-web", cluster_name="c", placement=placement, load_balancer=lb))
    """) == [
        "name: names are lowercase letters, digits and -, starting with a letter and ending with a letter or digit "
        "(lowercase is this project's convention, not an AWS rule: it keeps two services from differing only in case)",
        "name: the target group would be named 'My-Extremely-Long-Web-Service-tg-xxxxxxx' (40 characters); "
        "ELB target group names are at most 32 characters, so this name can have at most 21",
    ]


def test_a_resource_name_gets_the_messages_a_stack_file_service_name_gets(tmp_path):
    name = "a-very-long-scheduled-job-name-for-the-nightly-report-xx"
    with pytest.raises(SettingsError) as from_config:
        parse({"environment": "dev", "services": {"web": {"image": "nginx:1.27"}},
               "scheduledTasks": {name: {"image": "busybox:1.36", "schedule": "rate(1 day)"}}},
              project="p", stack="s", region="us-east-1")
    from_args = args_problems(tmp_path, f"""
        ScheduledTask("{name}", ScheduledTaskArgs(
            job=ScheduledJobSpec(name="job", schedule="rate(1 day)", task=TaskSpec(source=ImageSource(image="busybox:1.36"))),
            family="p-s-{name}", placement=placement))
    """)
    config = [p.removeprefix(f"scheduledTasks.{name}: ") for p in from_config.value.problems]
    assert config and from_args == [f"name: {message}" for message in config]


def test_a_family_aws_would_refuse_is_refused_before_anything_is_registered(tmp_path):
    assert args_problems(tmp_path, """
        FargateService("web", FargateServiceArgs(
            service=ServiceSpec(name="web", task=TaskSpec(source=ImageSource(image="nginx:1.27"))),
            family="my app web", cluster_name="c", placement=placement))
    """) == [
        "family: the task definition family would be named 'my app web'; ECS task definition families allow only "
        "letters, digits, - and _",
        "family: the log group would be named '/ecs/my app web'; CloudWatch Logs log group names allow only "
        "letters, digits and ._-/#",
    ]
    assert args_problems(tmp_path, """
        FargateService("web", FargateServiceArgs(
            service=ServiceSpec(name="web", task=TaskSpec(source=ImageSource(image="nginx:1.27"))),
            family="f" * 256, cluster_name="c", placement=placement))
    """) == ["family: the task definition family would be named '" + "f" * 256 + "' (256 characters); ECS task "
             "definition families are at most 255 characters"]
    # It names the task definition and the log group when the program runs: an Output cannot.
    assert args_problems(tmp_path, """
        FargateService("web", FargateServiceArgs(
            service=ServiceSpec(name="web", task=TaskSpec(source=ImageSource(image="nginx:1.27"))),
            family=pulumi.Output.from_input("web"), cluster_name="c", placement=placement))
    """) == ["family: must be known when the program runs: it names the task definition and its log group "
             "/ecs/FAMILY (a pulumi.Output is only known at deploy time)"]


def test_a_job_reusing_a_service_task_has_no_family_to_check(tmp_path):
    rendering = render_program(tmp_path, """
        ScheduledTask("job", ScheduledTaskArgs(
            job=ScheduledJobSpec(name="job", schedule="rate(6 hours)"),
            family="", placement=placement, service_task=ServiceTaskReference(
                task_definition_arn="arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
                execution_role_arn="arn:aws:iam::123456789012:role/e", task_role_arn="arn:aws:iam::123456789012:role/t")))
    """)
    assert "aws:ecs/taskDefinition:TaskDefinition" not in [r.type for r in rendering.resources]


def test_a_timezone_scheduler_would_refuse_is_refused_as_a_stack_file_refuses_it(tmp_path):
    with pytest.raises(SettingsError) as from_config:
        parse({"environment": "dev", "services": {"web": {"image": "nginx:1.27"}},
               "scheduledTasks": {"job": {"image": "busybox:1.36", "schedule": "rate(1 day)",
                                          "timezone": "Europe/Berln"}}},
              project="p", stack="s", region="us-east-1")
    assert from_config.value.problems == [
        "scheduledTasks.job.timezone: 'Europe/Berln' is not an IANA time zone like UTC or Europe/Berlin; "
        "did you mean 'Europe/Berlin'?"]
    assert args_problems(tmp_path, """
        ScheduledTask("job", ScheduledTaskArgs(
            job=ScheduledJobSpec(name="job", schedule="rate(1 day)", timezone="Europe/Berln",
                                 task=TaskSpec(source=ImageSource(image="busybox:1.36"))),
            family="p-s-job", placement=placement))
    """) == ["job.timezone: 'Europe/Berln' is not an IANA time zone like UTC or Europe/Berlin; "
             "did you mean 'Europe/Berlin'?"]


ALB = """
alb = LoadBalancer("alb", LoadBalancerArgs(vpc_id="vpc-0123456789abcdef0", subnet_ids=["subnet-0a1b2c3d", "subnet-0a1b2c3e"]))

def web(name, **spec):
    return FargateService(name, FargateServiceArgs(
        service=ServiceSpec(name=name, task=TaskSpec(source=ImageSource(image="nginx:1.27")), port=80, **spec),
        family=f"user-test-{name}", cluster_name="c", placement=placement, load_balancer=alb.attachment))
"""


def test_a_second_service_with_a_priority_claimed_on_the_listener_is_refused_before_it_registers(tmp_path):
    from components import ArgsError

    with pytest.raises(ArgsError) as caught:
        render_program(tmp_path, ALB + """
web("api", priority=7, path_patterns=("/api/*",))
web("admin", priority=7, path_patterns=("/admin/*",))
""")
    assert caught.value.problems == [
        "service.priority: 7 is already the priority of FargateService api on this listener; listener rule "
        "priorities must be unique"]
    assert str(caught.value).startswith("Invalid arguments for FargateService admin (1 problem)")
    services = [r for r in runtime_settings.SETTINGS.monitor.registrations
                if r.type == "ecs-fargate:index:FargateService"]
    assert [r.name for r in services] == ["api"]


def test_a_derived_priority_claimed_on_the_listener_is_refused_with_the_way_out(tmp_path):
    from components import ArgsError, ImageSource, ServiceSpec, TaskSpec, default_priority

    derived = default_priority(ServiceSpec(name="web", task=TaskSpec(source=ImageSource(image="nginx:1.27")), port=80))
    with pytest.raises(ArgsError) as caught:
        render_program(tmp_path, ALB + f"""
web("api", priority={derived}, path_patterns=("/api/*",))
web("web")
""")
    assert caught.value.problems == [
        f"service.priority: not set, and the priority derived from this service's name and routing ({derived}) is "
        "already the priority of FargateService api on this listener; set it explicitly, or pass the listener's "
        "services through components.check_services, which gives each a free one"]


def test_services_on_one_listener_with_their_own_priorities_render(tmp_path):
    rendering = render_program(tmp_path, ALB + """
web("api", priority=7, path_patterns=("/api/*",))
web("admin", priority=8, path_patterns=("/admin/*",))
web("web")
""")
    rules = rendering.of_type("aws:lb/listenerRule:ListenerRule")
    assert len(rules) == 3 and len({r.inputs["priority"] for r in rules}) == 3


def test_the_docstrings_say_how_services_on_one_listener_are_checked():
    import inspect

    from components import FargateService, LoadBalancer, ServiceSpec

    assert "components.check_services([...])" in FargateService.__doc__
    assert "attachment" in FargateService.__doc__ and "attachment" in LoadBalancer.__annotations__
    source = inspect.getsource(ServiceSpec)
    assert "components.check_services([...])" in source and "as a stack file derives it" not in source


def test_a_spec_name_ec2_would_refuse_in_a_description_is_refused_before_anything_is_registered(tmp_path):
    """The spec's name goes into the task security group's description, not into AWS names (those come
    from the component's resource name): EC2 refuses an apostrophe there, and more than 255 characters."""
    assert args_problems(tmp_path, """
        FargateService("web", FargateServiceArgs(
            service=ServiceSpec(name="Bob's web", task=TaskSpec(source=ImageSource(image="nginx:1.27"))),
            family="user-test-web", cluster_name="c", placement=placement))
    """) == ["service.name: " + repr("Bob's web") + " goes into the descriptions of its EC2 security group, which allow only "
             "letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*"]
    long_name = "w" * 230
    assert args_problems(tmp_path, f"""
        ScheduledTask("job", ScheduledTaskArgs(
            job=ScheduledJobSpec(name="{long_name}", schedule="rate(1 day)",
                                 task=TaskSpec(source=ImageSource(image="busybox:1.36"))),
            family="p-s-job", placement=placement))
    """) == [f"job.name: is too long: the EC2 security group description 'Scheduled task {long_name}: no ingress' "
             "would have 257 characters, and EC2 takes at most 255"]
    # Spaces and capitals are fine in a description; the resource name is what names the resources.
    rendering = render_program(tmp_path, """
        FargateService("web", FargateServiceArgs(
            service=ServiceSpec(name="Web App", task=TaskSpec(source=ImageSource(image="nginx:1.27"))),
            family="user-test-web", cluster_name="c", placement=placement))
    """)
    assert rendering.one("aws:ec2/securityGroup:SecurityGroup").inputs["description"] == \
        "Tasks of Web App: no ingress (worker)"


def test_the_spec_names_do_not_claim_to_name_aws_resources():
    import inspect

    from components import ScheduledJobSpec, ServiceSpec

    for spec in (ServiceSpec, ScheduledJobSpec):
        source = inspect.getsource(spec)
        assert "it names its AWS resources" not in source and "resource name" in source, spec.__name__


def test_a_job_spec_has_no_service_the_reference_names_it(tmp_path):
    """`service` is a stack file's key: in a program the job runs a service's task definition by being
    given it (`service_task`), which also names the service for the schedule's description."""
    import dataclasses

    from components import ScheduledJobSpec

    assert "service" not in {f.name for f in dataclasses.fields(ScheduledJobSpec)}
    rendering = render_program(tmp_path, """
        ScheduledTask("job", ScheduledTaskArgs(
            job=ScheduledJobSpec(name="job", schedule="rate(6 hours)", command=("true",)),
            family="user-test-job", placement=placement, service_task=ServiceTaskReference(
                task_definition_arn="arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
                execution_role_arn="arn:aws:iam::123456789012:role/e", task_role_arn="arn:aws:iam::123456789012:role/t",
                service_name="web")))
    """)
    assert rendering.one("aws:scheduler/schedule:Schedule").inputs["description"] == \
        "Runs job with the task definition of web"
