"""Task definition rules, each on a compliant and on violating task definitions."""

import json

import pytest
from policy_testkit import (
    ACCOUNT,
    DIGEST,
    EXECUTION_ROLE_ARN,
    REGION,
    REPOSITORY_URL,
    container,
    task_definition,
    violations,
)

from ecs_fargate_rules._common import TASK_DEFINITION


def check(policy, props, config=None):
    return violations(policy, TASK_DEFINITION, props, config)


def test_every_rule_accepts_the_compliant_task_definition():
    from ecs_fargate_rules import ecs_task

    for policy in ecs_task.POLICIES:
        assert check(policy.name, task_definition()) == [], policy.name


def test_rules_ignore_other_resource_types():
    assert violations("ecs-taskdef-execution-role-required", "aws:ecs/service:Service", {}) == []


# ecs-taskdef-execution-role-required

@pytest.mark.parametrize("value", [None, ""])
def test_execution_role_missing(value):
    props = task_definition(executionRoleArn=value)
    [message] = check("ecs-taskdef-execution-role-required", props)
    assert "executionRoleArn is not set" in message


# ecs-image-no-latest-tag

@pytest.mark.parametrize("image", [
    f"{REPOSITORY_URL}:1.4.2",
    f"{REPOSITORY_URL}@{DIGEST}",
    f"{REPOSITORY_URL}:latest@{DIGEST}",  # the digest pins it whatever the tag says
    "registry.example.com:5000/team/app:2024-06-01",
    "public.ecr.aws/nginx/nginx:1.27",
])
def test_pinned_images_pass(image):
    assert check("ecs-image-no-latest-tag", task_definition([container(image=image)])) == []


@pytest.mark.parametrize("image, expected", [
    ("nginx", "without a tag"),
    ("nginx:latest", "':latest'"),
    (f"{REPOSITORY_URL}:latest", "':latest'"),
    # The :5000 is a registry port, not a tag: this image is untagged.
    ("registry.example.com:5000/team/app", "without a tag"),
    ("localhost:5000/app", "without a tag"),
])
def test_latest_or_untagged_images_fail(image, expected):
    props = task_definition([container(name="web", image=image)])
    [message] = check("ecs-image-no-latest-tag", props)
    assert expected in message
    assert "container 'web'" in message and image in message


def test_each_offending_container_is_reported():
    props = task_definition([container(name="app", image="app:latest"),
                             container(name="sidecar", image="envoyproxy/envoy"),
                             container(name="ok", image="busybox:1.36")])
    messages = check("ecs-image-no-latest-tag", props)
    assert len(messages) == 2
    assert "'app'" in messages[0] and "'sidecar'" in messages[1]


# ecs-image-allowed-registries

def test_allowed_registries_default_allows_everything():
    assert check("ecs-image-allowed-registries", task_definition([container(image="nginx:1.27")])) == []


def test_allowed_registries_checks_the_registry_prefix():
    config = {"allowedRegistries": [f"{REPOSITORY_URL.split('/')[0]}/", "docker.io/library/"]}
    ok = task_definition([container(image=f"{REPOSITORY_URL}:1"), container(image="nginx:1.27")])
    assert check("ecs-image-allowed-registries", ok, config) == []

    bad = task_definition([container(name="tool", image="ghcr.io/someone/tool:1.0")])
    [message] = check("ecs-image-allowed-registries", bad, config)
    assert "container 'tool'" in message and "ghcr.io/someone/tool" in message


def test_docker_hub_user_images_are_not_library_images():
    config = {"allowedRegistries": ["docker.io/library/"]}
    [message] = check("ecs-image-allowed-registries",
                      task_definition([container(image="someone/nginx:1.0")]), config)
    assert "docker.io/someone/nginx" in message


# ecs-taskdef-distinct-roles

def test_distinct_roles_pass_when_task_role_absent():
    assert check("ecs-taskdef-distinct-roles", task_definition(taskRoleArn=None)) == []


def test_same_role_for_task_and_execution_fails():
    [message] = check("ecs-taskdef-distinct-roles", task_definition(taskRoleArn=EXECUTION_ROLE_ARN))
    assert "same role" in message and EXECUTION_ROLE_ARN in message


# ecs-taskdef-logging

@pytest.mark.parametrize("log_configuration", [None, {}, {"options": {"awslogs-group": "/ecs/x"}}])
def test_container_without_log_driver_fails(log_configuration):
    props = task_definition([container(), container(name="sidecar", logConfiguration=log_configuration)])
    [message] = check("ecs-taskdef-logging", props)
    assert "container 'sidecar'" in message and "logDriver" in message


