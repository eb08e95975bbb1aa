"""Config validation: every problem reported at once, under its key path, with what is valid."""

from __future__ import annotations

import pulumi
import pytest

import settings
from components import listener_rules
from testkit import ROOT, render_config
from settings import SettingsError, parse

WEB = {"image": "nginx:1.27", "port": 80}


def problems(raw: dict, region: str | None = "us-east-1", aws_config: dict | None = None) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse(raw, project="ecs-fargate", stack="test", region=region, aws_config=aws_config)
    return caught.value.problems


def valid(**overrides) -> dict:
    return {"environment": "dev", "services": {"web": dict(WEB)}, **overrides}


@pytest.mark.parametrize("raw, key, hint", [
    ({"services": {"web": WEB}}, "environment", "required: one of dev, staging, prod"),
    (valid(environment="production"), "environment", "not one of: dev, staging, prod"),
    (valid(services={}), "services", "at least one service"),
    (valid(servcies={}), "servcies", "did you mean 'services'"),
    (valid(services={"web": {**WEB, "memroy": 512}}), "services.web.memroy", "did you mean 'memory'"),
    (valid(services={"web": {**WEB, "cpu": 512, "memory": 512}}), "services.web.memory",
     "not a valid Fargate memory size for cpu 512; valid: 1024, 2048, 3072, 4096"),
    (valid(services={"web": {**WEB, "cpu": 300}}), "services.web.cpu", "valid: 256, 512, 1024"),
    (valid(services={"web": {"port": 80}}), "services.web", "set exactly one of image"),
    (valid(services={"web": {**WEB, "imageTag": "1.0"}}), "services.web", "found image, imageTag"),
    (valid(services={"web": {"image": "Not A Ref!", "port": 80}}), "services.web.image", "not an image reference"),
    (valid(services={"web": {"imageTag": "bad tag", "port": 80}}), "services.web.imageTag", "an image tag"),
    (valid(services={"web": {"build": "./missing", "port": 80}}), "services.web.build.context", "not a directory"),
    (valid(services={"web": {**WEB, "port": 70000}}), "services.web.port", "valid: 1 to 65535"),
    (valid(services={"web": {**WEB, "port": "http"}}), "services.web.port", "expected a whole number"),
    (valid(services={"web": {**WEB, "secrets": {"DB": "plaintext-password"}}}), "services.web.secrets.DB",
     "Secrets Manager secret ARN"),
    (valid(services={"web": {**WEB, "environment": {"1BAD": "x"}}}), "services.web.environment.1BAD",
     "environment variable name"),
    (valid(services={"web": {**WEB, "environment": {"DB": "x"},
                             "secrets": {"DB": "arn:aws:ssm:us-east-1:123456789012:parameter/db"}}}),
     "services.web.secrets.DB", "also set in environment"),
    (valid(services={"web": {**WEB, "logRetentionDays": 10}}), "services.web.logRetentionDays",
     "valid: 1, 3, 5, 7, 14, 30"),
    (valid(services={"web": {**WEB, "architecture": "arm"}}), "services.web.architecture", "X86_64, ARM64"),
    (valid(services={"web": {**WEB, "architecture": "ARM64", "capacityProvider": "FARGATE_SPOT"}}),
     "services.web.capacityProvider", "FARGATE_SPOT does not run ARM64"),
    (valid(services={"web": {**WEB, "autoscaling": {"minCount": 5, "maxCount": 2}}}),
     "services.web.autoscaling.maxCount", "below minCount 5"),
    (valid(services={"web": {**WEB, "autoscaling": {"maxCount": 2}}}),
     "services.web.autoscaling.minCount", "required"),
    (valid(services={"w": {"image": "busybox:1", "autoscaling": {"minCount": 1, "maxCount": 2,
                                                                 "requestsPerTarget": 100}}}),
     "services.w.autoscaling.requestsPerTarget", "only applies to a service with a port"),
    (valid(services={"Web": WEB}), "services.Web", "lowercase is this project's convention, not an AWS rule"),
    (valid(services={"web-": WEB}), "services.web-", "ending with a letter or digit"),
    (valid(services={"worker": {"image": "busybox:1", "healthCheckPath": "/h"}}),
     "services.worker.healthCheckPath", "only applies to a service with a port"),
    (valid(services={"web": {**WEB, "pathPatterns": ["api/*"]}}), "services.web.pathPatterns[0]",
     "not an ALB path pattern"),
    (valid(services={"web": {**WEB, "healthCheck": {"command": ["curl", "x"]}}}),
     "services.web.healthCheck.command", "must start with CMD"),
    (valid(services={"web": {**WEB, "taskRoleStatements": [{"Effect": "Allow", "Action": "s3:GetObject"}]}}),
     "services.web.taskRoleStatements[0]", "exactly one of Resource or NotResource"),
    (valid(services={"web": {**WEB, "taskRoleStatements": [{"Effect": "Allow", "Action": "getobject",
                                                             "Resource": "*"}]}}),
     "services.web.taskRoleStatements[0].Action", "not an IAM action"),
    (valid(services={"a1": {**WEB, "priority": 7}, "b1": {**WEB, "priority": 7}}), "services.b1.priority",
     "already used by services.a1"),
    (valid(services={"alb": WEB}), "services.alb", "reserved"),
    (valid(network={"natGateways": "two"}), "network.natGateways", "none, single, perAz"),
    (valid(network={"vpcCidr": "10.0.0.0/33"}), "network.vpcCidr", "not an IPv4 CIDR"),
    (valid(network={"vpcCidr": "10.0.0.0/8"}), "network.vpcCidr", "AWS takes VPC CIDR blocks from /16 to /28"),
    (valid(network={"vpcCidr": "10.0.0.0/29"}), "network.vpcCidr", "AWS takes VPC CIDR blocks from /16 to /28"),
    (valid(network={"availabilityZones": 1}), "network.availabilityZones", "valid: 2 to 6"),
    (valid(network={"vpcId": "vpc-0123456789abcdef0", "publicSubnetIds": ["subnet-0123abcd"]}),
     "network.publicSubnetIds", "at least 2 public subnets"),
    (valid(network={"vpcId": "vpc-0123456789abcdef0", "natGateways": "single",
                    "publicSubnetIds": ["subnet-0123abcd", "subnet-4567abcd"]}),
     "network.natGateways", "only applies to a new VPC"),
    (valid(network={"privateSubnetIds": ["subnet-0123abcd"]}), "network.privateSubnetIds", "set network.vpcId too"),
    (valid(registry={"keepImages": 0}), "registry.keepImages", "valid: 1 to 10000"),
    (valid(registry={"immutableTags": "yes"}), "registry.immutableTags", "expected true or false"),
    (valid(loadBalancer={"certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}),
     "loadBalancer.certificateArn", "an ACM certificate ARN"),
    (valid(loadBalancer={"allowedCidrs": []}), "loadBalancer.allowedCidrs", "unreachable"),
    (valid(loadBalancer={"sslPolicy": "ELBSecurityPolicy-2016-08"}), "loadBalancer.sslPolicy",
     "ELBSecurityPolicy-TLS13-1-2-2021-06"),
    (valid(scheduledTasks={"job": {"service": "nope", "schedule": "rate(1 hour)"}}),
     "scheduledTasks.job.service", "'nope' is not a service of this stack; valid: web"),
    (valid(scheduledTasks={"job": {"service": "web", "schedule": "every night"}}),
     "scheduledTasks.job.schedule", "cron(0 3 * * ? *)"),
    (valid(scheduledTasks={"job": {"service": "web"}}), "scheduledTasks.job.schedule", "required"),
    (valid(scheduledTasks={"job": {"service": "web", "schedule": "rate(1 day)", "cpu": 512}}),
     "scheduledTasks.job.cpu", "cannot be set together with service"),
    (valid(scheduledTasks={"job": {"schedule": "rate(1 day)"}}), "scheduledTasks.job", "set exactly one of image"),
    (valid(scheduledTasks={"web": {"service": "web", "schedule": "rate(1 day)"}}), "scheduledTasks.web",
     "also a service"),
    (valid(tags={"aws:owner": "me"}), "tags.aws:owner", "must not start with aws:"),
    (valid(tags={"AWS:Owner": "me"}), "tags.AWS:Owner", "must not start with aws:"),
    (valid(tags={"k" * 128: "x"}), "tags." + "k" * 128, "1 to 127 characters (EC2's limit)"),
    (valid(tags={"CostCenter": "R&D (platform)"}), "tags.CostCenter",
     "'R&D (platform)' is not a tag value every service of the stack accepts"),
    (valid(tags={"Owner": "team's"}), "tags.Owner", "ELB, IAM, CloudWatch Logs and ECS refuse other characters"),
    (valid(tags={"Note": "v" * 257}), "tags.Note", "at most 256"),
    (valid(services={"web": {**WEB, "rollbackAlarm": {}}}), "services.web.rollbackAlarm.targetErrorsPerMinute",
     "required"),
    (valid(services={"jobs": {"image": "busybox:1", "rollbackAlarm": {"targetErrorsPerMinute": 5}}}),
     "services.jobs.rollbackAlarm", "only applies to a service with a port"),
    (valid(services={"a-very-long-service-name": WEB}), "services.a-very-long-service-name",
     "ELB target group names are at most 32 characters, so this name can have at most 21"),
    (valid(services={"web": {**WEB, "pathPatterns": ["/a(b)"]}}), "services.web.pathPatterns[0]", "ALB path"),
    (valid(services={"web": {**WEB, "writablePaths": ["/a.b", "/a-b"]}}), "services.web.writablePaths[1]",
     "same volume as '/a.b'"),
    (valid(services={"web": {**WEB, "taskRoleStatements": [{"Sid": "read-all", "Effect": "Allow",
                                                             "Action": "s3:GetObject", "Resource": "*"}]}}),
     "services.web.taskRoleStatements[0].Sid", "letters and digits"),
    (valid(scheduledTasks={"job": {"service": "web", "schedule": "cron(0 3 * * *)"}}),
     "scheduledTasks.job.schedule", "cron(0 3 * * ? *)"),
    (valid(scheduledTasks={"job": {"service": "web", "schedule": "rate(0 minutes)"}}),
     "scheduledTasks.job.schedule", "a positive whole number"),
    (valid(scheduledTasks={"job": {"service": "web", "schedule": "rate(1 day)", "timezone": "Europe/Berln"}}),
     "scheduledTasks.job.timezone", "did you mean 'Europe/Berlin'"),
    (valid(services={"web": {**WEB, "enableExecuteCommand": True}}), "services.web.enableExecuteCommand",
     "readonlyRootFilesystem: false"),
    (valid(services={"api": {"image": "nginx:1", "architecture": "ARM64"}},
           scheduledTasks={"job": {"service": "api", "schedule": "rate(1 day)", "capacityProvider": "FARGATE_SPOT"}}),
     "scheduledTasks.job.capacityProvider", "the service it reuses ('api') is ARM64"),
])
def test_each_bad_value_is_reported_under_its_key(raw, key, hint):
    found = problems(raw)
    matching = [p for p in found if p.startswith(f"{key}: ")]
    assert matching, f"no problem reported for {key}; got {found}"
    assert any(hint in p for p in matching), f"{key}: expected '{hint}' in {matching}"


@pytest.mark.parametrize("key, hint", [
    ("profil", "aws:profile"),
    ("skipCredentialsValidaton", "aws:skipCredentialsValidation"),
    ("regoin", "aws:region"),
    ("s3UsePathStlye", "aws:s3UsePathStyle"),
])
def test_unknown_aws_provider_settings_are_errors_with_the_clis_spelling(key, hint):
    with pytest.raises(SettingsError) as caught:
        parse(valid(), project="p", stack="s", region="us-east-1", aws_config={key: "x"})
    assert caught.value.problems == [f"aws:{key}: not an AWS provider setting; did you mean '{hint}'?"]


def test_aws_settings_in_the_clis_spelling_reach_the_provider():
    parsed = parse(valid(), project="p", stack="s", region="us-east-1",
                   aws_config={"skipCredentialsValidation": True, "s3UsEast1RegionalEndpoint": "regional"})
    assert parsed.aws_provider == {"skip_credentials_validation": True, "s3_us_east1_regional_endpoint": "regional"}


@pytest.mark.parametrize("project, stack, key", [("ecs-fargate", "prod.eu", "stack"), ("My_App_", "dev", "project")])
def test_project_and_stack_must_make_valid_aws_names(project, stack, key):
    with pytest.raises(SettingsError) as caught:
        parse(valid(), project=project, stack=stack, region="us-east-1")
    assert [p.split(":")[0] for p in caught.value.problems] == [key]


def test_wildcard_arns_are_accepted_in_statements():
    parse(valid(services={"web": {**WEB, "taskRoleStatements": [
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "arn:aws:logs:*:*:*"}]}}),
        project="p", stack="s", region="us-east-1")


def test_region_is_required_and_checked():
    assert any(p.startswith("aws:region: required") for p in problems(valid(), region=None))
    assert any("not an AWS region" in p for p in problems(valid(), region="mars-1"))


def test_every_problem_is_reported_at_once():
    found = problems({"environment": "qa", "network": {"natGateways": "x"},
                      "services": {"api": {"image": "nginx:1", "cpu": 512, "memory": 512, "port": 0}}})
    assert {p.split(":")[0] for p in found} == {
        "environment", "network.natGateways", "services.api.memory", "services.api.port"}


def test_defaults_are_safe_and_depend_on_the_environment():
    dev = parse(valid(), project="p", stack="dev", region="us-east-1")
    prod = parse(valid(environment="prod"), project="p", stack="prod", region="us-east-1")
    assert (dev.network.nat_gateways, prod.network.nat_gateways) == ("none", "perAz")
    assert (dev.registry.immutable_tags, prod.registry.immutable_tags) == (False, True)
    assert (dev.load_balancer.deletion_protection, prod.load_balancer.deletion_protection) == (False, True)
    assert (dev.services[0].desired_count, prod.services[0].desired_count) == (1, 2)
    web = prod.services[0]
    assert web.path_patterns == ("/*",) and web.health_check_path == "/health"
    assert web.deregistration_delay_seconds == 30 and web.task.log_retention_days == 30
    assert web.task.readonly_root_filesystem and web.task.writable_paths == ("/tmp",)
    assert not web.task.enable_execute_command


def priorities(services: dict) -> dict[str, int]:
    parsed = parse(valid(services=services), project="p", stack="s", region="us-east-1")
    return {s.name: s.priority for s in parsed.services if s.port}


def test_adding_a_service_never_renumbers_the_others():
    """ALB refuses to swap priorities between rules in one update (PriorityInUse)."""
    before = priorities({"web": WEB})
    after = priorities({"web": WEB, "admin": {**WEB, "pathPatterns": ["/admin/*"]},
                        "api": {**WEB, "hostHeaders": ["api.example.com"]}})
    assert after["web"] == before["web"]
    assert after["api"] < after["admin"] < after["web"], "host rules, then longer paths, then /*"


@pytest.mark.parametrize("narrow, broad, services", [
    ("v2", "v1", {"v1": {**WEB, "pathPatterns": ["/api/*"]}, "v2": {**WEB, "pathPatterns": ["/api/v2/*"]}}),
    ("admin", "web", {"web": WEB, "admin": {**WEB, "pathPatterns": ["/*/admin"]}}),
    ("api", "site", {"site": {**WEB, "hostHeaders": ["*.example.com"]},
                     "api": {**WEB, "hostHeaders": ["api.example.com"]}}),
    # Same literal count: the exact pattern first, then fewer runs of *.
    ("home", "app", {"home": {**WEB, "pathPatterns": ["/"]}, "app": {**WEB, "pathPatterns": ["/*"]}}),
    ("one", "any", {"one": {**WEB, "pathPatterns": ["/a?"]}, "any": {**WEB, "pathPatterns": ["/a*"]}}),
    ("png", "pngs", {"png": {**WEB, "pathPatterns": ["/img/*.png"]},
                     "pngs": {**WEB, "pathPatterns": ["/img/*.png*"]}}),
    # Wildcard hosts by their own specificity.
    ("admin", "tenants", {"tenants": {**WEB, "hostHeaders": ["*.example.com"]},
                          "admin": {**WEB, "hostHeaders": ["*.admin.example.com"]}}),
    # Long patterns keep their order (up to 48 literal characters).
    ("invites", "members", {"members": {**WEB, "pathPatterns": ["/api/v1/organizations/members/*"]},
                            "invites": {**WEB, "pathPatterns": ["/api/v1/organizations/members/invites/*"]}}),
    # A rule with a host condition before a path-only rule it falls within.
    ("tenant-api", "api", {"api": {**WEB, "pathPatterns": ["/api/*"]},
                           "tenant-api": {**WEB, "pathPatterns": ["/api/*"], "hostHeaders": ["*.example.com"]}}),
], ids=["longer-path", "more-literal-path", "literal-host", "exact-before-star", "question-before-star",
        "fewer-stars", "wildcard-host-specificity", "long-paths", "host-before-path-only"])
def test_narrower_routes_are_evaluated_before_broader_ones(narrow, broad, services):
    found = priorities(services)
    assert found[narrow] < found[broad]
    assert all(1 <= p <= 50000 for p in found.values())


def test_explicit_priority_is_kept():
    assert priorities({"web": {**WEB, "priority": 7}}) == {"web": 7}


def test_two_services_with_the_same_routing_are_rejected():
    found = problems(valid(services={"a1": WEB, "b1": WEB}))
    assert found == ["services.b1: routes the same requests as services.a1 (pathPatterns/hostHeaders), "
                     "so one would never be reached"]


def test_autoscaling_sets_the_initial_count_to_its_minimum():
    parsed = parse(valid(services={"web": {**WEB, "autoscaling": {"minCount": 3, "maxCount": 9}}}),
                   project="p", stack="s", region="us-east-1")
    assert parsed.services[0].desired_count == 3


def test_settings_error_is_a_run_error_so_pulumi_prints_no_traceback():
    with pytest.raises(SettingsError) as caught:
        parse({}, project="p", stack="s", region="us-east-1")
    assert isinstance(caught.value, pulumi.RunError)
    message = str(caught.value)
    assert message.startswith("Invalid stack configuration (2 problems); nothing was deployed:")
    assert "  - environment: required" in message and "  - services: required" in message


def test_a_bad_stack_registers_nothing():
    """The program validates before creating anything: no half-registered stack."""
    from pulumi.runtime import settings as runtime_settings

    with pytest.raises(SettingsError) as caught:
        render_config({"ecs-fargate:environment": "prod",
                       "ecs-fargate:services": {"api": {"image": "nginx:1", "memory": 3}},
                       "ecs-fargate:registyr": {"scanOnPush": True}})
    assert "services.api.memory" in str(caught.value)
    assert "registyr: unknown key; did you mean 'registry'?" in str(caught.value)
    registered = [r.type for r in runtime_settings.SETTINGS.monitor.registrations]
    assert registered == ["pulumi:pulumi:Stack"], registered


def test_fargate_sizes_match_the_documented_table():
    assert settings.FARGATE_SIZES[256] == (512, 1024, 2048)
    assert settings.FARGATE_SIZES[4096][-1] == 30720
    assert settings.FARGATE_SIZES[8192] == tuple(range(16384, 61441, 4096))
    assert settings.FARGATE_SIZES[16384][0] == 32768 and settings.FARGATE_SIZES[16384][-1] == 122880


# -- Listener rule priorities at scale ------------------------------------------------------

FIFTY = {f"api{i}": {**WEB, "pathPatterns": [f"/api{i}/*"]} for i in range(50)}


def test_fifty_services_with_distinct_routes_render_with_unique_ordered_priorities():
    rendering = render_config({"ecs-fargate:environment": "dev", "ecs-fargate:services": FIFTY})
    rules = {r.name.removesuffix("-rule"): r for r in rendering.resources if r.type == "aws:lb/listenerRule:ListenerRule"}
    assert len(rules) == 50
    found = {name: rule.inputs["priority"] for name, rule in rules.items()}
    assert len(set(found.values())) == 50, "ALB refuses two rules with one priority"
    assert all(1 <= p <= 50000 for p in found.values())
    # /api10/* .. /api49/* have one more literal character than /api0/* .. /api9/*.
    assert max(found[f"api{i}"] for i in range(10, 50)) < min(found[f"api{i}"] for i in range(10)), found


def test_removing_or_adding_a_service_leaves_every_other_priority_unchanged():
    """Pulumi updates before it deletes: a priority that moves because another service came or
    went would be refused by ALB (PriorityInUse) while the other rule still holds it."""
    before = priorities(FIFTY)
    for removed in FIFTY:
        after = priorities({name: svc for name, svc in FIFTY.items() if name != removed})
        assert after == {name: p for name, p in before.items() if name != removed}, f"removing {removed}"
    for added in ({"api50": {**WEB, "pathPatterns": ["/api50/*"]}}, {"admin": {**WEB, "pathPatterns": ["/admin/*"]}},
                  {"site": {**WEB, "hostHeaders": ["www.example.com"]}}):
        after = priorities({**FIFTY, **added})
        assert {name: after[name] for name in FIFTY} == before, f"adding {added}"


def test_a_rename_can_keep_the_priority_as_the_docs_warn():
    """The old name is not known when the new one is checked: no slot function of the name
    alone can keep a renamed rule off the old rule's priority, which ALB still holds while
    Pulumi creates the new one. It happens about once in 167 renames; the docs say what to do."""
    before = priorities({"api": {**WEB, "pathPatterns": ["/api/*"]}})["api"]
    assert priorities({"search-new": {**WEB, "pathPatterns": ["/api/*"]}})["search-new"] == before
    row = next(line for line in (ROOT / "docs" / "configuration.md").read_text().splitlines()
               if line.startswith("| `priority` |"))
    assert "PriorityInUse" in row and "rename" in row, row


def test_derived_priorities_span_1000_to_49763_as_documented():
    last = listener_rules._PRIORITY_BASE + listener_rules._PRIORITY_LEVELS * listener_rules._PRIORITY_SLOTS - 1
    assert (listener_rules._PRIORITY_BASE, last) == (1000, 49763) and last <= 50000
    catch_all = settings.ServiceSpec(name="x", task=None, path_patterns=("/*",))
    assert listener_rules._priority_level(catch_all) < listener_rules._PRIORITY_LEVELS


def test_names_one_character_apart_or_numbered_never_share_a_slot():
    import itertools
    import string

    alphabet = string.ascii_lowercase + string.digits + "-"
    for base in ("web", "api-a", "svc10"):
        for index in range(len(base)):
            slots = {listener_rules._name_slot(base[:index] + char + base[index + 1:]) for char in alphabet}
            assert len(slots) == len(alphabet), (base, index)
    numbered = [f"api{a}{b}" for a, b in itertools.product(string.digits, repeat=2)]
    assert len({listener_rules._name_slot(name) for name in numbered}) == 100


def test_identical_routing_is_an_error_naming_both_services_even_in_another_order():
    found = problems(valid(services={
        "a1": {**WEB, "pathPatterns": ["/a/*", "/b/*"], "hostHeaders": ["Example.com"]},
        "b1": {**WEB, "pathPatterns": ["/b/*", "/a/*", "/a/*"], "hostHeaders": ["example.com"]}}))
    assert found == ["services.b1: routes the same requests as services.a1 (pathPatterns/hostHeaders), "
                     "so one would never be reached"]


def test_explicit_priorities_win_and_derived_ones_step_around_them():
    derived = priorities({"web": WEB})["web"]
    found = priorities({"web": WEB, "api": {**WEB, "pathPatterns": ["/api/*"], "priority": derived}})
    assert found["api"] == derived and found["web"] != derived


def test_a_rare_slot_collision_is_resolved_and_reported_as_a_priority_to_pin():
    # api and search-new share a slot; both paths have 5 literal characters and one *.
    services = {"api": {**WEB, "pathPatterns": ["/api/*"]}, "search-new": {**WEB, "pathPatterns": ["/sea/*"]}}
    assert listener_rules._name_slot("api") == listener_rules._name_slot("search-new")
    parsed = parse(valid(services=services), project="p", stack="s", region="us-east-1")
    found = {s.name: s.priority for s in parsed.services}
    alone = priorities({"api": services["api"]})["api"]
    probed = found["search-new"]
    assert found["api"] == alone and probed != alone
    assert (probed - alone) % listener_rules._PRIORITY_SLOTS == listener_rules._name_step("search-new")
    assert parsed.warnings == (f"services.search-new.priority: {alone} is also the priority of services.api, so "
                               f"this rule uses {probed}, which changes if services.api is removed or renamed or a "
                               f"service whose own priority is {probed} is added; set priority: {probed} to pin it",)


def test_a_probed_priority_steps_by_its_own_name_so_a_neighbour_does_not_move_it():
    """Linear probing took the next slot, so a newcomer whose slot was that one pushed the
    probed service further (search-new moved when admin-video came)."""
    services = {"api": {**WEB, "pathPatterns": ["/api/*"]}, "search-new": {**WEB, "pathPatterns": ["/sea/*"]}}
    before = priorities(services)
    assert listener_rules._name_slot("aeq") == listener_rules._name_slot("api") + 1
    after = priorities({**services, "aeq": {**WEB, "pathPatterns": ["/new/*"]}})
    assert after["search-new"] == before["search-new"] and after["aeq"] == before["api"] + 1


def test_the_warning_names_every_service_a_probe_stepped_over():
    """Removing any of them moves the probed rule (in place, before the deletion: PriorityInUse)."""
    slot, step = listener_rules._name_slot("api"), listener_rules._name_step("search-new")
    blocker = next(f"x{i}" for i in range(10000)
                   if listener_rules._name_slot(f"x{i}") == (slot + step) % listener_rules._PRIORITY_SLOTS)
    services = {"api": {**WEB, "pathPatterns": ["/api/*"]}, "search-new": {**WEB, "pathPatterns": ["/sea/*"]},
                blocker: {**WEB, "pathPatterns": ["/zzz/*"]}}
    parsed = parse(valid(services=services), project="p", stack="s", region="us-east-1")
    [warning] = parsed.warnings
    assert f"which changes if services.api, services.{blocker} are removed or renamed" in warning, warning


# -- Rules that hide another rule ---------------------------------------------------------------

@pytest.mark.parametrize("services, key, hidden, by", [
    # Ranked by its broadest pattern, m1 comes after m2, which matches all of m1's /api/v2/users/*.
    ({"m1": {**WEB, "pathPatterns": ["/a/*", "/api/v2/users/*"]}, "m2": {**WEB, "pathPatterns": ["/api/v2/*"]}},
     "services.m1", "its pathPatterns '/api/v2/users/*' is never reached", "services.m2"),
    # Whatever the order, one of these hides part of the other.
    ({"mixed": {**WEB, "pathPatterns": ["/api/v2/*", "/*"]}, "api": {**WEB, "pathPatterns": ["/api/*"]}},
     "services.mixed", "its pathPatterns '/api/v2/*' is never reached", "services.api"),
    # Explicit priorities are checked too.
    ({"web": {**WEB, "priority": 10}, "api": {**WEB, "pathPatterns": ["/api/*"], "priority": 20}},
     "services.api", "is never reached", "services.web"),
    ({"web": {**WEB, "priority": 1}, "shop": {**WEB, "hostHeaders": ["shop.example.com"]}},
     "services.shop", "is never reached", "services.web"),
    ({"tenants": {**WEB, "hostHeaders": ["*.EXAMPLE.com"], "priority": 5},
      "admin": {**WEB, "hostHeaders": ["*.admin.example.com", "admin.example.org"]}},
     "services.admin", "its hostHeaders '*.admin.example.com' is never reached", "services.tenants"),
    # A host pattern of stars alone matches every request, as no host condition does.
    ({"all": {**WEB, "hostHeaders": ["*"], "priority": 1}, "web": {**WEB, "pathPatterns": ["/api/*", "/x"]}},
     "services.web", "is never reached", "services.all"),
], ids=["narrow-pattern-of-a-broad-rule", "both-ways", "explicit", "catch-all-first", "partly-hidden-host",
        "star-host"])
def test_a_rule_hidden_by_an_earlier_one_is_an_error_naming_both(services, key, hidden, by):
    found = [p for p in problems(valid(services=services)) if p.startswith(f"{key}: ")]
    assert len(found) == 1, found
    assert found[0].startswith(f"{key}: {hidden}: {by} (priority "), found
    assert "set priority explicitly" in found[0] and "split the patterns" in found[0], found


@pytest.mark.parametrize("services", [
    {"api": {**WEB, "pathPatterns": ["/api/*"]}, "shop": {**WEB, "hostHeaders": ["shop.example.com"]}},
    {"tenants": {**WEB, "hostHeaders": ["*.example.com"]}, "api": {**WEB, "pathPatterns": ["/api/*"], "priority": 2}},
    {"web": {**WEB, "pathPatterns": ["/*"], "hostHeaders": ["www.example.com"], "priority": 3}, "api": {**WEB}},
    {"aa": {**WEB, "pathPatterns": ["/a*"], "priority": 3}, "bb": {**WEB, "pathPatterns": ["/b*"], "priority": 2}},
])
def test_rules_that_only_overlap_are_left_to_their_priorities(services):
    parse(valid(services=services), project="p", stack="s", region="us-east-1")


@pytest.mark.parametrize("first, second", [
    ({"hostHeaders": ["a.example.com"]}, {"hostHeaders": ["A.example.com"], "pathPatterns": ["/*"]}),
    ({}, {"pathPatterns": ["/*"]}),
    ({}, {"pathPatterns": ["/**"]}),
    ({"pathPatterns": ["/a/*"]}, {"pathPatterns": ["/a/*", "/a/b/*"]}),
    ({"pathPatterns": ["/a/*?"]}, {"pathPatterns": ["/a/?*"]}),
    ({"hostHeaders": ["x.example.com"], "pathPatterns": ["/*", "/api"]}, {"hostHeaders": ["X.EXAMPLE.COM"]}),
    ({"hostHeaders": ["*"]}, {}),
])
def test_equivalent_routing_is_identical_routing(first, second):
    assert problems(valid(services={"a1": {**WEB, **first}, "b1": {**WEB, **second}})) == [
        "services.b1: routes the same requests as services.a1 (pathPatterns/hostHeaders), so one would never be "
        "reached"]


@pytest.mark.parametrize("broad, narrow, covers", [
    ("/*", "/", True), ("/*", "/api/*", True), ("/api/*", "/api/v2/*", True), ("/api/*", "/api*", False),
    ("/api*", "/api/*", True), ("/*/admin", "/x/admin", True), ("/*/admin", "/*/*/admin", True),
    ("/*/*/admin", "/*/admin", False), ("/a?", "/ab", True), ("/a?", "/a?", True), ("/a?", "/a*", False),
    ("/a*", "/a?", True), ("/a?*", "/a*", False), ("/a*", "/a?*", True), ("/a*b", "/a*b*", False),
    ("/a*b*", "/a*b", True), ("*.example.com", "*.admin.example.com", True), ("*.example.com", "example.com", False),
    ("*", "anything", True), ("a.example.com", "a.example.com", True), ("a.example.com", "b.example.com", False),
    ("/", "/*", False), ("/a/", "/a", False), ("/API/*", "/api/x", False),
])
def test_glob_inclusion_on_chosen_pairs(broad, narrow, covers):
    assert listener_rules._glob_covers(broad, narrow) is covers


def test_glob_inclusion_is_sound_on_every_small_pattern():
    """Whenever _glob_covers says yes, every string the narrow pattern matches (up to 6
    characters of a, b, /) is matched by the broad one; and it says yes for each pattern
    against itself and against `*`."""
    import itertools
    import re

    def regex(pattern: str) -> re.Pattern:
        return re.compile("".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern))

    patterns = ["".join(p) for n in range(5) for p in itertools.product("ab/*?", repeat=n)]
    strings = ["".join(s) for n in range(7) for s in itertools.product("ab/", repeat=n)]
    matches = {p: {s for s in strings if regex(p).fullmatch(s)} for p in patterns}
    proven = 0
    for narrow in patterns:
        assert listener_rules._glob_covers(narrow, narrow) and listener_rules._glob_covers("*", narrow)
        for broad in patterns:
            if listener_rules._glob_covers(broad, narrow):
                proven += 1
                assert matches[narrow] <= matches[broad], (broad, narrow)
    assert proven > 20000


