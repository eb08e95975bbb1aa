"""bootstrap/: the CI's AWS identities, rendered under mocks as `pulumi up` would run them.

The trust policies let in exactly the GitHub subjects each role is for; the preview role can
read and nothing else; the deploy roles can do what the program's resource types need (every
type the shipped stacks render has a grant) and pass roles and attach policies only as the
program does.
"""

from __future__ import annotations

import copy
import json

import jsonschema
import pulumi
import pytest
import yaml
from policy_sentry.querying.actions import get_action_data

from bootstrap import ci_config, ci_permissions
from bootstrap.ci_permissions import RESOURCE_GRANTS, Account
from testkit import ROOT, SHIPPED_STACKS
from preflight.mocks import AwsMocks
from preflight.render import Rendering, render
from preflight.stack_config import load_stack_config

BOOTSTRAP = ROOT / "bootstrap"
NS = "ecs-fargate-bootstrap"
AUD = "token.actions.githubusercontent.com:aud"
SUB = "token.actions.githubusercontent.com:sub"
REPO = "example-org/ecs-fargate"
ACCOUNT = "123456789012"


class RecordingMocks(AwsMocks):
    """The shared mocks, plus IAM's real ARN formats for OIDC providers and managed policies,
    and a record of every provider function the program calls."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.invokes: set[str] = set()

    def call(self, args):
        self.invokes.add(args.token)
        return super().call(args)

    def _aws_iam_openIdConnectProvider_OpenIdConnectProvider(self, name, inputs, typ):
        host = str(inputs.get("url", "")).removeprefix("https://")
        return f"{host}-id", {"arn": f"arn:aws:iam::{self.account_id}:oidc-provider/{host}"}

    def _aws_iam_policy_Policy(self, name, inputs, typ):
        arn = f"arn:aws:iam::{self.account_id}:policy/{inputs.get('name') or name}"
        return arn, {"arn": arn, "name": inputs.get("name") or name}


def render_bootstrap(overrides: dict | None = None, remove: tuple[str, ...] = ()) -> Rendering:
    """bootstrap/ with Pulumi.example.yaml's config, `overrides` (short keys) merged over it."""
    loaded = load_stack_config(BOOTSTRAP, "example")
    config = copy.deepcopy(loaded.config)
    for key in remove:
        config.pop(f"{NS}:{key}")
    config.update({f"{NS}:{key}": value for key, value in (overrides or {}).items()})
    return render(BOOTSTRAP, project=loaded.project, stack="example", config=config,
                  secret_keys=loaded.secret_keys, mocks=RecordingMocks(region="us-east-1"))


@pytest.fixture(scope="module")
def example() -> Rendering:
    return render_bootstrap()


@pytest.fixture(scope="module")
def example_config() -> dict:
    return {key.removeprefix(f"{NS}:"): value
            for key, value in load_stack_config(BOOTSTRAP, "example").config.items()}


def role(rendering: Rendering, purpose: str):
    return rendering.one("aws:iam/role:Role", purpose)


def trust(rendering: Rendering, purpose: str) -> dict:
    return json.loads(role(rendering, purpose).inputs["assumeRolePolicy"])


def statements(document: str | dict) -> list[dict]:
    document = json.loads(document) if isinstance(document, str) else document
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def role_documents(rendering: Rendering, purpose: str) -> list[dict]:
    """Every permission document of a role: inline policies and the managed policies attached."""
    target = role(rendering, purpose)
    inline = [json.loads(p.inputs["policy"]) for p in rendering.of_type("aws:iam/rolePolicy:RolePolicy")
              if p.inputs["role"] == target.id]
    attached = {a.inputs["policyArn"] for a in rendering.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.inputs["role"] == target.outputs["name"]}
    managed = [json.loads(p.inputs["policy"]) for p in rendering.of_type("aws:iam/policy:Policy")
               if p.outputs["arn"] in attached]
    unknown = attached - {p.outputs["arn"] for p in rendering.of_type("aws:iam/policy:Policy")}
    assert not unknown, f"{target.urn}: attached policies the bootstrap does not define: {unknown}"
    return inline + managed


def allowed(documents: list[dict]) -> list[dict]:
    return [s for d in documents for s in statements(d) if s["Effect"] == "Allow"]