def test_invalid_container_definitions_json_is_a_violation_not_a_crash():
    [message] = check("ecs-taskdef-logging", task_definition(containerDefinitions="[{not json"))
    assert "containerDefinitions is not valid JSON" in message


# ecs-taskdef-no-privileged

def test_privileged_container_fails():
    props = task_definition([container(privileged=False), container(name="dind", privileged=True)])
    [message] = check("ecs-taskdef-no-privileged", props)
    assert "container 'dind'" in message and "privileged" in message


# ecs-taskdef-awsvpc

@pytest.mark.parametrize("mode, shown", [("bridge", "'bridge'"), ("host", "'host'"), (None, "not set")])
def test_non_awsvpc_network_mode_fails(mode, shown):
    [message] = check("ecs-taskdef-awsvpc", task_definition(networkMode=mode))
    assert f"networkMode is {shown}" in message


# ecs-taskdef-no-plaintext-secrets

@pytest.mark.parametrize("name, value, reason", [
    ("DB_PASSWORD", "hunter2", "name suggests a credential"),
    ("stripe-api-key", "sk_live_abc", "name suggests a credential"),
    ("GITHUB_TOKEN", "ghp_abc", "name suggests a credential"),
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG", "name suggests a credential"),
    ("ECS_ENGINE_AUTH_DATA", "{}", "name suggests a credential"),
    ("SIGNING_PRIVATE_KEY", "abc", "name suggests a credential"),
    ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", "AWS access key id"),
    ("UPSTREAM", "AKIAIOSFODNN7EXAMPLE", "AWS access key id"),
    ("TLS_KEY", "-----BEGIN RSA PRIVATE KEY-----\nMIIE...", "private key"),
    ("DATABASE_URL", "postgres://app:s3cret@db.internal:5432/app", "URL with an embedded password"),
])
def test_credentials_in_environment_fail(name, value, reason):
    props = task_definition([container(environment=[{"name": name, "value": value}])])
    [message] = check("ecs-taskdef-no-plaintext-secrets", props)
    assert name in message and reason in message and "secrets" in message
    assert value not in message  # policy output lands in CI logs


@pytest.mark.parametrize("name, value", [
    ("PORT", "8080"),
    ("DATABASE_URL", "postgres://db.internal:5432/app"),  # no password in it
    ("DB_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"),
    ("API_TOKEN", ""),  # nothing to leak
])
def test_harmless_environment_passes(name, value):
    props = task_definition([container(environment=[{"name": name, "value": value}])])
    assert check("ecs-taskdef-no-plaintext-secrets", props) == []


def test_allowed_names_skip_the_name_heuristic_but_not_the_value_checks():
    config = {"allowedNames": ["TOKEN_ENDPOINT", "SESSION_SECRET_HEADER"]}
    props = task_definition([container(environment=[
        {"name": "TOKEN_ENDPOINT", "value": "https://auth.example.com/token"},
        {"name": "SESSION_SECRET_HEADER", "value": "AKIAIOSFODNN7EXAMPLE"},
    ])])
    [message] = check("ecs-taskdef-no-plaintext-secrets", props, config)
    assert "SESSION_SECRET_HEADER" in message and "AWS access key id" in message


# ecs-taskdef-fargate-size

@pytest.mark.parametrize("cpu, memory", [
    ("256", "512"), ("256", "2048"), ("512", "4096"), ("1024", "2048"), ("1024", "8192"),
    ("2048", "16384"), ("4096", "30720"), ("8192", "61440"), ("8192", "20480"),
    ("16384", "122880"), ("16384", "40960"), ("1 vCPU", "2 GB"), ("0.25 vcpu", "0.5GB"),
])
def test_valid_fargate_sizes_pass(cpu, memory):
    assert check("ecs-taskdef-fargate-size", task_definition(cpu=cpu, memory=memory)) == []


@pytest.mark.parametrize("cpu, memory, expected", [
    ("256", "4096", "with 256 CPU units Fargate accepts 512, 1024, 2048 MiB"),
    ("512", "512", "1024 to 4096 in steps of 1024"),
    ("1024", "2500", "2048 to 8192 in steps of 1024"),
    ("8192", "18432", "16384 to 61440 in steps of 4096"),  # 8 vCPU steps by 4 GB
    ("16384", "36864", "32768 to 122880 in steps of 8192"),
    ("4096", "31744", "8192 to 30720 in steps of 1024"),
    ("3072", "8192", "not a Fargate size"),
    (None, "512", "needs task-level cpu and memory"),
    ("256", None, "needs task-level cpu and memory"),
])
def test_invalid_fargate_sizes_fail(cpu, memory, expected):
    [message] = check("ecs-taskdef-fargate-size", task_definition(cpu=cpu, memory=memory))
    assert expected in message