def test_a_narrower_pattern_never_gets_a_later_level():
    import itertools

    patterns = ["/" + "".join(p) for n in range(5) for p in itertools.product("ab*?", repeat=n)]
    for broad, narrow in itertools.product(patterns, repeat=2):
        if listener_rules._glob_covers(broad, narrow):
            assert listener_rules._breadth(narrow) <= listener_rules._breadth(broad), (broad, narrow)
            wide, tight = (listener_rules._priority_level(settings.ServiceSpec(name="x", task=None, path_patterns=(p,)))
                           for p in (broad, narrow))
            assert tight <= wide


# -- Names AWS derives from a service or job name ---------------------------------------------

JOB = {"service": "web", "schedule": "rate(1 day)"}


@pytest.mark.parametrize("raw, key, message", [
    (valid(services={"sg": WEB}), "services.sg",
     "the task security group would be named 'sg-sg-xxxxxxx'; EC2 refuses security group names starting with sg-"),
    (valid(services={"web": WEB, "sg-api": {"image": "busybox:1"}}), "services.sg-api",
     "the task security group would be named 'sg-api-sg-xxxxxxx'; EC2 refuses security group names starting with sg-"),
    (valid(scheduledTasks={"sg": JOB}), "scheduledTasks.sg",
     "the task security group would be named 'sg-sg-xxxxxxx'; EC2 refuses security group names starting with sg-"),
    (valid(services={"a-very-long-service-nm": WEB}), "services.a-very-long-service-nm",
     "the target group would be named 'a-very-long-service-nm-tg-xxxxxxx' (33 characters); ELB target group "
     "names are at most 32 characters, so this name can have at most 21"),
    (valid(services={"web": WEB, "a-worker-with-a-forty-one-character-name1": {"image": "busybox:1"}}),
     "services.a-worker-with-a-forty-one-character-name1",
     "the task execution role would be named 'a-worker-with-a-forty-one-character-name1-roles-execution-xxxxxxx' "
     "(65 characters); IAM role names are at most 64 characters, so this name can have at most 40"),
    (valid(scheduledTasks={"a-job-reusing-a-service-with-a-very-long-name-x": JOB}),
     "scheduledTasks.a-job-reusing-a-service-with-a-very-long-name-x",
     "the scheduler role would be named 'a-job-reusing-a-service-with-a-very-long-name-x-scheduler-xxxxxxx' "
     "(65 characters); IAM role names are at most 64 characters, so this name can have at most 46"),
])
def test_names_aws_would_refuse_are_reported_with_the_aws_rule(raw, key, message):
    found = [p for p in problems(raw) if p.startswith(f"{key}: ")]
    assert found == [f"{key}: {message}"]


