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
        "service.task: set exactly one of image (a full image reference), imageTag (a tag in this stack's ECR "
        "repository) or build (a Docker build context); found image, image_tag",
        "service.task.capacity_provider: FARGATE_SPOT does not run ARM64 tasks; use FARGATE or architecture X86_64",
        "service.task.secrets.A: also set in environment; a variable comes from one or the other",
        "service.task.enable_execute_command: ECS Exec needs a writable root filesystem: also set "
        "readonly_root_filesystem: false (an explicit loosening)",
        "service.path_patterns: only applies to a service with a port; without one it is a worker",
        "service.autoscaling.max_count: 2 is below min_count 5",
        "service.autoscaling.requests_per_target: only applies to a service with a port behind the load balancer",
        "service.desired_count: 1 is outside autoscaling.min_count..max_count (5..2)",
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


def test_values_known_only_at_deploy_time_are_left_to_aws(tmp_path):
    rendering = render_program(tmp_path, """
        image = pulumi.Output.from_input("not checked: known at deploy time")
        FargateService("web", FargateServiceArgs(
            service=ServiceSpec(name="web", task=TaskSpec(source=ImageSource(image=image)), port=80,
                                priority=pulumi.Output.from_input(0)),
            family="user-test-web", cluster_name="c", placement=placement, load_balancer=lb))
    """)
    assert rendering.one("aws:lb/listenerRule:ListenerRule").inputs["priority"] == 0