def test_fargate_size_only_applies_to_fargate_task_definitions():
    props = task_definition(requiresCompatibilities=["EC2"], cpu="3072", memory="100")
    assert check("ecs-taskdef-fargate-size", props) == []


# ecs-taskdef-readonly-rootfs

def test_writable_root_filesystem_is_reported():
    unset = container(name="cron")
    del unset["readonlyRootFilesystem"]
    props = task_definition([container(), container(name="worker", readonlyRootFilesystem=False), unset])
    messages = check("ecs-taskdef-readonly-rootfs", props)
    assert [("'worker'" in m, "'cron'" in m) for m in messages] == [(True, False), (False, True)]


def test_readonly_rootfs_does_not_apply_to_windows():
    props = task_definition([container(readonlyRootFilesystem=False)],
                            runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"})
    assert check("ecs-taskdef-readonly-rootfs", props) == []


def test_container_definitions_may_be_given_parsed():
    # Offline callers may hand over the parsed list instead of the JSON string.
    props = task_definition()
    props["containerDefinitions"] = json.loads(props["containerDefinitions"])
    assert check("ecs-taskdef-logging", props) == []


# Container definitions read as the provider reads them (issue 9): Go's encoding/json matches
# keys to the SDK's fields whatever their case, and a field set twice takes the later value.

PASCAL_CASE = {
    "Name": "app", "Image": "nginx:LATEST", "Privileged": True, "Essential": True,
    "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": "/ecs/web"}},
    "Environment": [{"Name": "DB_PASSWORD", "Value": "hunter2"}],
    "LinuxParameters": {"Capabilities": {"Add": ["SYS_ADMIN"]}},
    "ReadonlyRootFilesystem": False,
}


@pytest.mark.parametrize("policy, expected", [
    ("ecs-image-no-latest-tag", "uses image 'nginx:LATEST'"),
    ("ecs-taskdef-no-privileged", "sets privileged: true"),
    ("ecs-taskdef-no-plaintext-secrets", "passes DB_PASSWORD"),
    ("ecs-taskdef-readonly-rootfs", "can write to its root filesystem"),
])
def test_pascal_case_keys_do_not_hide_violations(policy, expected):
    messages = check(policy, task_definition([PASCAL_CASE]))
    assert any(expected in m and "container 'app'" in m for m in messages), messages


def test_pascal_case_log_configuration_is_a_log_configuration():
    assert check("ecs-taskdef-logging", task_definition([PASCAL_CASE])) == []
    upper = {"NAME": "app", "IMAGE": "x:1", "LOGCONFIGURATION": {"LOGDRIVER": "awslogs"}}
    assert check("ecs-taskdef-logging", task_definition([upper])) == []


def test_pascal_case_compliant_container_passes_every_rule():
    compliant = {"Name": "app", "Image": f"{REPOSITORY_URL}:1.2@{DIGEST}", "Essential": True,
                 "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": "/ecs/web"}},
                 "ReadonlyRootFilesystem": True, "PortMappings": [{"ContainerPort": 8080}],
                 "Secrets": [{"Name": "DB_PASSWORD", "ValueFrom": "arn:aws:ssm:eu-west-1:1:parameter/db"}]}
    from ecs_fargate_rules import ecs_task

    for policy in ecs_task.POLICIES:
        assert check(policy.name, task_definition([compliant])) == [], policy.name


def test_duplicate_keys_in_two_casings_decide_as_go_does_and_are_flagged():
    # Go's decoder takes the later key: here "Privileged": true wins over "privileged": false.
    text = ('[{"name": "app", "image": "x:1", "privileged": false, "Privileged": true, '
            '"logConfiguration": {"logDriver": "awslogs"}}]')
    [message] = check("ecs-taskdef-no-privileged", task_definition(containerDefinitions=text))
    assert "sets privileged: true" in message
    [ambiguity] = check("ecs-taskdef-unambiguous-definitions", task_definition(containerDefinitions=text))
    assert 'sets privileged twice ("privileged" and "Privileged")' in ambiguity
    # The other order: the later false wins, so not privileged, but still ambiguous.
    text = '[{"name": "app", "Privileged": true, "privileged": false}]'
    assert check("ecs-taskdef-no-privileged", task_definition(containerDefinitions=text)) == []
    assert len(check("ecs-taskdef-unambiguous-definitions", task_definition(containerDefinitions=text))) == 1