@pytest.mark.parametrize("network, web, room", [
    ({"vpcCidr": "10.0.0.0/26"}, True, None),
    ({"vpcCidr": "10.0.0.0/27"}, False, None),
    ({"vpcCidr": "10.0.0.0/23", "availabilityZones": 6, "natGateways": "perAz"}, True, None),
    ({"vpcCidr": "10.0.0.0/24", "availabilityZones": 6, "natGateways": "single"}, True,
     "each availability zone gets a public and a private subnet, and the load balancer needs subnets of /27 or "
     "larger (with 6 zones each subnet would be /28; use /23 or a larger block)"),
    ({"vpcCidr": "10.0.0.0/26", "natGateways": "single"}, True, "(with 2 zones each subnet would be /28; use /25"),
    ({"vpcCidr": "10.0.0.0/28"}, False, "each availability zone gets a public subnet, and AWS's smallest subnet is /28 "
                                        "(with 2 zones each subnet would be /29; use /27 or a larger block)"),
])
def test_a_small_vpc_is_refused_for_the_stacks_own_reason_not_awss(network, web, room):
    """AWS takes a VPC from /16 to /28; the stack splits it into subnets per zone, and an ALB's
    subnets must be /27 or larger (ELB User Guide), so it is the split that needs room."""
    service = WEB if web else {"image": "busybox:1"}
    raw = valid(network=network, services={"web": service})
    if room is None:
        parse(raw, project="p", stack="s", region="us-east-1")
        return
    found = [p for p in problems(raw) if p.startswith("network.vpcCidr: ")]
    assert len(found) == 1 and "leaves too little room for this stack's subnets (AWS would take it for a VPC" in found[0]
    assert room in found[0], found


