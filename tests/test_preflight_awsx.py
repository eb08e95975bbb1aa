"""Preflight sees what the engine sees: awsx components expanded into their pulumi_aws children,
data sources answered (get_policy_document computed), components it cannot expand named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from preflight.__main__ import main
from preflight.render import render
from testkit import ROOT

FOREIGN = ROOT / "tests" / "fixtures" / "foreign"
PROD = str(ROOT / "policies" / "config" / "prod.json")


def rendered(program: str, preview: bool = False):
    return render(FOREIGN / program, project=program, stack="test", config={"aws:region": "us-east-1"},
                  preview=preview)


def children(rendering, component_type: str) -> list[tuple[str, str]]:
    """(type, name) of everything under the component, sorted."""
    root = rendering.one(component_type)
    under = {root.urn}
    found = []
    for resource in rendering.resources:
        if resource.parent in under:
            under.add(resource.urn)
            found.append((resource.type, resource.name))
    return sorted(found)


def run(capsys, program: Path | str, *extra: str) -> tuple[int, dict]:
    code = main(["--stack", "test", "--cwd", str(program), "--policy-config", PROD, "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_awsx_vpc_expands_into_awsx_default_layout():
    rendering = rendered("awsx-vpc")
    assert children(rendering, "awsx:ec2:Vpc") == sorted(
        [("aws:ec2/vpc:Vpc", "vpc"), ("aws:ec2/internetGateway:InternetGateway", "vpc")]
        + [(t, f"vpc-{kind}-{i}") for kind in ("private", "public") for i in (1, 2, 3)
           for t in ("aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable",
                     "aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:ec2/route:Route")]
        + [(t, f"vpc-{i}") for i in (1, 2, 3) for t in ("aws:ec2/eip:Eip", "aws:ec2/natGateway:NatGateway")])
    # awsx's Legacy allocation of 10.0.0.0/16 over 3 AZs: /18 per AZ, private /19, public /20.
    cidrs = {r.name: r.inputs["cidrBlock"] for r in rendering.of_type("aws:ec2/subnet:Subnet")}
    assert cidrs == {"vpc-private-1": "10.0.0.0/19", "vpc-public-1": "10.0.32.0/20",
                     "vpc-private-2": "10.0.64.0/19", "vpc-public-2": "10.0.96.0/20",
                     "vpc-private-3": "10.0.128.0/19", "vpc-public-3": "10.0.160.0/20"}
    assert rendering.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"] == "10.0.0.0/16"
    public = rendering.one("aws:ec2/subnet:Subnet", "vpc-public-1")
    assert public.inputs["mapPublicIpOnLaunch"] is True and public.inputs["availabilityZone"] == "us-east-1a"
    route = rendering.one("aws:ec2/route:Route", "vpc-private-2")
    assert route.inputs["natGatewayId"] == rendering.one("aws:ec2/natGateway:NatGateway", "vpc-2").id
    assert rendering.exports["privateSubnetIds"] == [
        rendering.one("aws:ec2/subnet:Subnet", f"vpc-private-{i}").id for i in (1, 2, 3)]


def test_our_stack_vpc_children_are_visible(prod, dev):
    # prod: awsx Auto allocation of the stack's CIDR, a NAT gateway per AZ.
    assert len(prod.of_type("aws:ec2/natGateway:NatGateway")) == len(prod.of_type("aws:ec2/eip:Eip")) >= 2
    assert {r.inputs["tags"]["SubnetType"] for r in prod.of_type("aws:ec2/subnet:Subnet")} == {"Public", "Private"}
    network = next(r for r in prod.resources if r.type == "ecs-fargate:index:Network")
    assert prod.one("awsx:ec2:Vpc").parent == network.urn
    assert dev.not_evaluated == [] and prod.not_evaluated == []


def test_awsx_fargate_example_expands_and_is_judged(capsys):
    rendering = rendered("awsx-fargate")
    assert children(rendering, "awsx:ecs:FargateService") == [
        ("aws:cloudwatch/logGroup:LogGroup", "service"), ("aws:ec2/securityGroup:SecurityGroup", "service-sg"),
        ("aws:ecs/service:Service", "service"), ("aws:ecs/taskDefinition:TaskDefinition", "service"),
        ("aws:iam/role:Role", "service-execution"), ("aws:iam/role:Role", "service-task"),
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "service-execution-9a42f520"),
        ("awsx:ecs:FargateTaskDefinition", "service")]
    assert children(rendering, "awsx:lb:ApplicationLoadBalancer") == [
        ("aws:ec2/securityGroup:SecurityGroup", "lb"), ("aws:lb/listener:Listener", "lb-0"),
        ("aws:lb/loadBalancer:LoadBalancer", "lb"), ("aws:lb/targetGroup:TargetGroup", "lb")]
    task = rendering.one("aws:ecs/taskDefinition:TaskDefinition")
    assert (task.inputs["networkMode"], task.inputs["requiresCompatibilities"]) == ("awsvpc", ["FARGATE"])
    assert (task.inputs["cpu"], task.inputs["memory"]) == ("256", "512")
    [container] = json.loads(task.inputs["containerDefinitions"])
    log_group = rendering.one("aws:cloudwatch/logGroup:LogGroup")
    assert container["logConfiguration"] == {"logDriver": "awslogs", "options": {
        "awslogs-group": log_group.outputs["name"], "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "awsx-ecs"}}
    assert container["portMappings"] == [{"containerPort": 80, "hostPort": 80}]
    execution = rendering.one("aws:iam/role:Role", "service-execution")
    assert task.inputs["executionRoleArn"] == execution.outputs["arn"]
    assert rendering.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs["policyArn"] == (
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
    service = rendering.one("aws:ecs/service:Service")
    target_group = rendering.one("aws:lb/targetGroup:TargetGroup")
    assert service.inputs["loadBalancers"] == [{"containerName": "awsx-ecs", "containerPort": 80,
                                                "targetGroupArn": target_group.outputs["arn"]}]
    assert (service.inputs["launchType"], service.inputs["desiredCount"]) == ("FARGATE", 1)
    assert rendering.one("aws:lb/listener:Listener").inputs["protocol"] == "HTTP"
    assert rendering.exports["url"].startswith("http://lb-") and rendering.exports["url"].endswith(".elb.amazonaws.com")

    code, document = run(capsys, FOREIGN / "awsx-fargate")
    assert code == 1 and document["notEvaluated"] == []
    found = {(v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in document["violations"]}
    assert {("ecs-image-no-latest-tag", "service"), ("alb-https-redirect", "lb-0"),
            ("ecs-service-no-public-ip", "service"), ("logs-retention-set", "service"),
            ("sg-task-ingress-from-alb-only", "service-sg")} <= found


def test_awsx_fargate_example_in_a_first_preview(capsys):
    code, document = run(capsys, FOREIGN / "awsx-fargate", "--preview")
    assert code == 1 and document["notEvaluated"] == []
    assert document["summary"]["mandatory"] >= 10


def test_awsx_ecr_components(tmp_path):
    program = tmp_path / "ecr"
    shutil.copytree(FOREIGN / "awsx-vpc", program)
    (program / "__main__.py").write_text(
        "import pulumi\nimport pulumi_awsx as awsx\n"
        "repo = awsx.ecr.Repository('Repo')\n"
        "image = awsx.ecr.Image('image', repository_url=repo.url, context='./app', platform='linux/amd64')\n"
        "pulumi.export('image', image.image_uri)\n")
    rendering = render(program, project="ecr", stack="test", config={"aws:region": "us-east-1"})
    assert children(rendering, "awsx:ecr:Repository") == [
        ("aws:ecr/lifecyclePolicy:LifecyclePolicy", "repo"), ("aws:ecr/repository:Repository", "repo")]
    policy = json.loads(rendering.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])
    assert policy["rules"][0]["selection"] == {"tagStatus": "untagged", "countType": "imageCountMoreThan",
                                               "countNumber": 1}
    [(typ, _)] = children(rendering, "awsx:ecr:Image")
    assert typ == "docker-build:index:Image"
    repo_url = rendering.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    assert rendering.exports["image"].startswith(f"{repo_url}@sha256:")


def test_a_component_preflight_cannot_expand_is_named_and_fails(capsys, tmp_path):
    program = tmp_path / "nlb"
    shutil.copytree(FOREIGN / "awsx-vpc", program)
    (program / "__main__.py").write_text(
        "import pulumi_awsx as awsx\nawsx.lb.NetworkLoadBalancer('nlb')\n")
    code, document = run(capsys, program)
    assert code == 1
    assert [(n["type"], n["name"]) for n in document["notEvaluated"]] == [("awsx:lb:NetworkLoadBalancer", "nlb")]
    main(["--stack", "test", "--cwd", str(program), "--policy-config", PROD])
    text = capsys.readouterr().out
    assert "Not evaluated" in text and "awsx:lb:NetworkLoadBalancer nlb" in text
    assert text.rstrip().endswith("FAILED: components not evaluated")


def test_another_awsx_major_is_not_guessed(capsys, tmp_path):
    program = tmp_path / "v4"
    shutil.copytree(FOREIGN / "awsx-vpc", program)
    (program / "__main__.py").write_text(
        "import pulumi\nimport pulumi_awsx as awsx\n"
        "awsx.ec2.Vpc('vpc', opts=pulumi.ResourceOptions(version='4.0.0'))\n")
    code, document = run(capsys, program)
    assert code == 1
    [entry] = document["notEvaluated"]
    assert entry["type"] == "awsx:ec2:Vpc" and "4.0.0" in entry["reason"]


def test_policy_document_and_lookups_are_answered(capsys):
    rendering = rendered("policy-document")
    trust = json.loads(rendering.one("aws:iam/role:Role", "execution").inputs["assumeRolePolicy"])
    assert trust == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]}
    policy = json.loads(rendering.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert policy["Statement"] == [{"Sid": "ReadConfig", "Effect": "Allow", "Action": "s3:GetObject",
                                    "Resource": "arn:aws:s3:::app-config/*"}]
    assert rendering.exports["deployer"] == "arn:aws:iam::123456789012:role/ci-deployer"
    assert rendering.exports["group"].startswith("sg-") and len(rendering.exports["subnets"]) == 3
    assert rendering.unanswered_invokes == []
    code, document = run(capsys, FOREIGN / "policy-document")
    assert code == 0 and document["summary"]["mandatory"] == 0


def test_an_unanswered_invoke_is_named(capsys, tmp_path):
    program = tmp_path / "kms"
    shutil.copytree(FOREIGN / "awsx-vpc", program)
    (program / "__main__.py").write_text(
        "import pulumi_aws as aws\nkey = aws.kms.get_alias(name='alias/app')\n")
    code, document = run(capsys, program)
    assert document["answeredWithNothing"] == ["aws:kms/getAlias:getAlias"]


@pytest.mark.parametrize("program", ["awsx-vpc", "awsx-fargate", "policy-document"])
def test_autonames_are_known_in_a_first_preview(program):
    rendering = rendered(program, preview=True)
    for role in rendering.of_type("aws:iam/role:Role"):
        assert role.inputs["name"].startswith(role.name + "-"), role.urn


LEGACY_KNOWN = json.loads((ROOT / "tests" / "fixtures" / "awsx-legacy-known-subnets.json").read_text())
"""awsx's own expectations for getSubnetSpecsLegacy with subnet specs (awsx/ec2/knownWorkingSubnets.ts
at pulumi/pulumi-awsx e60adf3c, one AZ each)."""


@pytest.mark.parametrize("case", LEGACY_KNOWN, ids=lambda c: c["vpcCidr"] + ":" + ",".join(
    f"{s['type']}/{s.get('cidrMask')}" for s in c["subnetSpecs"]))
def test_legacy_subnet_specs_are_laid_out_as_awsx_does(case):
    from preflight.awsx import subnet_layout
    layout = subnet_layout("vpcName", case["vpcCidr"], ["us-east-1a"], case["subnetSpecs"], "Legacy")
    assert [s["cidrBlock"] for s in layout] == case["result"]


def test_awsx_vpc_with_custom_subnet_specs_is_expanded_not_skipped():
    """The default subnetStrategy is Legacy; custom specs under it were reported as not evaluated."""
    from preflight.awsx import subnet_layout
    layout = subnet_layout("net", "10.50.0.0/16", ["us-east-1a", "us-east-1b"],
                           [{"type": "Public", "cidrMask": 24}, {"type": "Private", "cidrMask": 20}], "Legacy")
    assert [(s["name"], s["type"], s["cidrBlock"]) for s in layout] == [
        ("net-private-1", "Private", "10.50.0.0/20"), ("net-public-1", "Public", "10.50.16.0/24"),
        ("net-private-2", "Private", "10.50.128.0/20"), ("net-public-2", "Public", "10.50.144.0/24")]


def test_policy_document_statements_as_dicts_with_snake_case_keys():
    """A statement given as a dict reaches the invoke with `not_actions` untranslated; the provider
    reads it as the Terraform attribute, so NotAction must not be lost (a Deny on everything)."""
    from preflight.data_sources import policy_document
    document = json.loads(policy_document({"statements": [
        {"sid": "D", "effect": "Deny", "not_actions": ["s3:GetObject"], "not_resources": ["arn:aws:s3:::b/*"],
         "not_principals": [{"type": "AWS", "identifiers": ["arn:aws:iam::123456789012:root"]}]},
        {"notActions": ["iam:*"], "resources": ["*"]}]})["json"])
    assert document["Statement"] == [
        {"Sid": "D", "Effect": "Deny", "NotAction": "s3:GetObject", "NotResource": "arn:aws:s3:::b/*",
         "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"}},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]