def test_duplicate_objects_merge_as_go_does():
    # The second LogConfiguration decodes into the first: the driver stays, options are added.
    text = ('[{"name": "app", "image": "x:1", "logConfiguration": {"logDriver": "awslogs"}, '
            '"LogConfiguration": {"options": {"awslogs-group": "/ecs/web"}}}]')
    assert check("ecs-taskdef-logging", task_definition(containerDefinitions=text)) == []
    assert len(check("ecs-taskdef-unambiguous-definitions", task_definition(containerDefinitions=text))) == 1


def test_several_json_documents_are_decoded_one_over_the_other():
    # The provider decodes until EOF, each document over the list so far.
    text = '[{"name": "app", "image": "x:1", "logConfiguration": {"logDriver": "awslogs"}}] [{"privileged": true}]'
    [message] = check("ecs-taskdef-no-privileged", task_definition(containerDefinitions=text))
    assert "container 'app' sets privileged: true" in message
    [ambiguity] = check("ecs-taskdef-unambiguous-definitions", task_definition(containerDefinitions=text))
    assert "holds 2 JSON documents" in ambiguity


def test_a_value_of_the_wrong_type_is_refused_like_the_provider_does():
    text = '[{"name": "app", "Privileged": "true"}]'
    [message] = check("ecs-taskdef-no-privileged", task_definition(containerDefinitions=text))
    assert "containerDefinitions[0].privileged must be true or false" in message


def test_kelvin_sign_and_long_s_fold_like_go():
    # bytes.EqualFold: U+017F (long s) is an s, so "ſecrets" is the secrets field.
    [secret] = check("ecs-taskdef-no-plaintext-secrets", task_definition([
        {"name": "app", "image": "x:1", "environment": [{"name": "API_TOKEN", "value": "abc"}]}]))
    assert "API_TOKEN" in secret
    text = '[{"name": "app", "image": "x:1", "privileged": false, "privileged": true}]'
    assert len(check("ecs-taskdef-no-privileged", task_definition(containerDefinitions=text))) == 1
    text = '[{"name": "app", "image": "x:1", "\\u017fecrets": [{"name": "A", "valueFrom": "arn:x"}], "secrets": []}]'
    assert len(check("ecs-taskdef-unambiguous-definitions", task_definition(containerDefinitions=text))) == 1


def test_api_constraints_read_pascal_case_container_definitions():
    text = json.dumps([{"Name": "app", "Image": "x:1", "HealthCheck": {"Command": ["CMD", "true"], "Retries": 99}}])
    messages = violations("aws-api-constraints", TASK_DEFINITION, task_definition(containerDefinitions=text))
    assert any("containerDefinitions[0].healthCheck.retries" in m for m in messages), messages


# Decisions (issue 9)

@pytest.mark.parametrize("image", ["nginx:LATEST", "nginx:Latest", f"{REPOSITORY_URL}:LaTeSt"])
def test_latest_in_any_casing_is_the_latest_tag(image):
    [message] = check("ecs-image-no-latest-tag", task_definition([container(image=image)]))
    assert "':latest' changes under a running service" in message


def test_a_tag_that_starts_with_latest_is_a_version():
    assert check("ecs-image-no-latest-tag", task_definition([container(image="nginx:latest-2024")])) == []


@pytest.mark.parametrize("task_role", [
    "web-execution", "WEB-EXECUTION", EXECUTION_ROLE_ARN.replace("role/", "role/service-role/"),
])
def test_task_role_by_name_or_arn_that_is_the_execution_role_fails(task_role):
    [message] = check("ecs-taskdef-distinct-roles", task_definition(taskRoleArn=task_role))
    assert "name the same role" in message


def test_roles_of_the_same_name_in_other_accounts_are_different():
    props = task_definition(taskRoleArn="arn:aws:iam::210987654321:role/web-execution")
    assert check("ecs-taskdef-distinct-roles", props) == []
    assert check("ecs-taskdef-distinct-roles", task_definition(taskRoleArn="web-task")) == []


@pytest.mark.parametrize("added", [["SYS_ADMIN"], ["CAP_NET_ADMIN"], ["SYS_PTRACE", "NET_RAW"], ["ALL"]])
def test_adding_capabilities_other_than_sys_ptrace_fails(added):
    props = task_definition([container(linuxParameters={"capabilities": {"add": added}})])
    [message] = check("ecs-taskdef-no-privileged", props)
    assert "adds Linux capabilities" in message and "only SYS_PTRACE" in message


