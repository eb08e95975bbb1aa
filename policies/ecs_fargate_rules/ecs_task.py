"""Rules for ECS task definitions (`aws:ecs/taskDefinition:TaskDefinition`).

`containerDefinitions` is a JSON string in pulumi-aws, so container-level rules parse it with
`containers()`; when the string is unknown during preview (it usually embeds an image that is
built in the same update), the SDK reports the rule as not runnable until `pulumi up`, where
inputs are known and the rule runs for real before the task definition is registered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    Severity,
)

from ._common import (
    TASK_DEFINITION,
    Config,
    Props,
    ResourceRule,
    as_list,
    containers,
    cpu_units,
    is_set,
    mapping,
    memory_mib,
    parse_image_reference,
    read_container_definitions,
)


def check_execution_role(props: Props, config: Config) -> Iterator[str]:
    if not is_set(props, "executionRoleArn"):
        yield ("executionRoleArn is not set, so ECS cannot pull from a private registry, ship logs "
               "with awslogs or inject secrets into the containers.")


def check_no_latest_tag(props: Props, config: Config) -> Iterator[str]:
    for name, container in containers(props):
        image = container.get("image")
        if not isinstance(image, str):
            continue
        reference = parse_image_reference(image)
        if reference.digest:
            continue  # a digest names exactly one image, whatever the tag says
        if reference.tag is None:
            yield (f"container '{name}' uses image '{image}' without a tag, which means ':latest'; "
                   "pin a version tag or an @sha256 digest.")
        elif reference.tag.lower() == "latest":  # ':LATEST' is the same moving tag to a reader
            yield (f"container '{name}' uses image '{image}'; ':latest' changes under a running "
                   "service, so pin a version tag or an @sha256 digest.")


_ARN_ACCOUNT = re.compile(r"^arn:[^:]+:[^:]*:[^:]*:(\d{12}):")


def _stack_account(props: Props) -> str | None:
    """The task definition's account: ECS requires its execution role (and task role) to be in
    it, so the account of whichever is an ARN; None when neither is."""
    for key in ("executionRoleArn", "taskRoleArn"):
        match = _ARN_ACCOUNT.match(str(props.get(key) or ""))
        if match:
            return match.group(1)
    return None


def _prefix_pattern(prefix: str, account: str | None, region: str | None) -> re.Pattern[str]:
    """An allowed prefix as a regex; `{account}` and `{region}` stand for the stack's own.

    An account that cannot be told matches nothing (the image must then be listed explicitly);
    a region that cannot be told (no provider region) matches any region.
    """
    parts = re.split(r"(\{account\}|\{region\})", prefix)
    out = []
    for part in parts:
        if part == "{account}":
            out.append(re.escape(account) if account else r"(?!)")
        elif part == "{region}":
            out.append(re.escape(region) if region else r"[a-z0-9-]+")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


def check_allowed_registries(props: Props, config: Config, provider: Props | None = None) -> Iterator[str]:
    allowed = list(config["allowedRegistries"])
    if not allowed:
        return
    plain = [prefix for prefix in allowed if "{" not in prefix]
    templated = [prefix for prefix in allowed if "{" in prefix]
    for name, container in containers(props):
        image = container.get("image")
        if not isinstance(image, str):
            continue
        location = parse_image_reference(image).location
        if any(location.startswith(prefix) for prefix in plain):
            continue
        if templated:  # read the roles and the provider only when an image needs them
            account = _stack_account(props)
            region = mapping(provider).get("region") if provider is not None else None
            if any(_prefix_pattern(prefix, account, region if isinstance(region, str) else None)
                   .match(location) for prefix in templated):
                continue
            shown_prefixes = ", ".join(allowed) + (
                f" ({{account}} is {account}" + (f", {{region}} {region}" if isinstance(region, str) else "")
                + ")" if account else " ({account} unknown: executionRoleArn is not an ARN)")
        else:
            shown_prefixes = ", ".join(allowed)
        yield (f"container '{name}' pulls '{image}' ({location}), which is not under an allowed "
               f"registry prefix: {shown_prefixes}.")


def check_unambiguous_definitions(props: Props, config: Config) -> Iterator[str]:
    for ambiguity in read_container_definitions(props.get("containerDefinitions")).ambiguities:
        yield (f"{ambiguity}: a reviewer reads one value and AWS gets another; write each field once "
               "(keys are matched whatever their case).")


def _role_identity(value: str) -> tuple[str | None, str]:
    """(account or None, lower-cased role name) of a role given by ARN or by name.

    ECS takes either for both roles; an ARN's name is its last path segment, and IAM role names
    are unique case-insensitively within an account.
    """
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        account = parts[4] if len(parts) == 6 else None
        return account or None, value.rsplit("/", 1)[-1].lower()
    return None, value.rsplit("/", 1)[-1].lower()


def _same_role(first: str, second: str) -> bool:
    (account_a, name_a), (account_b, name_b) = _role_identity(first), _role_identity(second)
    return name_a == name_b and (account_a is None or account_b is None or account_a == account_b)


def check_distinct_roles(props: Props, config: Config) -> Iterator[str]:
    task_role, execution_role = props.get("taskRoleArn"), props.get("executionRoleArn")
    if isinstance(task_role, str) and isinstance(execution_role, str) and task_role and execution_role \
            and _same_role(task_role, execution_role):
        yield (f"taskRoleArn and executionRoleArn are the same role ({task_role}), so the "
               "application's code holds ECS's permissions too (image pulls, every secret the "
               "task is given)." if task_role == execution_role else
               f"taskRoleArn ({task_role}) and executionRoleArn ({execution_role}) name the same role, "
               "so the application's code holds ECS's permissions too (image pulls, every secret the "
               "task is given).")


def check_logging(props: Props, config: Config) -> Iterator[str]:
    for name, container in containers(props):
        if not mapping(container.get("logConfiguration")).get("logDriver"):
            yield f"container '{name}' has no logConfiguration.logDriver, so its output is lost."


# The one capability Fargate lets a container add (platform version 1.4.0 and later).
ALLOWED_CAPABILITIES = frozenset({"SYS_PTRACE"})


def check_no_privileged(props: Props, config: Config) -> Iterator[str]:
    for name, container in containers(props):
        if container.get("privileged") is True:
            yield f"container '{name}' sets privileged: true (root on the host)."
        added = as_list(mapping(mapping(container.get("linuxParameters")).get("capabilities")).get("add"))
        extra = [str(c) for c in added
                 if str(c).upper().removeprefix("CAP_") not in ALLOWED_CAPABILITIES]
        if extra:
            yield (f"container '{name}' adds Linux capabilities {', '.join(extra)} in "
                   "linuxParameters.capabilities.add; only SYS_PTRACE may be added (the one Fargate "
                   "allows), any other widens what a compromised process can do to the kernel.")


def check_awsvpc(props: Props, config: Config) -> Iterator[str]:
    mode = props.get("networkMode")
    if mode != "awsvpc":
        current = f"'{mode}'" if mode else "not set (bridge on EC2)"
        yield (f"networkMode is {current}; use 'awsvpc' so each task has its own network interface "
               "and security group.")


# Names that announce a credential (the names are upper-cased, '-' and '.' read as '_'): one
# that is, or ends in, PASS, PASSWORD, SECRET, TOKEN or KEY (not KEY_ID, which names a key),
# or that contains SIGNING_KEY, PRIVATE or CREDENTIAL anywhere; also PASSWD and ECS's
# ECS_ENGINE_AUTH_DATA (registry credentials).
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:PASS|PASSWD|PASSWORD|SECRET|TOKEN|KEY)$|SIGNING_KEY|PRIVATE|CREDENTIAL|AUTH_DATA"
)
# Values that are credentials whatever the variable is called.
_SECRET_VALUES = (
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@"), "a URL with an embedded password"),
)
# Values that are settings, not secrets, even under a credential-like name
# (PASSWORD_MIN_LENGTH=12, TOKEN_TTL_SECONDS=900, SESSION_TOKEN_REFRESH=15m, USE_PRIVATE_LINK=true).
_SETTING_VALUE = re.compile(
    r"[+-]?\d+(?:\.\d+)?"                                    # a number
    r"|(?:\d+(?:\.\d+)?\s*(?:ns|us|µs|ms|s|sec|secs|seconds?|m|mins?|minutes?|h|hrs?|hours?"
    r"|d|days?|w|weeks?))+"                                   # a duration: 900s, 1h30m, 7 days
    r"|P(?:\d+[YMWD])*(?:T(?:\d+(?:\.\d+)?[HMS])+)?"          # an ISO 8601 duration: PT15M
    r"|true|false|yes|no|on|off|enabled?|disabled?|none|null",  # a boolean or an empty setting
    re.IGNORECASE,
)
# A public key or certificate is meant to be shared.
_PUBLIC_PEM = re.compile(r"^-----BEGIN (?:PUBLIC KEY|CERTIFICATE|RSA PUBLIC KEY)-----")


def _credential_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(re.sub(r"[-.]", "_", name.upper())))


def _secret_looking(value: str) -> bool:
    """Whether a value under a credential-like name could be the credential: not a number,
    boolean or duration, not an ARN (a pointer to the secret), not a public key."""
    text = value.strip()
    return bool(text) and not _SETTING_VALUE.fullmatch(text) and not text.startswith("arn:") \
        and not _PUBLIC_PEM.match(text)


def _secret_finding(name: str, value: str, allowed_names: set[str]) -> str | None:
    """Why an environment variable looks like a credential, or None.

    The message never quotes the value: policy output ends up in CI logs.
    """
    for pattern, what in _SECRET_VALUES:
        if pattern.search(value):
            return f"its value contains {what}"
    if name not in allowed_names and _credential_name(name) and _secret_looking(value):
        return "its name suggests a credential (and its value is not a number, boolean or duration)"
    return None


def check_no_plaintext_secrets(props: Props, config: Config) -> Iterator[str]:
    allowed_names = set(config["allowedNames"])
    for container_name, container in containers(props):
        for variable in as_list(container.get("environment")):
            name = str(mapping(variable).get("name") or "")
            value = mapping(variable).get("value")
            if not name or not isinstance(value, str) or not value:
                continue
            reason = _secret_finding(name, value, allowed_names)
            if reason:
                yield (f"container '{container_name}' passes {name} as a plaintext environment "
                       f"variable and {reason}; move it to 'secrets' (Secrets Manager or SSM "
                       "Parameter Store).")


def _memory_steps(low: int, high: int, step: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1, step))


# Task-level cpu units -> the memory sizes (MiB) Fargate accepts with it (ECS developer guide,
# "Task CPU and memory").
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _memory_steps(1024, 4096, 1024),
    1024: _memory_steps(2048, 8192, 1024),
    2048: _memory_steps(4096, 16384, 1024),
    4096: _memory_steps(8192, 30720, 1024),
    8192: _memory_steps(16384, 61440, 4096),
    16384: _memory_steps(32768, 122880, 8192),
}


def _memory_choices(cpu: int) -> str:
    sizes = FARGATE_SIZES[cpu]
    if len(sizes) <= 3:
        return ", ".join(map(str, sizes))
    return f"{sizes[0]} to {sizes[-1]} in steps of {sizes[1] - sizes[0]}"


def check_fargate_size(props: Props, config: Config) -> Iterator[str]:
    if "FARGATE" not in as_list(props.get("requiresCompatibilities")):
        return
    cpu_value, memory_value = props.get("cpu"), props.get("memory")
    cpu, memory = cpu_units(cpu_value), memory_mib(memory_value)
    if cpu is None or memory is None:
        yield (f"Fargate needs task-level cpu and memory; got cpu {cpu_value!r} and memory "
               f"{memory_value!r}.")
    elif cpu not in FARGATE_SIZES:
        yield (f"cpu {cpu_value!r} is not a Fargate size; valid CPU units: "
               f"{', '.join(map(str, FARGATE_SIZES))}.")
    elif memory not in FARGATE_SIZES[cpu]:
        yield (f"memory {memory_value!r} ({memory} MiB) does not fit cpu {cpu_value!r}; with {cpu} "
               f"CPU units Fargate accepts {_memory_choices(cpu)} MiB.")


def check_readonly_rootfs(props: Props, config: Config) -> Iterator[str]:
    family = mapping(props.get("runtimePlatform")).get("operatingSystemFamily") or ""
    if str(family).startswith("WINDOWS"):
        return  # Windows containers cannot have a read-only root filesystem
    for name, container in containers(props):
        if container.get("readonlyRootFilesystem") is not True:
            yield (f"container '{name}' can write to its root filesystem; set "
                   "readonlyRootFilesystem: true and mount volumes for the paths it writes.")


POLICIES = [
    ResourceRule(
        name="ecs-taskdef-execution-role-required",
        description="ECS task definitions must set an execution role.",
        checks={TASK_DEFINITION: check_execution_role},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        rationale=("Without an execution role a task cannot pull from ECR, write awslogs or read "
                   "secrets; the deploy then hangs or fails at task start instead of at preview."),
        remediation_steps=("Create a role trusted by ecs-tasks.amazonaws.com with the "
                           "AmazonECSTaskExecutionRolePolicy and set executionRoleArn to its ARN."),
    ),
    ResourceRule(
        name="ecs-image-no-latest-tag",
        description="Container images must be pinned to a version tag or digest, not ':latest' or untagged.",
        checks={TASK_DEFINITION: check_no_latest_tag},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        rationale=("':latest' (or no tag) makes a deploy unrepeatable: tasks started later, or "
                   "replaced by ECS, can run a different image than the one that was reviewed."),
        remediation_steps=("Reference the image by a version tag (repo:1.4.2) or, better, by "
                           "digest (repo@sha256:...)."),
    ),
    ResourceRule(
        context=("provider",),
        name="ecs-image-allowed-registries",
        description="Container images must come from an allowed registry (when a list is configured).",
        checks={TASK_DEFINITION: check_allowed_registries},
        enforcement_level=EnforcementLevel.ADVISORY,
        severity=Severity.MEDIUM,
        config_schema=PolicyConfigSchema(properties={
            "allowedRegistries": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": [],
                "description": ("Prefixes of registry/repository, e.g. 'public.ecr.aws/' or "
                                "'210987654321.dkr.ecr.us-east-1.amazonaws.com/release' (a release "
                                "repository in another account). '{account}' and '{region}' stand for "
                                "the stack's own (the account of executionRoleArn, the provider's region), "
                                "so '{account}.dkr.ecr.{region}.amazonaws.com/' is the stack's own ECR. "
                                "Images without a registry are on 'docker.io/' ('docker.io/library/' for "
                                "official images). Empty allows every registry."),
            },
        }),
        rationale=("Pulling only from registries you control (and scan) keeps unreviewed "
                   "third-party images out of production."),
        remediation_steps=("Push the image to an allowed registry (such as the stack's ECR "
                           "repository) and reference it there, or add its registry (say a release "
                           "repository in another account) to allowedRegistries."),
    ),
    ResourceRule(
        name="ecs-taskdef-unambiguous-definitions",
        description=("Container definitions must set each field once (not in two casings, not in "
                     "a second JSON document)."),
        checks={TASK_DEFINITION: check_unambiguous_definitions},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        rationale=("The provider matches keys whatever their case and lets the later of two win, so "
                   "'privileged': false beside 'Privileged': true reads as safe in a review and runs "
                   "privileged; the pack judges what AWS gets, and this rule flags the disguise itself."),
        remediation_steps="Remove the duplicate key, keeping the value you mean, in one casing.",
    ),
    ResourceRule(
        name="ecs-taskdef-distinct-roles",
        description="The task role and the execution role of a task definition must be different roles.",
        checks={TASK_DEFINITION: check_distinct_roles},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        rationale=("The execution role can read every secret the task is given and pull images; "
                   "as the task role, those permissions become the application's own."),
        remediation_steps=("Give the application its own task role with only the permissions "
                           "its code uses, and keep the execution role for ECS."),
    ),
    ResourceRule(
        name="ecs-taskdef-logging",
        description="Every container of an ECS task definition must have a log configuration.",
        checks={TASK_DEFINITION: check_logging},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        security_hub_control="ECS.9",
        rationale=("A container without a log driver leaves nothing to debug a failed deploy "
                   "or an incident with."),
        remediation_steps=("Add logConfiguration with logDriver 'awslogs' (and awslogs-group, "
                           "awslogs-region, awslogs-stream-prefix options) to every container."),
    ),
    ResourceRule(
        name="ecs-taskdef-no-privileged",
        description="ECS containers must not run privileged.",
        checks={TASK_DEFINITION: check_no_privileged},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        security_hub_control="ECS.4",
        rationale="A privileged container is root on its host; one compromised app then owns the host.",
        remediation_steps="Remove privileged: true; grant specific Linux capabilities only where needed.",
    ),
    ResourceRule(
        name="ecs-taskdef-awsvpc",
        description="ECS task definitions must use the awsvpc network mode.",
        checks={TASK_DEFINITION: check_awsvpc},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        rationale=("Only awsvpc gives every task its own ENI and security group, which the "
                   "ingress rules of this stack rely on; Fargate accepts nothing else."),
        remediation_steps="Set networkMode: 'awsvpc' and give the service a networkConfiguration.",
    ),
    ResourceRule(
        name="ecs-taskdef-no-plaintext-secrets",
        description="Container environment variables must not hold credentials; use 'secrets' instead.",
        checks={TASK_DEFINITION: check_no_plaintext_secrets},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        security_hub_control="ECS.8",
        config_schema=PolicyConfigSchema(properties={
            "allowedNames": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": [],
                "description": ("Variable names that look like credentials but are not (e.g. "
                                "TOKEN_ENDPOINT). Their values are still checked for keys and "
                                "passwords."),
            },
        }),
        rationale=("Environment values are stored in the task definition in plain text and are "
                   "readable by anyone with ecs:DescribeTaskDefinition, and they end up in state "
                   "files and CI logs."),
        remediation_steps=("Store the value in Secrets Manager or SSM Parameter Store and pass it "
                           "through the container's 'secrets' (name + valueFrom ARN); if the "
                           "name is a false positive, add it to allowedNames."),
    ),
    ResourceRule(
        name="ecs-taskdef-fargate-size",
        description="Fargate task definitions must use a cpu/memory combination that Fargate supports.",
        checks={TASK_DEFINITION: check_fargate_size},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.LOW,
        rationale=("ECS rejects an unsupported size only when the task definition is registered; "
                   "catching it at preview saves a failed deploy."),
        remediation_steps=("Pick a supported pair, e.g. cpu 256 with 512/1024/2048 MiB, cpu 1024 "
                           "with 2048-8192 MiB (see 'Task CPU and memory' in the ECS guide)."),
    ),
    ResourceRule(
        name="ecs-taskdef-readonly-rootfs",
        description="ECS containers should have a read-only root filesystem.",
        checks={TASK_DEFINITION: check_readonly_rootfs},
        enforcement_level=EnforcementLevel.ADVISORY,
        severity=Severity.MEDIUM,
        security_hub_control="ECS.5",
        rationale=("A read-only root filesystem stops an attacker or a bug from changing the "
                   "image's binaries; many apps need writable paths, so this stays advisory."),
        remediation_steps=("Set readonlyRootFilesystem: true and mount a task volume at each path "
                           "the app writes (e.g. /tmp)."),
    ),
]