def test_one_letter_is_a_fine_service_name():
    parsed = parse(valid(services={"a": WEB, "b": {"image": "busybox:1"}}), project="p", stack="s", region="us-east-1")
    assert [s.name for s in parsed.services] == ["a", "b"]


def test_internal_is_a_fine_service_name():
    """Only load balancer names may not start with internal- (CreateLoadBalancer's Name); target
    group names may (CreateTargetGroup's Name documents no such rule)."""
    settings = parse(valid(services={"internal-api": WEB}), project="ecs-fargate", stack="test", region="us-east-1")
    assert [s.name for s in settings.services] == ["internal-api"]


def test_a_worker_may_have_a_longer_name_than_a_web_service():
    parse(valid(services={"web": WEB, "a-worker-with-twenty-nine-chars": {"image": "busybox:1"}}),
          project="p", stack="s", region="us-east-1")


def test_project_and_stack_too_long_for_the_repository_and_the_task_families():
    with pytest.raises(SettingsError) as caught:
        parse(valid(), project="p" * 150, stack="s" * 110, region="us-east-1")
    found = caught.value.problems
    assert any(p.startswith("stack: the ECR repository would be named 'ppp") and "(261 characters); ECR repository "
               "names are 2 to 256 characters" in p for p in found), found
    assert any(p.startswith("services.web: the task definition family would be named 'ppp") and "(265 characters)"
               in p for p in found), found