def access_levels(action: str) -> set[str]:
    """The access levels AWS's Service Authorization Reference gives an action (policy-sentry's copy)."""
    service, name = action.split(":", 1)
    if "*" in name or "?" in name:
        return {"wildcard"}
    data = get_action_data(service, name) or {}
    return {entry["access_level"] for entry in data.get(service, [])} or {"unknown"}


READ_ONLY = {"List", "Read"}


def mutating(statement_list: list[dict], state_key_arn: str | None) -> list[str]:
    """Actions of Allow statements that are not List or Read; kms:Decrypt on the state's own key is
    the one exception (AWS files it under Write, but it only reads: the preview decrypts the
    stack's secrets)."""
    found = []
    for statement in statement_list:
        for action in as_list(statement["Action"]):
            if access_levels(action) <= READ_ONLY:
                continue
            if action == "kms:Decrypt" and as_list(statement["Resource"]) == [state_key_arn]:
                continue
            found.append(f"{statement.get('Sid')}: {action} ({'/'.join(sorted(access_levels(action)))})")
    return found


# -- the project ------------------------------------------------------------------------------------


def test_the_project_file_is_valid_and_runs_in_the_repositorys_virtualenv():
    project = yaml.safe_load((BOOTSTRAP / "Pulumi.yaml").read_text())
    jsonschema.validate(project, json.loads((ROOT / "tests" / "schemas" / "pulumi-project.schema.json").read_text()))
    assert project["name"] == NS
    virtualenv = project["runtime"]["options"]["virtualenv"]
    # The Python language host joins a relative virtualenv to the project directory.
    assert (BOOTSTRAP / virtualenv).resolve() == (ROOT / ".venv").resolve()
    assert "-r ../requirements.txt" in (BOOTSTRAP / "requirements.txt").read_text()


def test_the_example_stack_renders_every_part(example):
    types = {r.type for r in example.resources}
    assert {"aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:ecr/repository:Repository",
            "aws:ecr/lifecyclePolicy:LifecyclePolicy", "aws:ecr/repositoryPolicy:RepositoryPolicy"} <= types
    assert sorted(r.name for r in example.of_type("aws:iam/role:Role")) == sorted(
        ["preview", "release", "deploy-dev", "deploy-staging", "deploy-prod"])


# -- trust --------------------------------------------------------------------------------------------


def expected_trust(provider_arn: str, subjects: list[str]) -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "GitHubActions", "Effect": "Allow", "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {AUD: "sts.amazonaws.com", SUB: subjects}}}]}


@pytest.mark.parametrize("purpose, claims", [
    ("preview", ["pull_request", "ref:refs/heads/main"]),
    ("release", ["ref:refs/heads/main"]),
    ("deploy-dev", ["environment:dev"]),
    ("deploy-staging", ["environment:staging"]),
    ("deploy-prod", ["environment:prod"]),
])
def test_each_role_trusts_exactly_its_github_subjects(example, purpose, claims):
    [provider] = example.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert trust(example, purpose) == expected_trust(provider.outputs["arn"], [f"repo:{REPO}:{c}" for c in claims]), \
        role(example, purpose).urn


def test_no_trust_policy_matches_subjects_by_pattern(example):
    for resource in example.of_type("aws:iam/role:Role"):
        for statement in statements(resource.inputs["assumeRolePolicy"]):
            assert set(statement["Condition"]) == {"StringEquals"}, resource.urn
            assert not any(ch in s for s in as_list(statement["Condition"]["StringEquals"][SUB]) for ch in "*?"), \
                resource.urn


def test_role_names_are_fixed_and_sessions_last_the_configured_time(example):
    for resource in example.of_type("aws:iam/role:Role"):
        assert resource.inputs["name"] == f"ecs-fargate-ci-{resource.name}", resource.urn
        assert resource.inputs["maxSessionDuration"] == 7200, resource.urn
    rendering = render_bootstrap({"rolePrefix": "acme-ci", "maxSessionDurationSeconds": 10800})
    assert role(rendering, "deploy-prod").inputs["name"] == "acme-ci-deploy-prod"
    assert role(rendering, "preview").inputs["maxSessionDuration"] == 10800