@pytest.mark.parametrize("added", [["SYS_PTRACE"], ["CAP_SYS_PTRACE"], []])
def test_sys_ptrace_and_dropping_capabilities_pass(added):
    props = task_definition([container(linuxParameters={"capabilities": {"add": added, "drop": ["ALL"]}})])
    assert check("ecs-taskdef-no-privileged", props) == []


@pytest.mark.parametrize("name, value", [
    ("SMTP_PASS", "s3cr3t"), ("ADMIN_PASSWORD", "pw"), ("SESSION_SECRET", "x9"), ("SLACK_TOKEN", "xoxb-1"),
    ("STRIPE_KEY", "sk_live_1"), ("JWT_SIGNING_KEY_V2", "abc"), ("PRIVATE_PEM", "abc"),
    ("GCP_CREDENTIALS_JSON", '{"type": "service_account"}'), ("PASSWORD", "pw"),
])
def test_credential_like_names_with_secret_values_fail(name, value):
    [message] = check("ecs-taskdef-no-plaintext-secrets", task_definition([container(environment=[
        {"name": name, "value": value}])]))
    assert name in message


@pytest.mark.parametrize("name, value", [
    ("PASSWORD_MIN_LENGTH", "12"), ("TOKEN_TTL_SECONDS", "900"), ("SESSION_TOKEN_TTL", "15m"),
    ("REFRESH_TOKEN", "1h30m"), ("API_TOKEN", "PT15M"), ("USE_PRIVATE_LINK", "true"), ("CACHE_KEY", "false"),
    ("AWS_ACCESS_KEY_ID", "my-key-id"), ("KMS_KEY_ID", "alias/app"), ("TOKEN_ENDPOINT", "https://auth/token"),
    ("DB_SECRET", "arn:aws:secretsmanager:eu-west-1:1:secret:db"), ("CACHE_BYPASS", "on"),
    ("JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"),
    ("PASSWORD_RESET_URL", "https://example.com/reset"), ("KEYCLOAK_REALM", "main"),
])
def test_settings_under_credential_like_names_pass(name, value):
    assert check("ecs-taskdef-no-plaintext-secrets", task_definition([container(environment=[
        {"name": name, "value": value}])])) == []


# ecs-image-allowed-registries: the stack's own ECR and public.ecr.aws

OWN_ECR = ["{account}.dkr.ecr.{region}.amazonaws.com/", "public.ecr.aws/"]


def registries(image, provider_region=REGION, allowed=OWN_ECR, **overrides):
    from pulumi_policy import PolicyProviderResource
    from policy_evaluation import evaluate, over_the_wire, resource_args
    from pulumi_policy.proxy import unknown_checking_proxy

    from ecs_fargate_rules import POLICIES_BY_NAME

    args = resource_args(TASK_DEFINITION, task_definition([container(image=image)], **overrides),
                         config={"allowedRegistries": allowed})
    if provider_region is not None:
        args.provider = PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy(
            over_the_wire({"region": provider_region})), "urn:pulumi:dev::p::pulumi:providers:aws::default", "default")
    return [v.message for v in evaluate(POLICIES_BY_NAME["ecs-image-allowed-registries"], args)]


def test_own_ecr_and_public_ecr_are_allowed():
    assert registries(f"{REPOSITORY_URL}:1.2") == []
    assert registries("public.ecr.aws/docker/library/redis:7.2") == []


@pytest.mark.parametrize("image", [
    "210987654321.dkr.ecr.eu-west-1.amazonaws.com/web:1.2",  # another account
    f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web:1.2",   # another region
    "nginx:1.25", "ghcr.io/team/app:1.0",
])
def test_other_registries_fail(image):
    [message] = registries(image)
    assert "not under an allowed registry prefix" in message and f"{{account}} is {ACCOUNT}" in message


def test_a_release_repository_in_another_account_is_allowed_by_config():
    release = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/ecs-fargate-release"
    image = f"{release}:3f2a1b9@{DIGEST}"
    assert len(registries(image)) == 1
    assert registries(image, allowed=[*OWN_ECR, release]) == []


def test_without_a_provider_region_the_own_account_in_any_region_is_allowed():
    assert registries(f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web:1.2", provider_region=None) == []


def test_without_a_role_arn_the_own_account_is_unknown():
    [message] = registries(f"{REPOSITORY_URL}:1.2", executionRoleArn="web-execution", taskRoleArn=None)
    assert "{account} unknown" in message