def test_the_name_rules_cover_every_name_the_components_derive():
    """Render a service and jobs that create every optional resource, and check each physical name
    built from their names against what settings predicts (and so validates)."""
    import re

    web = {"build": "./app", "port": 80, "secrets": {"DB": "arn:aws:ssm:us-east-1:123456789012:parameter/db"},
           "taskRoleStatements": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
           "enableExecuteCommand": True, "readonlyRootFilesystem": False, "rollbackAlarm": {"targetErrorsPerMinute": 5},
           "autoscaling": {"minCount": 1, "maxCount": 2, "requestsPerTarget": 100}}
    jobs = {"own": {"build": "./app", "schedule": "rate(1 day)", "secrets": web["secrets"],
                    "taskRoleStatements": web["taskRoleStatements"], "enableExecuteCommand": True,
                    "readonlyRootFilesystem": False},
            "reuse": {"service": "svc", "schedule": "rate(1 day)"}}
    rendering = render_config({"ecs-fargate:environment": "dev", "ecs-fargate:services": {"svc": web},
                               "ecs-fargate:scheduledTasks": jobs}, stack="names")
    predicted = {
        "svc": set(settings.derived_names("ecs-fargate", "names", "svc", web=True, own_task=True, job=False)),
        "own": set(settings.derived_names("ecs-fargate", "names", "own", web=False, own_task=True, job=True)),
        "reuse": set(settings.derived_names("ecs-fargate", "names", "reuse", web=False, own_task=False, job=True)),
    }
    for owner, names in predicted.items():
        rendered = set()
        for resource in rendering.resources:
            if not resource.custom or not resource.name.startswith(f"{owner}-"):
                continue
            outputs = resource.outputs or {}
            for value in [outputs.get("name"), outputs.get("family"), *(resource.inputs.get("tags") or [])]:
                if isinstance(value, str) and value:
                    value = value.rsplit(":", 1)[-1] if resource.type.startswith("docker-build") else value
                    rendered.add(re.sub(r"-[0-9a-f]{7}$", "-xxxxxxx", re.sub(r"-[0-9a-f]{16}$", "-" + "x" * 16, value)))
        assert rendered == {name for _, name in names}, (owner, rendered ^ {name for _, name in names})