def test_the_default_branch_is_configurable_for_the_preview_and_release_subjects():
    rendering = render_bootstrap({"defaultBranch": "trunk"})
    assert trust(rendering, "preview")["Statement"][0]["Condition"]["StringEquals"][SUB] == [
        f"repo:{REPO}:pull_request", f"repo:{REPO}:ref:refs/heads/trunk"]
    assert trust(rendering, "release")["Statement"][0]["Condition"]["StringEquals"][SUB] == [
        f"repo:{REPO}:ref:refs/heads/trunk"]


def test_deploy_roles_follow_the_configured_environments():
    rendering = render_bootstrap({"environments": ["qa", "Prod-EU"]})
    deploy = sorted(r.name for r in rendering.of_type("aws:iam/role:Role") if r.name.startswith("deploy-"))
    assert deploy == ["deploy-Prod-EU", "deploy-qa"]
    assert trust(rendering, "deploy-Prod-EU")["Statement"][0]["Condition"]["StringEquals"][SUB] == [
        f"repo:{REPO}:environment:Prod-EU"]
    assert set(rendering.exports["githubVariables"]["environments"]) == {"qa", "Prod-EU"}
    release_only = render_bootstrap({"environments": []})
    assert sorted(r.name for r in release_only.of_type("aws:iam/role:Role")) == ["preview", "release"]
    assert release_only.of_type("aws:iam/policy:Policy") == []


def test_the_oidc_provider_is_githubs_for_sts_without_a_thumbprint(example):
    provider = example.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    # IAM validates GitHub's certificate with its own trusted CAs; a pinned thumbprint only ages.
    assert "thumbprintLists" not in provider.inputs
    assert example.exports["oidcProviderArn"] == provider.outputs["arn"]


def test_an_existing_oidc_provider_is_used_and_none_is_created():
    existing = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    rendering = render_bootstrap({"existingOidcProviderArn": existing})
    assert rendering.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    for purpose in ("preview", "release", "deploy-dev"):
        assert trust(rendering, purpose)["Statement"][0]["Principal"] == {"Federated": existing}
    assert rendering.exports["oidcProviderArn"] == existing


# -- the preview role ------------------------------------------------------------------------------


def test_the_preview_role_cannot_change_anything(example, example_config):
    documents = role_documents(example, "preview")
    assert documents, "no permissions found for the preview role: the collector looks in the wrong place"
    assert mutating(allowed(documents), example_config["stateKmsKeyArn"]) == []


def test_the_preview_role_reads_the_state_but_writes_no_lock(example, example_config):
    """`pulumi preview` on a diy backend takes no lock and writes nothing (pulumi/pulumi
    pkg/backend/diy/backend.go: Preview never calls Lock), so not even .pulumi/locks/."""
    bucket = example_config["stateBucket"]
    state = {a: as_list(s["Resource"]) for s in allowed(role_documents(example, "preview"))
             for a in as_list(s["Action"]) if a.startswith("s3:") or a.startswith("kms:")}
    assert state == {"s3:GetBucketLocation": [f"arn:aws:s3:::{bucket}"], "s3:ListBucket": [f"arn:aws:s3:::{bucket}"],
                     "s3:GetObject": [f"arn:aws:s3:::{bucket}/.pulumi/*"],
                     "kms:Decrypt": [example_config["stateKmsKeyArn"]]}


@pytest.mark.parametrize("action, resource", [
    ("s3:PutObject", "arn:aws:s3:::b/.pulumi/locks/*"), ("ecs:UpdateService", "*"), ("iam:PassRole", "*"),
    ("ec2:*", "*"), ("kms:Decrypt", "*"), ("ecs:RunTasks", "*"),
])
def test_the_read_only_check_catches_writes_wildcards_and_unknown_actions(action, resource):
    statement = {"Sid": "Broken", "Effect": "Allow", "Action": [action], "Resource": resource}
    assert mutating([statement], state_key_arn="arn:aws:kms:us-east-1:123456789012:key/k") != []


def test_every_read_column_of_the_grant_table_is_read_only():
    """The preview role is built from the read columns; a write filed there would reach it."""
    offenders = [f"{typ}: {action}" for typ, grant in RESOURCE_GRANTS.items() for action in grant.read
                 if not access_levels(action) <= READ_ONLY]
    offenders += [f"{token}: {action}" for token, actions in ci_permissions.INVOKE_GRANTS.items()
                  for action in actions if not access_levels(action) <= READ_ONLY]
    assert offenders == []


