"""preflight: our stacks and a foreign program, judged by the pack with the engine's semantics."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from testkit import ROOT, SHIPPED_STACKS
from preflight.__main__ import main

LEGACY = ROOT / "tests" / "fixtures" / "legacy-program"
PROGRAM_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "__main__.py", "settings.py")


def preflight(capsys, *args: str) -> tuple[int, dict]:
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def project_copy(tmp_path: Path, stack: str, change) -> Path:
    """Our program in a temporary directory, with `change(config)` applied to one stack file."""
    for name in PROGRAM_FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    for directory in ("components", "app"):
        shutil.copytree(ROOT / directory, tmp_path / directory, ignore=shutil.ignore_patterns("__pycache__"))
    stack_file = tmp_path / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(stack_file.read_text())
    change(document["config"])
    stack_file.write_text(yaml.safe_dump(document))
    return tmp_path


def with_api_image(**image):
    def change(config):
        api = config["ecs-fargate:services"].get("api") or config["ecs-fargate:services"]["web"]
        for key in ("image", "imageTag", "build"):
            api.pop(key, None)
        api.update(image)
    return change


def violations(document: dict, policy: str) -> list[dict]:
    return [v for v in document["violations"] if v["policy"] == policy]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
@pytest.mark.parametrize("preview", [False, True])
def test_shipped_stacks_have_no_mandatory_violation(capsys, stack, preview):
    code, document = preflight(capsys, "--stack", stack, "--cwd", str(ROOT), *(["--preview"] if preview else []))
    assert document["summary"]["mandatory"] == 0, [v for v in document["violations"]
                                                   if v["enforcementLevel"] == "mandatory"]
    assert code == 0
    assert document["environment"] == stack
    assert document["policyConfig"].endswith(f"policies/config/{stack}.json")


@pytest.mark.parametrize("preview", [False, True])
@pytest.mark.parametrize("image", [{"imageTag": "latest"}, {"image": "public.ecr.aws/nginx/nginx"}])
def test_latest_or_untagged_image_fails_prod(capsys, tmp_path, image, preview):
    program = project_copy(tmp_path, "prod", with_api_image(**image))
    code, document = preflight(capsys, "--stack", "prod", "--cwd", str(program), *(["--preview"] if preview else []))
    assert code == 1
    [violation] = violations(document, "ecs-image-no-latest-tag")
    assert violation["enforcementLevel"] == "mandatory"
    assert violation["urn"].endswith("aws:ecs/taskDefinition:TaskDefinition::api-task")


@pytest.mark.parametrize("image", [{"imageTag": "latest"}, {"image": "public.ecr.aws/nginx/nginx"}])
def test_latest_in_dev_is_only_advisory(capsys, tmp_path, image):
    program = project_copy(tmp_path, "dev", with_api_image(**image))
    code, document = preflight(capsys, "--stack", "dev", "--cwd", str(program))
    assert code == 0
    [violation] = violations(document, "ecs-image-no-latest-tag")
    assert violation["enforcementLevel"] == "advisory"


def test_disabled_rules_are_skipped_and_all_escalates(capsys, tmp_path):
    program = project_copy(tmp_path, "prod", with_api_image(imageTag="latest"))
    disabled = tmp_path / "disabled.json"
    disabled.write_text(json.dumps({"ecs-image-no-latest-tag": {"enforcementLevel": "disabled"}}))
    code, document = preflight(capsys, "--stack", "prod", "--cwd", str(program), "--policy-config", str(disabled))
    assert violations(document, "ecs-image-no-latest-tag") == []
    # Without the prod file, every other rule runs at its default level: the pack's own choice.
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"all": "mandatory"}))
    code, document = preflight(capsys, "--stack", "dev", "--cwd", str(ROOT), "--policy-config", str(strict))
    assert code == 1, "dev's advisories become mandatory under all: mandatory"
    assert {v["enforcementLevel"] for v in document["violations"]} == {"mandatory"}


def test_rule_config_comes_from_the_file_and_is_validated(capsys, tmp_path):
    config = json.loads((ROOT / "policies" / "config" / "prod.json").read_text())
    config["ecs-service-min-tasks"] = {"enforcementLevel": "mandatory", "minimum": 4}
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(config))
    code, document = preflight(capsys, "--stack", "prod", "--cwd", str(ROOT), "--policy-config", str(path))
    assert code == 1
    assert {v["urn"].rsplit("::", 1)[-1] for v in violations(document, "ecs-service-min-tasks")} == \
        {"api-service", "worker-service"}

    config["ecs-service-min-tasks"]["minimum"] = "two"
    path.write_text(json.dumps(config))
    assert main(["--stack", "prod", "--cwd", str(ROOT), "--policy-config", str(path)]) == 2
    assert "ecs-service-min-tasks: minimum: 'two' is not of type 'integer'" in capsys.readouterr().err


def test_a_foreign_program_is_judged_by_the_same_pack(capsys):
    code, document = preflight(capsys, "--stack", "test", "--cwd", str(LEGACY),
                               "--policy-config", str(ROOT / "policies" / "config" / "prod.json"))
    assert code == 1
    assert document["project"] == "legacy-api"
    found = {(v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in document["violations"]
             if v["enforcementLevel"] == "mandatory"}
    assert {("ecs-taskdef-execution-role-required", "app"), ("ecs-image-no-latest-tag", "app"),
            ("ecs-taskdef-logging", "app"), ("ecr-scan-on-push", "images"), ("ecr-immutable-tags", "images"),
            ("iam-ecs-trust-scoped", "app")} <= found, found
    assert any(policy == "ecr-lifecycle-policy" for policy, _ in found)


def test_secure_config_values_travel_as_secrets_and_still_reach_the_rules(capsys):
    """A `secure:` value reaches the program as a placeholder marked secret, as the engine would."""
    from preflight.render import render
    from preflight.stack_config import SECRET_PLACEHOLDER, load_stack_config

    loaded = load_stack_config(LEGACY, "test")
    assert loaded.config["legacy-api:dbPassword"] == SECRET_PLACEHOLDER
    assert loaded.secret_keys == ("legacy-api:dbPassword",)
    rendering = render(LEGACY, project=loaded.project, stack="test", config=loaded.config,
                       secret_keys=loaded.secret_keys)
    wire = rendering.one("aws:ecs/taskDefinition:TaskDefinition").wire_inputs["containerDefinitions"]
    assert wire["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270", \
        "the container definitions hold a secret, so the engine sends them as a secret value"
    code, document = preflight(capsys, "--stack", "test", "--cwd", str(LEGACY),
                               "--policy-config", str(ROOT / "policies" / "config" / "prod.json"))
    [plaintext] = violations(document, "ecs-taskdef-no-plaintext-secrets")
    assert "DB_PASSWORD" in plaintext["message"]


def test_broken_config_exits_2_with_one_message(capsys, tmp_path):
    def break_memory(config):
        config["ecs-fargate:services"]["api"]["memory"] = 3000
    program = project_copy(tmp_path, "prod", break_memory)
    assert main(["--stack", "prod", "--cwd", str(program)]) == 2
    err = capsys.readouterr().err
    assert "services.api.memory: 3000 is not a valid Fargate memory size for cpu 512" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["--stack", "nope"], "Pulumi.nope.yaml: not found"),
    (["--stack", "prod", "--policy-pack", "/nonexistent"], "no __main__.py"),
])
def test_missing_inputs_exit_2(capsys, args, message):
    assert main([*args, "--cwd", str(ROOT)]) == 2
    assert message in capsys.readouterr().err


def test_a_crashing_program_names_its_own_line(capsys, tmp_path):
    shutil.copy(LEGACY / "Pulumi.yaml", tmp_path)
    shutil.copy(LEGACY / "Pulumi.test.yaml", tmp_path)
    (tmp_path / "__main__.py").write_text("import pulumi\n\nvalue = {}['missing']\n")
    assert main(["--stack", "test", "--cwd", str(tmp_path), "--policy-config",
                 str(ROOT / "policies" / "config" / "dev.json")]) == 2
    assert "the program failed (at __main__.py:3): KeyError: 'missing'" in capsys.readouterr().err


def test_cli_as_a_process_prints_a_report_and_exit_codes(tmp_path):
    """The real entry point, as CI calls it: text report, summary line, status 1 on a violation."""
    program = project_copy(tmp_path, "prod", with_api_image(imageTag="latest"))
    result = subprocess.run([sys.executable, "-m", "preflight", "--stack", "prod", "--cwd", str(program)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Mandatory violations (1)" in result.stdout
    assert "[ecs-image-no-latest-tag] aws:ecs/taskDefinition:TaskDefinition api-task" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("Summary: 92 resources, 1 mandatory")
    assert "Traceback" not in result.stderr


def test_print_policy_config_names_the_environments_file(capsys):
    assert main(["--stack", "prod", "--cwd", str(ROOT), "--policy-pack", "policies", "--print-policy-config"]) == 0
    assert capsys.readouterr().out.strip() == "policies/config/prod.json"


def foreign_program(tmp_path: Path, main_py: str, stack_yaml: str = "config: {}\n", stack: str = "test") -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: scratch\nruntime: python\n")
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(stack_yaml)
    (tmp_path / "__main__.py").write_text(main_py)
    return tmp_path


DEV_CONFIG = str(ROOT / "policies" / "config" / "dev.json")


def test_duplicate_urns_fail_as_in_the_engine(capsys, tmp_path):
    program = foreign_program(tmp_path, "import pulumi_aws as aws\n"
                                        "aws.ecr.Repository('images')\naws.ecr.Repository('images')\n")
    assert main(["--stack", "test", "--cwd", str(program), "--policy-config", DEV_CONFIG]) == 2
    assert "Duplicate resource URN 'urn:pulumi:test::scratch::aws:ecr/repository:Repository::images'" \
        in capsys.readouterr().err


def test_autonames_over_the_types_limit_fail_as_the_provider_would(capsys, tmp_path):
    program = foreign_program(tmp_path, "import pulumi_aws as aws\n"
                                        "aws.lb.TargetGroup('a-rather-long-target-group-name', port=80, "
                                        "protocol='HTTP', target_type='ip', vpc_id='vpc-1')\n")
    assert main(["--stack", "test", "--cwd", str(program), "--policy-config", DEV_CONFIG]) == 2
    assert "plus 7 random chars is longer than maximum length 32" in capsys.readouterr().err


def test_nested_secure_values_are_placeholders_and_mark_the_key_secret(tmp_path):
    from preflight.stack_config import SECRET_PLACEHOLDER, load_stack_config

    program = foreign_program(tmp_path, "", "config:\n  scratch:db:\n    user: app\n"
                                            "    password:\n      secure: AAAB\n")
    loaded = load_stack_config(program, "test")
    assert loaded.config["scratch:db"] == {"user": "app", "password": SECRET_PLACEHOLDER}
    assert loaded.secret_keys == ("scratch:db",)


def test_stack_rules_see_component_outputs_and_stack_exports():
    from preflight.render import render
    from preflight.stack_config import load_stack_config

    loaded = load_stack_config(ROOT, "prod")
    rendering = render(ROOT, project=loaded.project, stack="prod", config=loaded.config)
    cluster = rendering.one("ecs-fargate:index:Cluster")
    assert cluster.outputs["arn"] == rendering.one("aws:ecs/cluster:Cluster").outputs["arn"]
    stack = rendering.one("pulumi:pulumi:Stack")
    assert stack.outputs["environment"] == "prod" and "url" in stack.wire_outputs


def crashing_pack(tmp_path: Path, level: str = "mandatory") -> Path:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "__main__.py").write_text(
        "from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy\n"
        "def validate(args, report):\n"
        "    if args.resource_type == 'aws:ecr/repository:Repository':\n"
        "        {}['boom']\n"
        f"PolicyPack('crashing', [ResourceValidationPolicy(name='crash', description='d', "
        f"validate=validate, enforcement_level=EnforcementLevel('{level}'))])\n")
    return pack


def test_a_crashing_rule_is_a_broken_pack_exit_2(capsys, tmp_path):
    assert main(["--stack", "dev", "--cwd", str(ROOT), "--policy-pack", str(crashing_pack(tmp_path)),
                 "--policy-config", DEV_CONFIG, "--json"]) == 2
    captured = capsys.readouterr()
    assert "the policy pack crashed: KeyError: 'boom'" in captured.err
    assert json.loads(captured.out)["error"].startswith("the policy pack crashed")


def test_remediation_levels_are_refused_rather_than_ignored(capsys, tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    assert main(["--stack", "dev", "--cwd", str(ROOT), "--policy-pack", str(crashing_pack(tmp_path, "remediate")),
                 "--policy-config", str(empty)]) == 2
    assert "preflight cannot run remediations (crash)" in capsys.readouterr().err


def test_first_preview_of_prod_skips_exactly_the_rules_that_need_unknown_values(capsys):
    code, document = preflight(capsys, "--stack", "prod", "--cwd", str(ROOT), "--preview")
    skipped = sorted((s["policy"], s["urn"].rsplit("::", 1)[-1]) for s in document["skipped"])
    # Role ARNs and security group ids exist only once created; everything else is judged.
    # aws-api-constraints judges every known value and notes the ones made of other resources'
    # outputs (ARNs, ids); generated names are known in a first preview, as the provider's Check
    # makes them then.
    assert skipped == [
        # The rollback alarms' metric queries name both target groups by ARN suffix.
        ("aws-api-constraints", "api-5xx"), ("aws-api-constraints", "api-5xx-rate"), ("aws-api-constraints", "api-p99"),
        # The canary's alternate target group, production rule and infrastructure role, by ARN (the
        # test rule is optional, so no constraint needs its ARN).
        ("aws-api-constraints", "api-service"),
        ("aws-api-constraints", "nightly-import-schedule"),
        ("aws-api-constraints", "nightly-import-scheduler-run"),
        ("aws-api-constraints-stack", "ecs-fargate-prod"),  # the size of a policy made of ARNs
        # The api's image is in the stack's own ECR, whose account comes from the execution role's ARN.
        ("ecs-image-allowed-registries", "api-task"),
        ("ecs-taskdef-distinct-roles", "api-task"), ("ecs-taskdef-distinct-roles", "worker-task"),
        ("iam-no-privilege-escalation", "ecs-fargate-prod"),  # the scheduler's PassRole names role ARNs
        ("iam-no-wildcard-admin", "nightly-import-scheduler-run")]


@pytest.mark.parametrize("preview", [False, True])
@pytest.mark.parametrize("stack, violating", [("open", True), ("closed", False)])
def test_task_ingress_is_judged_even_before_the_groups_exist(capsys, stack, violating, preview):
    """In a first preview no security group id is known; the rule follows the engine's property
    dependencies instead, so an open task group is caught before it is ever created."""
    program = ROOT / "tests" / "fixtures" / "open-ingress-program"
    code, document = preflight(capsys, "--stack", stack, "--cwd", str(program), "--policy-config",
                               str(ROOT / "policies" / "config" / "prod.json"), *(["--preview"] if preview else []))
    found = violations(document, "sg-task-ingress-from-alb-only")
    assert [s for s in document["skipped"] if s["policy"] == "sg-task-ingress-from-alb-only"] == []
    if violating:
        [violation] = found
        assert violation["enforcementLevel"] == "mandatory"
        assert violation["urn"].endswith("SecurityGroupIngressRule::task-in")
        assert "admits 0.0.0.0/0 (cidrIpv4)" in violation["message"]
    else:
        assert found == []


@pytest.mark.parametrize("case, update_finding", [
    ("vpc-default", "admits security group sg-"),
    ("inline-mixed", "admits security group sg-"),
    ("known-and-new", "task security group sg-0aaaaaaaaaaaaaaaa admits 0.0.0.0/0 (cidrIpv4)"),
])
def test_task_ingress_never_passes_a_first_preview_it_cannot_see(capsys, case, update_finding):
    """Where a source group's origin is ambiguous before deployment (an output of a VPC, an
    inline list shared by several rules, a mix of known and new groups), the rule reports what
    it can see and is otherwise skipped, never passed; after deployment it reports the finding."""
    program = ROOT / "tests" / "fixtures" / "ambiguous-ingress-program"
    prod_config = str(ROOT / "policies" / "config" / "prod.json")
    _, update = preflight(capsys, "--stack", case, "--cwd", str(program), "--policy-config", prod_config)
    [finding] = violations(update, "sg-task-ingress-from-alb-only")
    assert update_finding in finding["message"]
    _, first = preflight(capsys, "--stack", case, "--cwd", str(program), "--policy-config", prod_config, "--preview")
    found = violations(first, "sg-task-ingress-from-alb-only")
    skipped = [s for s in first["skipped"] if s["policy"] == "sg-task-ingress-from-alb-only"]
    assert found or skipped, "a first preview must not pass what it cannot see"
    if case == "known-and-new":
        assert update_finding in found[0]["message"], "the known group is still judged"


def test_a_failed_render_leaves_nothing_behind_for_the_next(tmp_path):
    from preflight.render import render

    # The failure happens inside a registration (as the provider would refuse it), while other
    # registrations and outputs are still in flight.
    failing = foreign_program(tmp_path, "import pulumi_aws as aws\n"
                                        "for i in range(20):\n    aws.ecr.Repository(f'repo{i}')\n"
                                        "aws.lb.TargetGroup('x' * 40, port=80, protocol='HTTP', vpc_id='vpc-1')\n"
                                        "for i in range(20):\n    aws.ecr.Repository(f'later{i}')\n")
    with pytest.raises(Exception, match="longer than maximum length 32"):
        render(failing, project="scratch", stack="test", config={})
    clean = tmp_path / "clean"
    clean.mkdir()
    foreign_program(clean, "import pulumi_aws as aws\naws.ecr.Repository('only')\n")
    rendering = render(clean, project="scratch", stack="test", config={})
    assert [r.name for r in rendering.resources if r.custom] == ["only"]


def test_an_emptied_service_fails_instead_of_passing(capsys, tmp_path):
    """`web:` left without a value would otherwise render no service: `pulumi up` would delete it."""
    def empty_web(config):
        config["ecs-fargate:services"]["web"] = None
    program = project_copy(tmp_path, "dev", empty_web)
    assert "web: null" in (program / "Pulumi.dev.yaml").read_text()
    assert main(["--stack", "dev", "--cwd", str(program)]) == 2
    err = capsys.readouterr().err
    assert "services.web: empty; a service needs at least an image (image, imageTag or build)" in err


def with_environment(value):
    def change(config):
        config["ecs-fargate:environment"] = value
    return change


def test_an_unknown_environment_is_reported_as_the_program_reports_it(capsys, tmp_path):
    program = project_copy(tmp_path, "dev", with_environment("production"))
    assert main(["--stack", "dev", "--cwd", str(program)]) == 2
    err = capsys.readouterr().err
    assert "environment: 'production' is not one of: dev, staging, prod" in err
    assert "no policy config" not in err and "Traceback" not in err


def test_print_policy_config_names_the_key_and_the_valid_environments(capsys, tmp_path):
    program = project_copy(tmp_path, "dev", with_environment("production"))
    assert main(["--stack", "dev", "--cwd", str(program), "--print-policy-config"]) == 2
    err = capsys.readouterr().err
    assert ("ecs-fargate:environment: 'production' has no policy config in the pack; valid: dev, prod, staging "
            "(or pass --policy-config FILE)") in err


@pytest.mark.parametrize("preview", [False, True])
def test_an_autonamed_s3_bucket_has_its_name(capsys, tmp_path, preview):
    """pulumi-aws autonames an S3 bucket's `bucket` (lower-cased, at most 63 characters) in Check, so
    it is known in a first preview too; an access-log bucket given as `bucket.bucket` is a bucket."""
    program = foreign_program(
        tmp_path,
        "import pulumi_aws as aws\n"
        "bucket = aws.s3.Bucket('ALB-Logs')\n"
        "aws.lb.LoadBalancer('lb', internal=True, subnets=['subnet-1', 'subnet-2'], drop_invalid_header_fields=True,\n"
        "    enable_deletion_protection=True, access_logs={'bucket': bucket.bucket, 'enabled': True})\n",
        "config:\n  aws:region: us-east-1\n", stack="prod")
    code, document = preflight(capsys, "--stack", "prod", "--cwd", str(program), "--policy-config",
                               str(ROOT / "policies" / "config" / "prod.json"), *(["--preview"] if preview else []))
    assert [v for v in document["violations"] if v["policy"] == "alb-access-logs"] == []
    assert "alb-access-logs" not in json.dumps(document["skipped"])


@pytest.mark.parametrize("preview", [False, True])
def test_a_stack_reference_is_named_not_a_crash(capsys, tmp_path, preview):
    """Another stack's outputs are unreadable offline: before, get_output crashed the update
    ('NoneType' object has no attribute 'get'); now they are unknown and the reference is named."""
    program = foreign_program(
        tmp_path,
        "import pulumi\nimport pulumi_aws as aws\n"
        "net = pulumi.StackReference('acme/network/prod')\n"
        "aws.ec2.SecurityGroup('sg', vpc_id=net.require_output('vpcId'), description=net.get_output('d').apply(str))\n",
        "config:\n  aws:region: us-east-1\n", stack="prod")
    code, document = preflight(capsys, "--stack", "prod", "--cwd", str(program), *(["--preview"] if preview else []))
    assert code != 2, document
    assert document["answeredWithNothing"] == ["pulumi:pulumi:StackReference acme/network/prod"]