# -- EventBridge Scheduler expressions -------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "cron(0 3 * * ? *)", "cron(0/15 8-17 ? * MON-FRI *)", "cron(0 0 L * ? *)", "cron(0 9 ? * 2#1 *)",
    "cron(0 12 15W * ? 2030)", "cron(0 10 ? * 6L 2029-2032)", "cron(0 8 1 JAN,JUL ? *)", "cron(5,35 */2 ? * sun *)",
    "cron(0 0 LW * ? *)", "cron(59 23 31 12 ? 2199)", "cron(0 0 1 1 ? 1970)",
    "rate(1 minute)", "rate(1 hour)", "rate(2 hours)", "rate(5 minutes)", "rate(1 day)", "rate(30 days)",
    "at(2030-02-28T00:00:00)", "at(2028-02-29T23:59:59)",
])
def test_schedule_expressions_eventbridge_scheduler_accepts(expression):
    parse(valid(scheduledTasks={"job": {"service": "web", "schedule": expression}}),
          project="p", stack="s", region="us-east-1")


@pytest.mark.parametrize("expression, hint", [
    ("cron(0 3 * * * *)", "use ? in exactly one of day-of-month and day-of-week"),
    ("cron(0 3 ? * ? *)", "use ? in exactly one of day-of-month and day-of-week"),
    ("cron(0 3 * *)", "cron has six fields (minutes hours day-of-month month day-of-week year), not 4"),
    ("cron(0 3 * * ? * *)", "not 7"),
    ("cron(60 3 * * ? *)", "minutes are 0-59"),
    ("cron(0 24 * * ? *)", "hours are 0-23"),
    ("cron(0 3 32 * ? *)", "day-of-month is 1-31"),
    ("cron(0 3 0 * ? *)", "day-of-month is 1-31"),
    ("cron(0 3 * 13 ? *)", "month is 1-12 or JAN-DEC"),
    ("cron(0 3 ? * 8 *)", "day-of-week is 1-7 or SUN-SAT"),
    ("cron(0 3 ? * 2#6 *)", "day-of-week is 1-7 or SUN-SAT"),
    ("cron(0 3 * * ? 1969)", "year is 1970-2199"),
    ("cron(0 3W * * ? *)", "hours are 0-23 with , - * /"),
    ("cron(0 3 2#1 * ? *)", "day-of-month is 1-31 with , - * ? / L W"),
    ("cron(0 3 * L ? *)", "month is 1-12 or JAN-DEC with , - * /"),
    ("cron(*/0 3 * * ? *)", "minutes are 0-59"),
    ("cron(0 3 * * ? *", "cron(0 3 * * ? *), rate(6 hours) or at(2030-01-01T00:00:00)"),
    ("rate(0 minutes)", "a positive whole number"),
    ("rate(-5 minutes)", "a positive whole number"),
    ("rate(1 week)", "minute(s), hour(s) or day(s)"),
    ("at(2030-02-30T00:00:00)", "not a real date and time"),
    ("at(2030-01-01 00:00:00)", "at(yyyy-mm-ddThh:mm:ss)"),
    ("at(2030-01-01T24:00:00)", "not a real date and time"),
    # Scheduler's cron table gives day-of-week , - * ? L # and no / (increments).
    ("cron(0 3 ? * */2 *)", "day-of-week is 1-7 or SUN-SAT with , - * ? L #"),
    ("cron(0 3 ? * MON-FRI/2 *)", "day-of-week is 1-7 or SUN-SAT with , - * ? L #"),
    ("cron(0 3 ? * 2/2 *)", "day-of-week is 1-7 or SUN-SAT with , - * ? L #"),
    # Digits and names in ASCII only (str.isdigit and str.upper take more).
    ("cron(0 ³ * * ? *)", "hours are 0-23"),
    ("cron(0 ٣ * * ? *)", "hours are 0-23"),
    ("cron(*/² 3 * * ? *)", "minutes are 0-59"),
    ("cron(0 3 ? * ſun *)", "day-of-week is 1-7 or SUN-SAT"),
    ("rate(٣ hours)", "a positive whole number"),
    ("at(٢٠٣٠-01-01T00:00:00)", "at(yyyy-mm-ddThh:mm:ss)"),
])
def test_schedule_expressions_eventbridge_scheduler_refuses(expression, hint):
    found = [p for p in problems(valid(scheduledTasks={"job": {"service": "web", "schedule": expression}}))
             if p.startswith("scheduledTasks.job.schedule: ")]
    assert len(found) == 1 and hint in found[0], found
    assert found[0].startswith(f"scheduledTasks.job.schedule: '{expression}' ")


# -- Values AWS refuses: CIDRs, certificates, access logs -------------------------------------

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"