def test_without_a_state_backend_no_role_gets_state_access():
    rendering = render_bootstrap(remove=("stateBucket", "stateKmsKeyArn"))
    for purpose in ("preview", "deploy-dev"):
        actions = {a for s in allowed(role_documents(rendering, purpose)) for a in as_list(s["Action"])}
        assert not any(a.startswith("s3:") or a in ("kms:Decrypt", "kms:Encrypt") for a in actions), purpose


# -- the deploy roles: coverage of the program ---------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> dict[str, tuple[Rendering, RecordingMocks]]:
    rendered = {}
    for stack in SHIPPED_STACKS:
        loaded = load_stack_config(ROOT, stack)
        mocks = RecordingMocks(region=str(loaded.config.get("aws:region", "us-east-1")))
        rendered[stack] = (render(ROOT, project=loaded.project, stack=stack, config=loaded.config,
                                  secret_keys=loaded.secret_keys, mocks=mocks), mocks)
    return rendered


def uncovered(types: set[str], invokes: set[str]) -> list[str]:
    """Resource types and provider functions without a grant (the program's own components need none)."""
    missing = [t for t in sorted(types) if t not in RESOURCE_GRANTS and not t.startswith(ci_permissions.OWN_TYPE_PREFIXES)]
    missing += [t for t in sorted(invokes) if t not in ci_permissions.INVOKE_GRANTS]
    return missing


def test_every_resource_type_and_function_the_shipped_stacks_use_has_a_grant(shipped):
    for stack, (rendering, mocks) in shipped.items():
        assert uncovered({r.type for r in rendering.resources}, mocks.invokes) == [], \
            f"stack {stack}: add the IAM actions of these to bootstrap/ci_permissions.py"


def test_the_function_table_has_no_stale_entries(shipped):
    assert set(ci_permissions.INVOKE_GRANTS) == set().union(*(mocks.invokes for _, mocks in shipped.values()))


def test_the_coverage_check_names_a_type_without_a_grant():
    assert uncovered({"aws:ecs/service:Service", "aws:rds/instance:Instance", "ecs-fargate:index:Cluster"},
                     {"aws:ec2/getVpc:getVpc"}) == ["aws:rds/instance:Instance", "aws:ec2/getVpc:getVpc"]


def test_components_from_other_packages_list_children_that_have_grants():
    for typ, grant in RESOURCE_GRANTS.items():
        assert all(child in RESOURCE_GRANTS for child in grant.children), typ


def test_every_grant_says_how_to_read_its_resource():
    """Refresh and drift checks need a read for everything; the preview role gets exactly these."""
    for typ, grant in RESOURCE_GRANTS.items():
        assert grant.read, f"{typ}: no read actions"


def test_the_deploy_roles_hold_every_action_of_the_table(example):
    for environment in ("dev", "staging", "prod"):
        granted = {a for s in allowed(role_documents(example, f"deploy-{environment}")) for a in as_list(s["Action"])}
        assert set(ci_permissions.deploy_actions()) - granted == set(), environment


# -- the deploy roles: IAM constrained where IAM allows it -------------------------------------------


def deploy_statements(rendering: Rendering, action: str) -> list[dict]:
    return [s for s in allowed(role_documents(rendering, "deploy-dev")) if action in as_list(s["Action"])]


def trusted_services(rendering: Rendering) -> set[str]:
    return {service for r in rendering.of_type("aws:iam/role:Role")
            for s in statements(r.inputs["assumeRolePolicy"])
            for service in as_list(s.get("Principal", {}).get("Service", []))}