@pytest.mark.parametrize("raw, key, message", [
    (valid(loadBalancer={"allowedCidrs": ["10.0.0.0"]}), "loadBalancer.allowedCidrs[0]",
     "'10.0.0.0' has no prefix length (write '10.0.0.0/32' for that one address)"),
    (valid(loadBalancer={"allowedCidrs": ["203.0.113.7/24"]}), "loadBalancer.allowedCidrs[0]",
     "'203.0.113.7/24' has host bits set, which AWS refuses (did you mean '203.0.113.0/24'?)"),
    (valid(network={"vpcCidr": "10.0.0.0"}), "network.vpcCidr",
     "'10.0.0.0' has no prefix length (write e.g. '10.0.0.0/16')"),
    (valid(network={"vpcCidr": "10.0.1.0/16"}), "network.vpcCidr",
     "'10.0.1.0/16' has host bits set, which AWS refuses (did you mean '10.0.0.0/16'?)"),
    (valid(loadBalancer={"certificateArn": CERT.replace("us-east-1", "eu-west-1")}), "loadBalancer.certificateArn",
     f"'{CERT.replace('us-east-1', 'eu-west-1')}' is from another region than the stack's aws:region us-east-1; "
     "an ALB uses only ACM certificates from its own region: request or import one there (it is in eu-west-1)"),
    (valid(loadBalancer={"certificateArn": CERT.replace("arn:aws:", "arn:aws-cn:")}), "loadBalancer.certificateArn",
     "is not an ARN of the aws partition, which us-east-1 belongs to"),
    (valid(loadBalancer={"certificateArn": CERT.replace("0f1e2d3c-", "")}), "loadBalancer.certificateArn",
     "is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/UUID)"),
    (valid(loadBalancer={"certificateArn": CERT.replace("123456789012", "12345")}), "loadBalancer.certificateArn",
     "is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/UUID)"),
    (valid(loadBalancer={"accessLogsBucket": "logs-bucket", "accessLogsPrefix": "alb/AWSLogs"}),
     "loadBalancer.accessLogsPrefix", "'alb/AWSLogs' contains AWSLogs, which ELB adds itself and refuses in a prefix"),
    (valid(loadBalancer={"accessLogsBucket": "logs-bucket", "accessLogsPrefix": "/alb"}),
     "loadBalancer.accessLogsPrefix", "'/alb' starts or ends with /, which ELB refuses (write alb/prod, not /alb/prod/)"),
    (valid(loadBalancer={"accessLogsBucket": "logs-bucket", "accessLogsPrefix": "alb/"}),
     "loadBalancer.accessLogsPrefix", "starts or ends with /"),
    (valid(loadBalancer={"accessLogsBucket": "Logs_Bucket"}), "loadBalancer.accessLogsBucket",
     "'Logs_Bucket' is not an S3 bucket name: 3 to 63 lowercase letters, digits, . and -, starting and ending "
     "with a letter or digit"),
    (valid(loadBalancer={"accessLogsBucket": "my..logs"}), "loadBalancer.accessLogsBucket", "two adjacent periods"),
    (valid(loadBalancer={"accessLogsBucket": "192.168.5.4"}), "loadBalancer.accessLogsBucket", "an IP address"),
    (valid(loadBalancer={"accessLogsBucket": "xn--logs"}), "loadBalancer.accessLogsBucket", "starts with xn--"),
    (valid(loadBalancer={"accessLogsBucket": "sthree-logs"}), "loadBalancer.accessLogsBucket", "starts with sthree-"),
    (valid(loadBalancer={"accessLogsBucket": "logs-s3alias"}), "loadBalancer.accessLogsBucket", "ends with -s3alias"),
    (valid(loadBalancer={"accessLogsBucket": "logs--x-s3"}), "loadBalancer.accessLogsBucket", "ends with --x-s3"),
    # ASCII digits only: ² passes str.isdigit() and then crashed int(); ١٦ would have read as 16.
    (valid(network={"vpcCidr": "10.0.0.0/²"}), "network.vpcCidr", "the prefix length is 0 to 32"),
    (valid(loadBalancer={"allowedCidrs": ["10.0.0.0/١٦"]}), "loadBalancer.allowedCidrs[0]", "the prefix length is 0 to 32"),
    (valid(loadBalancer={"certificateArn": CERT.replace("123456789012", "١٢٣٤٥٦٧٨٩٠١٢")}), "loadBalancer.certificateArn",
     "is not an ACM certificate ARN"),
    (valid(services={"web": {**WEB, "port": "８０"}}), "services.web.port", "expected a whole number"),
    (valid(services={"web": {**WEB, "priority": "²"}}), "services.web.priority", "expected a whole number"),
    (valid(services={"web": {**WEB, "secrets": {"DB": "arn:aws:ssm:us-east-1:١٢٣٤٥٦٧٨٩٠١٢:parameter/db"}}}),
     "services.web.secrets.DB", "SSM parameter ARN"),
    (valid(services={"web": {**WEB, "taskRoleStatements": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3::١٢٣٤٥٦٧٨٩٠١٢:x"}]}}),
     "services.web.taskRoleStatements[0].Resource", "is not an ARN"),
])
def test_values_aws_would_refuse_are_reported_before_deploying(raw, key, message):
    found = [p for p in problems(raw) if p.startswith(f"{key}: ")]
    assert len(found) == 1 and message in found[0], found


def test_values_aws_accepts_still_pass():
    parse(valid(network={"vpcCidr": "10.8.0.0/16"},
                loadBalancer={"certificateArn": CERT, "allowedCidrs": ["203.0.113.7/32", "0.0.0.0/0"],
                              "accessLogsBucket": "my.logs-bucket", "accessLogsPrefix": "alb/prod"}),
          project="p", stack="s", region="us-east-1")
    parse(valid(loadBalancer={"certificateArn": CERT.replace("arn:aws:", "arn:aws-cn:").replace("us-east-1",
                                                                                               "cn-north-1")}),
          project="p", stack="s", region="cn-north-1")


# -- Empty entries are errors, never a silently dropped (and so deleted) service --------------

@pytest.mark.parametrize("raw, key, message", [
    (valid(services={"web": None}), "services.web",
     "empty; a service needs at least an image (image, imageTag or build)"),
    (valid(services={"web": WEB, "worker": None}), "services.worker",
     "empty; a service needs at least an image (image, imageTag or build)"),
    (valid(scheduledTasks={"nightly": None}), "scheduledTasks.nightly",
     "empty; a scheduled task needs a schedule and a service to reuse or an image (image, imageTag or build)"),
    (valid(services={}), "services", "required: at least one service"),
    # The CLI passes a top-level key left empty in the stack file as "" (and warns).
    (valid(services=""), "services", "required: at least one service"),
])
def test_an_empty_service_or_job_is_an_error_naming_it(raw, key, message):
    matching = [p for p in problems(raw) if p.startswith(f"{key}: ")]
    assert len(matching) == 1 and matching[0].startswith(f"{key}: {message}"), matching


def test_every_aws_config_key_the_provider_reads_maps_to_a_provider_argument():
    """The provider's own config module lists the keys in the CLI's spelling."""
    import inspect
    import re

    import pulumi_aws

    source = inspect.getsource(pulumi_aws.config.vars)
    keys = set(re.findall(r"__config__\.get[a-z_]*\('([A-Za-z0-9]+)'\)", source))
    assert len(keys) > 30
    arguments = set(inspect.signature(pulumi_aws.Provider._internal_init).parameters)
    assert {key: settings._snake(key) for key in keys if settings._snake(key) not in arguments} == {}
    assert all(settings._camel(settings._snake(key)) == key for key in keys)


# -- Secret values are never echoed -----------------------------------------------------------

SECRET = "Hunter2-s3cr3t"


def svc(**keys):
    return {"services": {"web": {**WEB, **keys}}}


@pytest.mark.parametrize("raw, secret_key", [
    (svc(secrets={"DB": SECRET}), "services"),
    (svc(environment={"TOKEN": [SECRET]}), "services"),
    (svc(image=f"{SECRET} not a ref"), "services"),
    (svc(memory=SECRET), "services"),
    (svc(cpu="512", memory="513"), "services"),
    (svc(command=SECRET), "services"),
    (svc(writablePaths=[f"/{SECRET}.x", f"/{SECRET}-x"]), "services"),
    (svc(taskRoleStatements=[{"Effect": "Allow", "Action": SECRET, "Resource": "*"}]), "services"),
    (svc(taskRoleStatements=SECRET), "services"),
    (svc(image=None, build={"context": f"./{SECRET}"}), "services"),
    (svc(architecture=SECRET), "services"),
    (svc(pathPatterns=[f"{SECRET}/*"]), "services"),
    (svc(autoscaling={"minCount": "5", "maxCount": "2"}), "services"),
    ({"services": {"web": {**WEB, "priority": "4242"}, "api": {**WEB, "pathPatterns": ["/a/*"], "priority": "4242"}}},
     "services"),
    ({"services": {"web": WEB}, "scheduledTasks": {"job": {"service": SECRET, "schedule": f"cron({SECRET})"}}},
     "scheduledTasks"),
    ({"services": {"web": WEB}, "scheduledTasks": {"job": {"service": "web", "schedule": "rate(1 day)",
                                                           "timezone": "Europe/Berln"}}}, "scheduledTasks"),
    ({"services": {"web": WEB}, "loadBalancer": {"allowedCidrs": ["10.99.88.77/16"]}}, "loadBalancer"),
    ({"services": {"web": WEB}, "loadBalancer": {"certificateArn": CERT.replace("us-east-1", "eu-west-3")}},
     "loadBalancer"),
    ({"services": {"web": WEB}, "network": {"vpcCidr": "10.99.0.0/8"}}, "network"),
    ({"services": {"web": WEB}, "network": {"vpcCidr": "10.99.0.0/26", "natGateways": "single"}}, "network"),
    ({"services": {"web": WEB}, "tags": {"team": [SECRET]}}, "tags"),
    ({"services": {"web": WEB}, "registry": SECRET}, "registry"),
])
def test_a_secret_config_value_is_never_echoed(raw, secret_key):
    """The engine marks a whole top-level key secret when any value in it is (`--secret --path`)."""
    with pytest.raises(SettingsError) as caught:
        parse({"environment": "dev", **raw}, project="p", stack="s", region="us-east-1", secret_keys={secret_key})
    message = str(caught.value)
    assert "<secret>" in message, message
    for leak in (SECRET, "Berln", "10.99", "eu-west-3", "4242", "513"):
        assert leak not in message, message


def test_a_secret_environment_or_region_is_never_echoed():
    with pytest.raises(SettingsError) as caught:
        parse(valid(environment=SECRET), project="p", stack="s", region=SECRET,
              secret_keys={"environment", "aws:region"})
    assert caught.value.problems == ["environment: <secret> is not one of: dev, staging, prod",
                                     "aws:region: <secret> is not an AWS region name like us-east-1"]


@pytest.mark.parametrize("certificate", [CERT.replace("us-east-1", "eu-west-3"),
                                         CERT.replace("arn:aws:", "arn:aws-cn:").replace("us-east-1", "cn-north-1")])
def test_a_secret_region_is_not_echoed_by_the_certificate_check(certificate):
    with pytest.raises(SettingsError) as caught:
        parse(valid(loadBalancer={"certificateArn": certificate}), project="p", stack="s", region="eu-south-2",
              secret_keys={"aws:region"})
    [found] = caught.value.problems
    assert "eu-south-2" not in found and "<secret>" in found, found


def test_a_secret_job_does_not_echo_the_service_it_reuses():
    with pytest.raises(SettingsError) as caught:
        parse(valid(services={"hunter": {"image": "nginx:1", "architecture": "ARM64"}},
                    scheduledTasks={"job": {"service": "hunter", "schedule": "rate(1 day)",
                                            "capacityProvider": "FARGATE_SPOT"}}),
              project="p", stack="s", region="us-east-1", secret_keys={"scheduledTasks"})
    assert caught.value.problems == ["scheduledTasks.job.capacityProvider: FARGATE_SPOT does not run ARM64 tasks, "
                                     "and the service it reuses (<secret>) is ARM64; use FARGATE"]


def test_secret_keys_reach_the_program_from_the_engine(monkeypatch):
    """`pulumi up` lists the secret keys in PULUMI_CONFIG_SECRET_KEYS; mocks pass them directly."""
    from preflight.render import render

    from testkit import ROOT

    config = {"aws:region": "us-east-1", "ecs-fargate:environment": "dev",
              "ecs-fargate:services": {"web": {**WEB, "secrets": {"DB": SECRET}}}}
    with pytest.raises(SettingsError) as caught:
        render(ROOT, project="ecs-fargate", stack="test", config=config, secret_keys=("ecs-fargate:services",))
    assert SECRET not in str(caught.value) and "services.web.secrets.DB: <secret> is not" in str(caught.value)
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", '["ecs-fargate:services"]')
    with pytest.raises(SettingsError) as caught:
        render(ROOT, project="ecs-fargate", stack="test", config=config)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("raw, key", [
    (valid(services={1: WEB}), "services.1"),
    (valid(services={"web": {**WEB, "environment": {200: "x", "A": "b"}}}), "services.web.environment.200"),
    (valid(services={"web": WEB}, tags={True: "x"}), "tags.true"),
    (valid(services={"web": {**WEB, "taskRoleStatements": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                             "Resource": "*", "Condition": {1: {}}}]}}),
     "services.web.taskRoleStatements[0].Condition.1"),
])
def test_a_non_string_key_anywhere_is_an_error_naming_it(raw, key):
    found = problems(raw)
    shown = key.rsplit(".", 1)[-1]
    assert f"{key}: the key {shown} is not a string; quote it: '{shown}'" in found, found


# -- Container Insights ------------------------------------------------------------------------

def insights(rendering) -> str:
    cluster = rendering.one("aws:ecs/cluster:Cluster")
    [setting] = [s for s in cluster.inputs["settings"] if s["name"] == "containerInsights"]
    return setting["value"]


@pytest.mark.parametrize("environment, expected", [("dev", "disabled"), ("staging", "enabled"), ("prod", "enabled")])
def test_container_insights_default_follows_the_environment(environment, expected):
    rendering = render_config({"ecs-fargate:environment": environment, "ecs-fargate:services": {"web": WEB}})
    assert insights(rendering) == expected
    assert parse(valid(environment=environment), project="p", stack="s",
                 region="us-east-1").cluster.container_insights == expected


def test_container_insights_can_be_set_per_stack():
    rendering = render_config({"ecs-fargate:environment": "dev", "ecs-fargate:services": {"web": WEB},
                               "ecs-fargate:cluster": {"containerInsights": "enhanced"}})
    assert insights(rendering) == "enhanced"


def test_container_insights_values_are_checked():
    assert problems(valid(cluster={"containerInsights": "on"})) == [
        "cluster.containerInsights: 'on' is not one of: disabled, enabled, enhanced"]
    assert problems(valid(cluster={"containerInsight": "enabled"})) == [
        "cluster.containerInsight: unknown key; did you mean 'containerInsights'? valid keys: containerInsights"]


def test_the_cluster_component_refuses_an_unknown_container_insights_value():
    from components import ArgsError, Cluster, ClusterArgs

    # Refused when the component is created, before anything is registered, with the value and
    # every valid one (ClusterArgs itself no longer raises: Args are checked all at once).
    with pytest.raises(ArgsError) as caught:
        Cluster("cluster", ClusterArgs(container_insights="on"))
    assert caught.value.problems == ["container_insights: 'on' is not one of: disabled, enabled, enhanced"]


def test_settings_and_the_cluster_component_agree_on_container_insights_values():
    from components import cluster

    # The key reads its choices from the component's field.
    assert settings.declared(settings.CLUSTER, "containerInsights").choices == cluster.CONTAINER_INSIGHTS


# -- Regions and partitions --------------------------------------------------------------------

def test_the_partition_table_is_botocores():
    """botocore is not a dependency of the program, so settings keeps its own copy of the
    partitions and their region patterns; this catches the day botocore's changes."""
    import json
    from pathlib import Path

    import botocore

    shipped = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    assert {(p["id"], p["regionRegex"]) for p in shipped["partitions"]} == set(settings.PARTITIONS)
    for partition in shipped["partitions"]:
        for region in partition["regions"]:
            if region.endswith("-global"):
                continue  # an endpoint name, not a region one deploys to
            assert settings._partition(region) == partition["id"], region
            parse(valid(), project="p", stack="s", region=region)


@pytest.mark.parametrize("region, partition", [
    ("eusc-de-east-1", "aws-eusc"), ("us-isof-south-1", "aws-iso-f"), ("eu-isoe-west-1", "aws-iso-e"),
    ("us-isob-east-1", "aws-iso-b"), ("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn"),
    ("mx-central-1", "aws"),
])
def test_certificates_must_come_from_the_regions_own_partition(region, partition):
    cert = CERT.replace("us-east-1", region)
    parse(valid(loadBalancer={"certificateArn": cert.replace("arn:aws:", f"arn:{partition}:")}),
          project="p", stack="s", region=region)
    if partition != "aws":
        found = problems(valid(loadBalancer={"certificateArn": cert}), region=region)
        assert found == [f"loadBalancer.certificateArn: '{cert}' is not an ARN of the {partition} partition, which "
                         f"{region} belongs to"], found


@pytest.mark.parametrize("region", ["US-EAST-1", "us-east-1\n", "xx-east-1", "us-east", "us_east-1", "us-east-١"])
def test_names_no_partition_has_are_not_regions(region):
    assert any(p.startswith("aws:region: ") and "not an AWS region name" in p for p in problems(valid(), region=region))


def test_tags_every_service_of_the_stack_accepts_pass():
    settings = parse(valid(tags={"Équipe": "Données clients", "cost:center": "r+d/42=ok@x", "k" * 127: "v" * 256}),
                     project="p", stack="s", region="us-east-1")
    assert settings.tags["Équipe"] == "Données clients"


def test_provider_default_tags_are_held_to_the_same_rules():
    found = problems(valid(), region="us-east-1", aws_config={"defaultTags": {"tags": {"Team": "R&D"}}})
    assert [p for p in found if p.startswith("aws:defaultTags.tags.Team: ")], found