def test_roles_are_passed_only_to_the_services_the_programs_roles_trust(example, shipped):
    [statement] = deploy_statements(example, "iam:PassRole")
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": list(ci_permissions.PASSED_TO_SERVICES)}}
    assert statement["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/*"
    # A role can only be passed to the service it trusts; the program's roles trust exactly these.
    assert set().union(*(trusted_services(r) for r, _ in shipped.values())) == set(ci_permissions.PASSED_TO_SERVICES)


def passed_roles(value, key: str = "") -> list[str]:
    """The role ARNs in a resource's inputs under a `roleArn`-like key: the roles a create or update
    of it passes to a service."""
    if isinstance(value, dict):
        return [arn for k, v in value.items() for arn in passed_roles(v, k)]
    if isinstance(value, list):
        return [arn for v in value for arn in passed_roles(v, key)]
    return [value] if key.lower().endswith("rolearn") and isinstance(value, str) and ":role/" in value else []


def test_every_resource_type_that_passes_a_role_has_pass_role_in_its_grant(shipped):
    """Task definitions pass the task roles, schedules the job role, and a traffic-shifting service its
    infrastructure role: each type's create needs iam:PassRole."""
    passing = {r.type for rendering, _ in shipped.values() for r in rendering.resources if passed_roles(r.inputs)}
    assert {"aws:ecs/taskDefinition:TaskDefinition", "aws:scheduler/schedule:Schedule",
            "aws:ecs/service:Service"} <= passing
    for typ in passing:
        assert "iam:PassRole" in RESOURCE_GRANTS[typ].create, typ
    assert "iam:PassRole" in RESOURCE_GRANTS["aws:ecs/service:Service"].update


def test_only_the_managed_policies_the_program_attaches_can_be_attached(example, shipped):
    attached = {a.inputs["policyArn"] for rendering, _ in shipped.values()
                for a in rendering.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    for action in ("iam:AttachRolePolicy", "iam:DetachRolePolicy"):
        [statement] = deploy_statements(example, action)
        assert statement["Condition"] == {"ArnEquals": {"iam:PolicyARN": sorted(attached)}}, action


def test_managed_policy_arns_follow_the_partition():
    documents = ci_permissions.deploy_policies(Account("aws-cn", ACCOUNT), [], "arn:aws-cn:ecr:cn-north-1:1:repository/r")
    [attach] = [s for s in allowed([documents["iam"]]) if "iam:AttachRolePolicy" in as_list(s["Action"])]
    assert attach["Condition"]["ArnEquals"]["iam:PolicyARN"] == [
        "arn:aws-cn:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers",
        "arn:aws-cn:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]
    assert attach["Resource"] == f"arn:aws-cn:iam::{ACCOUNT}:role/*"


def test_conditioned_actions_appear_in_no_unconditioned_grant(example):
    for statement in allowed(role_documents(example, "deploy-dev")):
        if set(as_list(statement["Action"])) & ci_permissions.CONDITIONED:
            assert statement.get("Condition"), statement["Sid"]


def test_service_linked_roles_only_for_the_programs_services(example):
    [statement] = deploy_statements(example, "iam:CreateServiceLinkedRole")
    assert statement["Condition"] == {"StringEquals": {"iam:AWSServiceName": list(ci_permissions.SERVICE_LINKED_ROLES)}}


def test_deploy_roles_cannot_change_the_ci_roles_nor_write_release_images(example):
    documents = role_documents(example, "deploy-dev")
    denies = {s["Sid"]: s for d in documents for s in statements(d) if s["Effect"] == "Deny"}
    ci_roles = sorted(r.outputs["arn"] for r in example.of_type("aws:iam/role:Role"))
    assert sorted(denies["NoChangesToTheCiRoles"]["Resource"]) == ci_roles
    assert {"iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy",
            "iam:PassRole"} <= set(denies["NoChangesToTheCiRoles"]["Action"])
    release = example.one("aws:ecr/repository:Repository", "release")
    assert denies["NoWritesToTheReleaseRepository"]["Resource"] == release.outputs["arn"]
    assert {"ecr:PutImage", "ecr:BatchDeleteImage", "ecr:DeleteRepository"} <= set(
        denies["NoWritesToTheReleaseRepository"]["Action"])


def test_deploy_roles_read_and_write_the_state(example, example_config):
    bucket, key = example_config["stateBucket"], example_config["stateKmsKeyArn"]
    state = {a: as_list(s["Resource"]) for s in allowed(role_documents(example, "deploy-prod"))
             for a in as_list(s["Action"]) if a.startswith("s3:") or s.get("Sid") == "StateKey"}
    objects = [f"arn:aws:s3:::{bucket}/.pulumi/*"]
    assert state == {"s3:GetBucketLocation": [f"arn:aws:s3:::{bucket}"], "s3:ListBucket": [f"arn:aws:s3:::{bucket}"],
                     "s3:GetObject": objects, "s3:PutObject": objects, "s3:DeleteObject": objects,
                     "kms:Decrypt": [key], "kms:Encrypt": [key], "kms:GenerateDataKey": [key]}


def test_policies_stay_within_iams_size_limits():
    """Managed policies up to 6,144 characters, a role's inline policies together up to 10,240
    (IAM quotas, whitespace not counted), with long names everywhere."""
    rendering = render_bootstrap({
        "githubRepository": f"{'o' * 39}/{'r' * 100}", "rolePrefix": "p" * 30,
        "environments": [f"environment-{i:02}" for i in range(10)], "defaultBranch": "release/" + "b" * 80,
        "releaseRepositoryName": "team/" + "x" * 200, "releasePullAccountIds": [f"{i:012}" for i in range(20)]})
    for policy in rendering.of_type("aws:iam/policy:Policy"):
        assert ci_permissions.policy_size(json.loads(policy.inputs["policy"])) <= 6144, policy.urn
    inline: dict[str, int] = {}
    for policy in rendering.of_type("aws:iam/rolePolicy:RolePolicy"):
        inline[policy.inputs["role"]] = inline.get(policy.inputs["role"], 0) + ci_permissions.policy_size(
            json.loads(policy.inputs["policy"]))
    assert inline and max(inline.values()) <= 10240


# -- the release role and repository ---------------------------------------------------------------


def test_the_release_role_pushes_to_the_release_repository_only(example):
    release = example.one("aws:ecr/repository:Repository", "release")
    grants = {a: s["Resource"] for s in allowed(role_documents(example, "release")) for a in as_list(s["Action"])}
    assert grants.pop("ecr:GetAuthorizationToken") == "*"  # a registry login has no resource
    assert grants == dict.fromkeys(ci_permissions.RELEASE_PUSH_ACTIONS, release.outputs["arn"])


def test_the_release_repository_is_immutable_scanned_encrypted_and_expires_untagged_images(example):
    repository = example.one("aws:ecr/repository:Repository", "release")
    assert repository.inputs["name"] == "ecs-fargate/app"
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    assert repository.protect and repository.inputs["forceDelete"] is False
    [rule] = json.loads(example.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"]
    assert rule["selection"]["tagStatus"] == "untagged" and rule["action"] == {"type": "expire"}


def test_a_kms_key_encrypts_the_release_repository():
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    rendering = render_bootstrap({"releaseRepositoryKmsKeyArn": key, "releaseRepositoryName": "team/app"})
    repository = rendering.one("aws:ecr/repository:Repository", "release")
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key}]
    assert repository.inputs["name"] == "team/app"


def test_other_accounts_may_pull_release_images_and_nothing_else(example):
    [statement] = statements(example.one("aws:ecr/repositoryPolicy:RepositoryPolicy").inputs["policy"])
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::210987654321:root"]}
    assert statement["Action"] == list(ci_permissions.RELEASE_PULL_ACTIONS)
    assert all(access_levels(a) <= READ_ONLY for a in statement["Action"])
    rendering = render_bootstrap(remove=("releasePullAccountIds",))
    assert rendering.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy") == []


# -- outputs and tags ----------------------------------------------------------------------------------


def test_the_github_variables_are_exported_ready_to_paste(example):
    variables = example.exports["githubVariables"]
    release = example.one("aws:ecr/repository:Repository", "release")
    assert variables["repository"] == {
        "AWS_PREVIEW_ROLE_ARN": role(example, "preview").outputs["arn"],
        "AWS_RELEASE_ROLE_ARN": role(example, "release").outputs["arn"],
        "AWS_REGION": "us-east-1",
        "ECR_RELEASE_REPOSITORY": release.outputs["repositoryUrl"],
    }
    assert variables["environments"] == {e: {"AWS_DEPLOY_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/ecs-fargate-ci-deploy-{e}"}
                                         for e in ("dev", "staging", "prod")}
    script = example.exports["githubVariablesScript"].splitlines()
    assert f"gh variable set AWS_DEPLOY_ROLE_ARN --repo {REPO} --env prod --body " \
           f"arn:aws:iam::{ACCOUNT}:role/ecs-fargate-ci-deploy-prod" in script
    assert len(script) == 4 + 3
    assert example.exports["deployRoleArns"]["dev"] == variables["environments"]["dev"]["AWS_DEPLOY_ROLE_ARN"]


def test_everything_taggable_is_tagged(example):
    taggable = {"aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:iam/role:Role", "aws:iam/policy:Policy",
                "aws:ecr/repository:Repository"}
    for resource in example.resources:
        if resource.type in taggable:
            assert resource.inputs["tags"]["ManagedBy"] == "pulumi", resource.urn
            assert resource.inputs["tags"]["GitHubRepository"] == REPO, resource.urn


# -- config ---------------------------------------------------------------------------------------------


def test_a_bad_config_fails_once_listing_every_problem():
    with pytest.raises(pulumi.RunError) as raised:
        render_bootstrap({
            "githubRepository": "-bad-/repo", "environments": ["dev", "DEV", "pr od"], "defaultBranch": "feature/*",
            "stateBucket": "s3://my-state", "stateKmsKeyArn": "alias/state", "existingOidcProviderArn": "arn:aws:iam::1:x",
            "releaseRepositoryName": "Team/App", "releasePullAccountIds": ["12345"], "maxSessionDurationSeconds": 60,
            "githubRepo": "x/y"})
    message = str(raised.value)
    assert message.startswith("Invalid bootstrap configuration (11 problems); nothing was deployed:")
    for key in ("githubRepository: '-bad-/repo' is not OWNER/REPO", "environments: 'DEV' and 'dev' are one environment",
                "environments: 'pr od' is not", "defaultBranch: 'feature/*' is not a branch name",
                "stateBucket: 's3://my-state' is a URL", "stateKmsKeyArn: 'alias/state' is not a KMS key ARN",
                "existingOidcProviderArn:", "releaseRepositoryName: 'Team/App'",
                "releasePullAccountIds: '12345' is not a 12-digit", "maxSessionDurationSeconds: expected",
                "githubRepo: is not a setting of the bootstrap; did you mean 'githubRepository'?"):
        assert key in message, key
    assert "Traceback" not in message


def test_the_repository_is_required():
    with pytest.raises(pulumi.RunError, match=r"githubRepository: required"):
        render_bootstrap(remove=("githubRepository",))


@pytest.mark.parametrize("key, value, expected", [
    ("githubRepository", "owner/repo/extra", "is not OWNER/REPO"),
    ("githubRepository", "owner/..", "is not OWNER/REPO"),
    ("githubRepository", f"{'o' * 40}/repo", "is not OWNER/REPO"),
    ("environments", "dev", "expected a list of GitHub environment names"),
    ("rolePrefix", "x" * 50, "too long"),
    ("defaultBranch", "a..b", "is not a branch name"),
    ("defaultBranch", "x.lock", "is not a branch name"),
    ("stateBucket", "192.168.1.1", "is not an S3 bucket name"),
    ("stateBucket", "bucket/prefix", "has a '/'"),
    ("releasePullAccountIds", [123456789012], "quote the account ids"),
    ("maxSessionDurationSeconds", 43201, "7200 (what deploy-stack.yml asks for"),
    ("maxSessionDurationSeconds", 3600, "7200 (what deploy-stack.yml asks for"),
    ("maxSessionDurationSeconds", True, "7200 (what deploy-stack.yml asks for"),
])
def test_each_setting_is_checked(key, value, expected):
    with pytest.raises(ci_config.BootstrapConfigError) as raised:
        ci_config.parse({"githubRepository": REPO, key: value})
    assert [p for p in raised.value.problems if p.startswith(f"{key}: ") and expected in p], raised.value.problems


@pytest.mark.parametrize("key, value", [
    ("githubRepository", "Octo-Org/octo.repo_2"), ("environments", []), ("defaultBranch", "release/2024.1"),
    ("stateBucket", "my.state-bucket"), ("releaseRepositoryName", "team/app-1/web"),
    ("existingOidcProviderArn", "arn:aws-us-gov:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"),
    ("stateKmsKeyArn", "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"),
])
def test_valid_settings_pass(key, value):
    ci_config.parse({"githubRepository": REPO, key: value})


def test_the_readme_documents_every_setting_and_role():
    readme = (BOOTSTRAP / "README.md").read_text()
    for key in ci_config.DEFAULTS:
        assert f"`{key}`" in readme, key
    for purpose in ("preview", "release", "deploy-<env>"):
        assert f"<prefix>-{purpose}" in readme, purpose
