"""The stack's configuration: read once, validated completely, handed to components as plain values.

Every problem in a stack's config is collected and reported together, each under the key path
a user would edit (``services.api.memory``) with what would be valid. Nothing here creates a
resource, so a bad config never leaves a half-registered stack behind.

Validation is about well-formedness only. Organisational rules ("no ``:latest`` in prod") live
in the policy pack, so that dev can still do what prod must not.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pulumi

from components.cluster import ClusterArgs
from components.deployment import (
    HOOK_STAGES, KNOB_STRATEGY, STRATEGIES, DeploymentSpec, LifecycleHookSpec, check_deployment,
)
from components.fargate_service import (
    DEFAULT_DESIRED_COUNT, AutoscalingSpec, RollbackAlarmSpec, ServiceSpec, check_service, name_features,
)
from components.image import EXACTLY_ONE_SOURCE, NOT_A_TAG, NOT_AN_IMAGE, DockerBuild, ImageSource
from components.listener_rules import assign_routes
from components.load_balancer import LoadBalancerSpec, check_load_balancer
from components.network import NetworkArgs, check_network, check_subnet_room
from components.registry import RegistryArgs
from components.scheduled_task import ScheduledJobSpec, check_job
from components.task_definition import ContainerHealthCheck, TaskSpec, check_task
from components.task_roles import check_statement
from components.validation import (
    FARGATE_SIZES, IMAGE, NAME_RULES, TAG, Invalid, Problems, check_bool, check_derived_names, check_int,
    check_number, check_string, check_timezone, constraint_of, default_of, unknown_keys,
)
from components.validation import NAME as _NAME
from components.validation import derived_names as _derived_names
from components.validation import name_error as _name_error
from components.validation import CERTIFICATE_ARN as _CERT_ARN
from components.validation import camel as _camel
from components.validation import describe as _describe
from components.validation import is_digits as _is_digits
from components.validation import join as _join

NAMESPACE = "ecs-fargate"
ENVIRONMENTS = ("dev", "staging", "prod")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
RELEASE_IMAGE_FORM = "REGISTRY/REPOSITORY[:TAG]@sha256:<64 lowercase hex>"
# ECS RegisterTaskDefinition: an image reference is at most 255 characters.
_IMAGE_MAX_LENGTH = 255
_REGION = re.compile(r"^[a-z]+(?:-[a-z]+)*-[0-9]+$")
# ARN partitions and the names of their regions, as botocore's data/partitions.json has them
# (`regionRegex`; ASCII \w and \d). botocore is not a dependency of the program, so the table is
# kept here and tests/test_settings.py compares it with the copy botocore ships.
PARTITIONS = (
    ("aws", r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$"),
    ("aws-cn", r"^cn\-\w+\-\d+$"),
    ("aws-eusc", r"^eusc\-(de)\-\w+\-\d+$"),
    ("aws-iso", r"^us\-iso\-\w+\-\d+$"),
    ("aws-iso-b", r"^us\-isob\-\w+\-\d+$"),
    ("aws-iso-e", r"^eu\-isoe\-\w+\-\d+$"),
    ("aws-iso-f", r"^us\-isof\-\w+\-\d+$"),
    ("aws-us-gov", r"^us\-gov\-\w+\-\d+$"),
)
_PARTITION_OF = tuple((partition, re.compile(pattern, re.ASCII)) for partition, pattern in PARTITIONS)


class SettingsError(pulumi.RunError):
    """A stack config that cannot be deployed. Pulumi prints a RunError without a traceback."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Invalid stack configuration ({count}); nothing was deployed:\n{lines}")


# ---------------------------------------------------------------------------------------------
# Reading: a small checker that records every problem with its key path and carries on.

_MISSING = object()


class _Checker(Problems):
    """Problems named by config key paths (camelCase), with secrets never quoted."""

    def __init__(self, secret_roots: Collection[str] = ()) -> None:
        super().__init__(camel=True)
        self.secret_roots = frozenset(secret_roots)
        """Top-level keys the engine marks secret ("services", "aws:region"): Pulumi marks a
        whole key secret when any value in it is, so nothing under one is ever quoted."""

    def is_secret(self, path: str) -> bool:
        return re.split(r"[.\[]", path, maxsplit=1)[0] in self.secret_roots

    def show(self, path: str, value: Any) -> str:
        """A value as an error message quotes it: `<secret>` for one under a secret key."""
        return "<secret>" if self.is_secret(path) else _describe(value)

    def reject(self, path: str, value: Any, invalid: Invalid) -> None:
        detail = f" ({invalid.detail})" if invalid.detail and not self.is_secret(path) else ""
        self.fail(path, f"{self.show(path, value)} {invalid.reason}{detail}")

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...] | None = None) -> dict:
        """A mapping whose keys are all in `allowed` (None: any string keys). Absent, null and ""
        (how the CLI passes a top-level key left empty in the stack file) are empty."""
        if value is None or value is _MISSING or value == "":
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, f"expected a mapping, got {self.show(path, value)}")
            return {}
        if allowed is not None:
            unknown_keys(self, value, path, allowed)
        return dict(value)

    def read(self, data: Mapping, key: Key, path: str, environment: str = "dev", **given: Any) -> Any:
        """`key`'s value in `data`, checked as declared; `given` replaces parts of the declaration
        that depend on the stack (a default computed from other keys, a check that needs the region)."""
        key = replace(key, **given) if given else key
        default = key.default_for(environment)
        if key.kind == "bool":
            return self.boolean(data, key.name, path, default)
        if key.kind == "int":
            return self.integer(data, key.name, path, default, key.low, key.high, key.allowed)
        if key.kind == "number":
            return self.number(data, key.name, path, default, key.low, key.high, key.step)
        if key.kind == "string":
            return self.string(data, key.name, path, default, pattern=re.compile(key.pattern) if key.pattern else None,
                               expected=key.expected, choices=key.choices, check=key.check)
        if key.kind == "strings":
            if key.name not in data:
                return default or ()
            return self.string_list(data, key.name, path, key.check, key.min_items)
        if key.kind == "map":
            return self.string_map(data, key.name, path, key.check_key or (lambda name: None), key.check)
        raise TypeError(f"{key.name}: a {key.kind} is read by its section")

    def integer(self, data: Mapping, key: str, path: str, default: int | None,
                low: int, high: int, allowed: tuple[int, ...] | None = None) -> int | None:
        value = data.get(key, _MISSING)
        if value is _MISSING or value is None:
            return default
        where = _join(path, key)
        if isinstance(value, str) and _is_digits(value.strip()):
            value = int(value)
        return value if check_int(self, where, value, low, high, allowed) else default

    def number(self, data: Mapping, key: str, path: str, default: float | None,
               low: float, high: float, step: float | None = None) -> float | None:
        """An int or a float, as YAML writes them (`10`, `2.5`; `2.0` reaches the program as 2). A
        string is refused, even one that reads as a number: `pulumi config set --path` stores a
        decimal as one unless given `--type float`, and the message says so."""
        value = data.get(key, _MISSING)
        if value is _MISSING or value is None:
            return default
        where = _join(path, key)
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)\s*", value):
            self.fail(where, f"expected a number from {low:g} to {high:g}, got {self.show(where, value)}, a string: "
                             "write it unquoted, or set it with `pulumi config set --path --type float`")
            return default
        return value if check_number(self, where, value, low, high, step) else default

    def boolean(self, data: Mapping, key: str, path: str, default: bool) -> bool:
        value = data.get(key, _MISSING)
        if value is _MISSING or value is None:
            return default
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value if check_bool(self, _join(path, key), value) else default

    def string(self, data: Mapping, key: str, path: str, default: str | None = None,
               pattern: re.Pattern | None = None, expected: str = "",
               choices: tuple[str, ...] | None = None,
               check: Callable[[str], Invalid | None] | None = None) -> str | None:
        value = data.get(key, _MISSING)
        if value is _MISSING or value is None:
            return default
        ok = check_string(self, _join(path, key), value, expected=expected, choices=choices, pattern=pattern,
                          check=check)
        return value if ok else default

    def string_list(self, data: Mapping, key: str, path: str,
                    check: Callable[[str], Invalid | None] | None = None,
                    min_items: int = 0) -> tuple[str, ...]:
        value = data.get(key, _MISSING)
        if value is _MISSING or value is None:
            return ()
        where = _join(path, key)
        if isinstance(value, str) or not isinstance(value, list) or not all(
            isinstance(v, str) and v for v in value
        ):
            self.fail(where, f"expected a list of non-empty strings, got {self.show(where, value)}")
            return ()
        if len(value) < min_items:
            self.fail(where, f"expected at least {min_items} item(s), got {len(value)}")
        for index, item in enumerate(value):
            if check and (invalid := check(item)):
                self.reject(f"{where}[{index}]", item, invalid)
        return tuple(value)

    def string_map(self, data: Mapping, key: str, path: str,
                   check_key: Callable[[str], str | None],
                   check_value: Callable[[str], Invalid | None] | None = None) -> dict[str, str]:
        where = _join(path, key)
        raw = data.get(key)
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.fail(where, f"expected a mapping of names to strings, got {self.show(where, raw)}")
            return {}
        result: dict[str, str] = {}
        for name, value in raw.items():
            error = check_key(str(name))
            if error:
                self.fail(f"{where}.{name}", error)
                continue
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                self.fail(f"{where}.{name}", f"expected a string, got {self.show(where, value)}")
                continue
            value = str(value)
            if check_value and (invalid := check_value(value)):
                self.reject(f"{where}.{name}", value, invalid)
                continue
            result[str(name)] = value
        return result


def _string_keys(c: _Checker, value: Any, path: str) -> Any:
    """`value` with every mapping key a string; a key that is not one is reported under its path.

    Through the engine keys are always strings (config reaches the program as JSON); a caller
    of `parse` may hand over what a YAML library made of `200:` or `true:`.
    """
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            shown = json.dumps(key) if isinstance(key, (bool, type(None))) else str(key)
            where = _join(path, shown)
            if not isinstance(key, str):
                c.fail(where, f"the key {shown} is not a string; quote it: '{shown}'")
            result[shown] = _string_keys(c, item, where)
        return result
    if isinstance(value, list):
        return [_string_keys(c, item, f"{path}[{index}]") for index, item in enumerate(value)]
    return value


def _partition(region: str) -> str | None:
    """The ARN partition a region belongs to (None: a name no partition has)."""
    return next((partition for partition, pattern in _PARTITION_OF if pattern.match(region)), None)


def _is_region(name: str) -> bool:
    return bool(_REGION.fullmatch(name)) and _partition(name) is not None


def _certificate_error(value: str, region: str | None, shown_region: str) -> Invalid | None:
    """An ACM certificate ARN in the stack's own region: an ALB listener takes no other.
    `shown_region`: the region as a message may quote it (<secret> when aws:region is)."""
    if invalid := constraint_of(LoadBalancerSpec, "certificate_arn").check(value):
        return invalid
    match = _CERT_ARN.match(value)
    if region and match["partition"] != _partition(region):
        return Invalid(f"is not an ARN of the {_partition(region)} partition, which {shown_region} belongs to")
    if region and match["region"] != region:
        return Invalid(f"is from another region than the stack's aws:region {shown_region}; an ALB uses only ACM "
                       "certificates from its own region: request or import one there", f"it is in {match['region']}")
    return None


# ---------------------------------------------------------------------------------------------
# The declarations: every config key once, with its type, default, valid values and what it is
# for. The checker below reads them; `config_reference` renders docs/configuration.md's tables
# and the stack files' JSON Schema (schema/stack-config.schema.json) from them.


@dataclass(frozen=True)
class ByEnvironment:
    """A default that differs per environment."""

    dev: Any
    staging: Any
    prod: Any

    def of(self, environment: str) -> Any:
        return getattr(self, environment)


@dataclass(frozen=True)
class Key:
    """One config key: what the checker enforces and what the docs and the schema say."""

    name: str
    kind: Literal["bool", "int", "number", "string", "strings", "map", "object", "named", "build", "statements",
                  "string-or-list", "mapping"]
    """`number`: an int or a float (`low`..`high`, a multiple of `step`); `named`: a map of names to
    objects (services); `build`: a directory or an object; `statements`: a list of objects, each
    with `keys` (IAM statements, lifecycle hooks); `string-or-list`: one string or a list of them;
    `mapping`: any object (an IAM Condition)."""
    description: str
    """What the key does and why, one sentence or a few."""
    default: Any = None
    """A value, a ByEnvironment, or None: absent means not set."""
    low: int | float | None = None
    high: int | float | None = None
    step: float | None = None
    """For a number: its granularity."""
    allowed: tuple[int, ...] | None = None
    """For an int: the only values it takes."""
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    expected: str = ""
    """For a string: what it should be, as a message says it ("a VPC id like vpc-...")."""
    check: Callable[[str], Invalid | None] | None = None
    """Why a string, an item of a list or a value of a map is refused."""
    check_key: Callable[[str], str | None] | None = None
    """For a map: why a name is refused."""
    min_items: int = 0
    keys: tuple[Key, ...] = ()
    """The keys of an object, of each entry of a named map, of a build object."""
    required: bool = False
    valid: str = ""
    """What is valid beyond the type, range and choices, as the docs say it."""
    default_text: str = ""
    """The default as the docs say it, where it is computed or needs words."""
    type_text: str = ""
    """The type as the docs say it, where the kind's name is not enough."""

    def default_for(self, environment: str) -> Any:
        return self.default.of(environment) if isinstance(self.default, ByEnvironment) else self.default


def names(keys: tuple[Key, ...]) -> tuple[str, ...]:
    return tuple(key.name for key in keys)


def declared(keys: tuple[Key, ...], name: str) -> Key:
    return next(key for key in keys if key.name == name)


def _default(keys: tuple[Key, ...], name: str) -> Any:
    """A key's default outside any environment (dev's), for the typed settings' fields."""
    return declared(keys, name).default_for("dev")


def _aws(cls: type, name: str) -> dict[str, Any]:
    """What the component's Args declare AWS takes for a field (range, values, pattern, check)."""
    return constraint_of(cls, name).as_key()


NETWORK = (
    Key("vpcCidr", "string", "The IPv4 block of a new VPC.", default=default_of(NetworkArgs, "vpc_cidr"),
        **_aws(NetworkArgs, "vpc_cidr"),
        valid="IPv4 CIDR with its prefix length and no host bits set (`10.0.0.0/16`, not `10.0.0.1/16` or "
              "`10.0.0.0`); AWS takes /16 to /28 for a VPC, and the stack needs room for its subnets: it splits the "
              "VPC evenly into a public subnet per availability zone (and a private one with NAT gateways), and a "
              "load balancer's subnets must be /27 or larger: with 2 zones the smallest block is a /26 (/25 with "
              "NAT gateways), with 6 zones and NAT gateways a /23; a stack of workers only needs /28 subnets. New "
              "VPC only"),
    Key("availabilityZones", "int", "How many availability zones a new VPC spans; the load balancer needs 2.",
        default=ByEnvironment(default_of(NetworkArgs, "availability_zones"),
                              default_of(NetworkArgs, "availability_zones"), 3),
        **_aws(NetworkArgs, "availability_zones"), valid="new VPC only"),
    Key("natGateways", "string", "`none`: no private subnets, tasks run in the public subnets with a public IP; "
        "`single` or `perAz`: tasks in private subnets behind that many NAT gateways.",
        default=ByEnvironment(default_of(NetworkArgs, "nat_gateways"), "single", "perAz"),
        **_aws(NetworkArgs, "nat_gateways"), valid="new VPC only"),
    Key("vpcId", "string", "An existing VPC to deploy into instead of a new one.", **_aws(NetworkArgs, "vpc_id"),
        default_text="none (a new VPC is created)",
        valid="`vpc-` plus 8 to 17 hex digits. Excludes the three keys above"),
    Key("publicSubnetIds", "strings", "The load balancer's subnets in an existing VPC.",
        **_aws(NetworkArgs, "public_subnet_ids"),
        valid="with `vpcId` only, required: at least 2 subnets in different AZs, for the ALB"),
    Key("privateSubnetIds", "strings", "The tasks' subnets in an existing VPC (they need a route to ECR, "
        "CloudWatch Logs and Secrets Manager); none: tasks run in the public subnets with a public IP.",
        **_aws(NetworkArgs, "private_subnet_ids"), valid="with `vpcId` only"),
)
REGISTRY = (
    Key("scanOnPush", "bool", "ECR scans each pushed image for known vulnerabilities.",
        default=default_of(RegistryArgs, "scan_on_push")),
    Key("immutableTags", "bool", "A pushed tag can never point to other bytes.",
        default=ByEnvironment(default_of(RegistryArgs, "immutable_tags"), default_of(RegistryArgs, "immutable_tags"),
                              True)),
    Key("untaggedExpiryDays", "int", "Untagged images expire after this many days.",
        default=default_of(RegistryArgs, "untagged_expiry_days"), **_aws(RegistryArgs, "untagged_expiry_days")),
    Key("keepImages", "int", "How many images the repository keeps; older images expire, tagged or not.",
        default=default_of(RegistryArgs, "keep_images"), **_aws(RegistryArgs, "keep_images")),
    Key("kmsKeyArn", "string", "Encrypt the repository with this KMS key instead of AES-256.",
        **_aws(RegistryArgs, "kms_key_arn"), default_text="none (AES-256)", valid="a KMS key ARN"),
)
CLUSTER = (
    Key("containerInsights", "string",
        "CloudWatch Container Insights: per-service and per-task CPU, memory, network and restart metrics. Not "
        "free: its metrics are billed as CloudWatch custom metrics (a set per cluster, service and task family) "
        "and its performance events as CloudWatch Logs ingestion; `enhanced` adds per-task and per-container "
        "metrics billed per observation and costs more ([CloudWatch pricing](https://aws.amazon.com/cloudwatch/"
        "pricing/)). The prod policy config requires it.",
        default=ByEnvironment("disabled", default_of(ClusterArgs, "container_insights"),
                              default_of(ClusterArgs, "container_insights")),
        **_aws(ClusterArgs, "container_insights")),
)
LOAD_BALANCER = (
    Key("certificateArn", "string", "Set: HTTPS on 443 and a 301 redirect from 80. Not set: plain HTTP on 80.",
        **_aws(LoadBalancerSpec, "certificate_arn"),
        valid="an ACM certificate ARN in the stack's region (an ALB uses certificates of its own region only; see "
              "[HTTPS for your own domain](operations.md#https-for-your-own-domain))"),
    Key("allowedCidrs", "strings", "Who may reach the load balancer on 80 and 443.",
        default=default_of(LoadBalancerSpec, "allowed_cidrs"), **_aws(LoadBalancerSpec, "allowed_cidrs"),
        valid="non-empty list of IPv4 CIDRs, each with its prefix length (`203.0.113.7/32` for one address) and no "
              "host bits set"),
    Key("idleTimeoutSeconds", "int", "How long the load balancer keeps an idle connection open.",
        default=default_of(LoadBalancerSpec, "idle_timeout_seconds"), **_aws(LoadBalancerSpec, "idle_timeout_seconds")),
    Key("sslPolicy", "string", "The HTTPS listener's security policy; only policies that allow TLS 1.2 and 1.3 "
        "alone are offered.", default=default_of(LoadBalancerSpec, "ssl_policy"), **_aws(LoadBalancerSpec, "ssl_policy")),
    Key("deletionProtection", "bool", "AWS refuses to delete the load balancer until this is turned off.",
        default=ByEnvironment(default_of(LoadBalancerSpec, "deletion_protection"),
                              default_of(LoadBalancerSpec, "deletion_protection"), True)),
    Key("accessLogsBucket", "string", "Write the load balancer's access logs to this S3 bucket.",
        **_aws(LoadBalancerSpec, "access_logs_bucket"),
        valid="an S3 bucket name, by S3's naming rules (see [Known limits](operations.md#known-limits))"),
    Key("accessLogsPrefix", "string", "Where in the bucket the access logs go.",
        **_aws(LoadBalancerSpec, "access_logs_prefix"),
        valid="only with `accessLogsBucket`; must not contain `AWSLogs` nor start or end with `/` (ELB refuses them)"),
    Key("testListenerPort", "int", "A second listener, for test traffic: each service with `deployment.testTraffic` "
        "gets a rule on it, with its own paths and hosts, that sends requests to the new revision (green) during a "
        "blueGreen, linear or canary deployment while production traffic still reaches the running one, so a "
        "lifecycle hook or a person can try green first (`https://<load balancer>:8443/...`). It speaks what the "
        "production listener speaks: HTTPS with `certificateArn`, otherwise HTTP.",
        **_aws(LoadBalancerSpec, "test_listener_port"), default_text="none (no test listener)",
        valid="not 80 or 443 (the production listeners' ports), e.g. 8443; requires `testListenerCidrs`"),
    Key("testListenerCidrs", "strings", "Who may reach the test listener: an unreleased version is behind it, so "
        "not `allowedCidrs`' public default.", **_aws(LoadBalancerSpec, "test_listener_cidrs"),
        valid="required with `testListenerPort`, and only with it: IPv4 CIDRs such as your office's or VPN's, each "
              "with its prefix length and no host bits set"),
)
BUILD = (
    Key("context", "string", "The build context directory, relative to the project.", required=True),
    Key("dockerfile", "string", "The Dockerfile, relative to the context; it must exist.",
        default_text="`Dockerfile`"),
    Key("target", "string", "The build stage to build."),
    Key("args", "map", "Build arguments."),
)
HEALTH_CHECK = (
    Key("command", "strings", "The command the container runs to report its health.",
        **_aws(ContainerHealthCheck, "command"),
        required=True, valid="starts with `CMD` (exec form) or `CMD-SHELL` (shell form)"),
    Key("intervalSeconds", "int", "Time between two checks.", default=default_of(ContainerHealthCheck, "interval_seconds"),
        **_aws(ContainerHealthCheck, "interval_seconds")),
    Key("timeoutSeconds", "int", "How long a check may take.", default=default_of(ContainerHealthCheck, "timeout_seconds"),
        **_aws(ContainerHealthCheck, "timeout_seconds")),
    Key("retries", "int", "Failed checks in a row that make the container unhealthy.",
        default=default_of(ContainerHealthCheck, "retries"), **_aws(ContainerHealthCheck, "retries")),
    Key("startPeriodSeconds", "int", "Failures in this time after start do not count.",
        default=default_of(ContainerHealthCheck, "start_period_seconds"),
        **_aws(ContainerHealthCheck, "start_period_seconds")),
)
AUTOSCALING = (
    Key("minCount", "int", "The fewest tasks.", **_aws(AutoscalingSpec, "min_count"), required=True),
    Key("maxCount", "int", "The most tasks.", **_aws(AutoscalingSpec, "max_count"), required=True,
        valid="not below `minCount`"),
    Key("cpuTargetPercent", "int", "Average CPU the service scales to; always on.",
        default=default_of(AutoscalingSpec, "cpu_target_percent"), **_aws(AutoscalingSpec, "cpu_target_percent")),
    Key("requestsPerTarget", "int", "Requests per task per minute the service scales to.",
        **_aws(AutoscalingSpec, "requests_per_target"), valid="web services only"),
    Key("scaleInCooldownSeconds", "int", "Time after scaling in before the next scaling in.",
        default=default_of(AutoscalingSpec, "scale_in_cooldown_seconds"),
        **_aws(AutoscalingSpec, "scale_in_cooldown_seconds")),
    Key("scaleOutCooldownSeconds", "int", "Time after scaling out before the next scaling out.",
        default=default_of(AutoscalingSpec, "scale_out_cooldown_seconds"),
        **_aws(AutoscalingSpec, "scale_out_cooldown_seconds")),
)
ROLLBACK_ALARM = (
    Key("targetErrorsPerMinute", "int", "The 5xx responses per minute that mean a deployment is bad.",
        **_aws(RollbackAlarmSpec, "target_errors_per_minute"), required=True),
    Key("evaluationMinutes", "int", "For how many minutes in a row.",
        default=default_of(RollbackAlarmSpec, "evaluation_minutes"), **_aws(RollbackAlarmSpec, "evaluation_minutes")),
    Key("p99LatencyMs", "int", "Also roll back when the 99th percentile of the target group's `TargetResponseTime` "
        "is above this many milliseconds for `evaluationMinutes` minutes in a row: a second alarm, watched like the "
        "5xx one.", **_aws(RollbackAlarmSpec, "p99_latency_ms"), default_text="none (no latency alarm)"),
    Key("errorRatePercent", "int", "Also roll back when this share of a target group's requests, or more, are answered "
        "with a target 5xx (`100 × HTTPCode_Target_5XX_Count / RequestCount` per minute) for `evaluationMinutes` "
        "minutes in a row; with blueGreen, linear or canary the higher of both target groups' shares, so green is "
        "judged by its own requests. `targetErrorsPerMinute` counts 5xx over both groups: a broken 10 % canary at "
        "low traffic may never reach it, and its error rate does.",
        **_aws(RollbackAlarmSpec, "error_rate_percent"), default_text="none (no error-rate alarm)"),
)
HOOK = (
    Key("stages", "strings", "The stages of a deployment at which the hook runs, in the order a deployment passes "
        "them: `RECONCILE_SERVICE` happens only when more than one revision is active, `POST_SCALE_UP` has green "
        "running without traffic, `POST_TEST_TRAFFIC_SHIFT` test traffic on green, and linear and canary pass "
        "`PRODUCTION_TRAFFIC_SHIFT` at every step.",
        **_aws(LifecycleHookSpec, "stages"), required=True,
        valid="at least one of " + ", ".join(f"`{stage}`" for stage in HOOK_STAGES) + ", none twice; a pause hook "
              "not at `TEST_TRAFFIC_SHIFT` or `PRODUCTION_TRAFFIC_SHIFT`"),
    Key("functionArn", "string", "A Lambda function ECS invokes at each stage; its answer (`hookStatus`) continues "
        "(`SUCCEEDED`) or rolls back (`FAILED`) the deployment, or has ECS ask again after 30 seconds "
        "(`IN_PROGRESS`). The service gets a role that lets ECS invoke exactly its hooks' functions.",
        **_aws(LifecycleHookSpec, "function_arn"),
        valid="a Lambda function ARN, `arn:aws:lambda:REGION:ACCOUNT:function:NAME` with an optional `:VERSION` or "
              "`:ALIAS`, in the stack's partition; exactly one of `functionArn` and `pause: true`"),
    Key("pause", "bool", "Pause the deployment at each stage until `aws ecs continue-service-deployment` continues "
        "it or rolls it back (`--action CONTINUE` or `ROLLBACK`), or until `timeoutMinutes` pass.",
        default=default_of(LifecycleHookSpec, "pause")),
    Key("timeoutMinutes", "int", "How long a pause waits before `timeoutAction`.",
        **_aws(LifecycleHookSpec, "timeout_minutes"), default_text="ECS's: 1440 (24 hours)",
        valid="pause hooks only"),
    Key("timeoutAction", "string", "What ECS does when a pause times out.",
        **_aws(LifecycleHookSpec, "timeout_action"), default_text="ECS's: `ROLLBACK`", valid="pause hooks only"),
)
_TRAFFIC_SHIFTING_ONLY = "blueGreen, linear and canary only"
DEPLOYMENT = (
    Key("strategy", "string", "How a new version replaces the running one. `rolling`: ECS starts new tasks next to "
        "the old ones (up to twice the count) and stops old ones as new ones pass their health checks; the circuit "
        "breaker rolls back a deployment whose tasks keep failing. The other three shift traffic, without "
        "CodeDeploy: ECS starts the new revision (green) at full size in a second target group next to the running "
        "one (blue) and moves the production listener rule's traffic to it, all at once (`blueGreen`), "
        "`canaryPercent` first and the rest after `canaryBakeMinutes` (`canary`), or `stepPercent` at a time every "
        "`stepBakeMinutes` (`linear`); blue keeps running for `bakeTimeMinutes` after the last shift, so a rollback "
        "moves traffic back in seconds instead of starting tasks. While a deployment runs, the service runs twice "
        "its tasks.", default=default_of(DeploymentSpec, "strategy"), **_aws(DeploymentSpec, "strategy"),
        valid="a worker (no `port`) only `rolling`"),
    Key("bakeTimeMinutes", "int", "How long blue keeps running after all production traffic is on green: the window "
        "in which a rollback alarm moves traffic back instead of starting a new deployment. ECS requires one for "
        "blueGreen and has no default; this project writes 10.",
        default=default_of(DeploymentSpec, "bake_time_minutes"), **_aws(DeploymentSpec, "bake_time_minutes"),
        valid=_TRAFFIC_SHIFTING_ONLY),
    Key("canaryPercent", "number", "The share of production traffic green gets first (ECS's default too).",
        default=default_of(DeploymentSpec, "canary_percent"), **_aws(DeploymentSpec, "canary_percent"),
        valid="canary only"),
    Key("canaryBakeMinutes", "int", "How long the canary share runs before the rest of the traffic moves (ECS's "
        "default too).", default=default_of(DeploymentSpec, "canary_bake_minutes"),
        **_aws(DeploymentSpec, "canary_bake_minutes"), valid="canary only"),
    Key("stepPercent", "number", "The share of production traffic each step moves (ECS's default too: 10 steps).",
        default=default_of(DeploymentSpec, "step_percent"), **_aws(DeploymentSpec, "step_percent"),
        valid="linear only"),
    Key("stepBakeMinutes", "int", "The wait after each step but the last (ECS's default too): by default a linear "
        "deployment takes 9 × 6 = 54 minutes of steps, then `bakeTimeMinutes`.",
        default=default_of(DeploymentSpec, "step_bake_minutes"), **_aws(DeploymentSpec, "step_bake_minutes"),
        valid="linear only"),
    Key("hooks", "statements", "Lifecycle hooks: at each of its stages a deployment invokes a Lambda function or "
        "pauses; see the table below.", keys=HOOK, type_text="list of hooks", valid=_TRAFFIC_SHIFTING_ONLY),
    Key("testTraffic", "bool", "A rule on the load balancer's test listener (`loadBalancer.testListenerPort`) that "
        "sends this service's paths and hosts to green before production traffic moves, for a hook at "
        "`POST_TEST_TRAFFIC_SHIFT` or a person to try it.", default=default_of(DeploymentSpec, "test_traffic"),
        valid=f"{_TRAFFIC_SHIFTING_ONLY}; requires `loadBalancer.testListenerPort`"),
)
STATEMENT = (
    Key("Sid", "string", "The statement's id.", valid="letters and digits"),
    Key("Effect", "string", "Allow or deny.", choices=("Allow", "Deny"), required=True),
    Key("Action", "string-or-list", "The actions allowed or denied.", valid="`service:Action` or `*`"),
    Key("NotAction", "string-or-list", "Every action but these.", valid="`service:Action` or `*`"),
    Key("Resource", "string-or-list", "The resources the actions apply to.", valid="ARNs or `*`"),
    Key("NotResource", "string-or-list", "Every resource but these.", valid="ARNs or `*`"),
    Key("Condition", "mapping", "When the statement applies."),
)
IMAGE_SOURCE = (
    Key("image", "string", "An image from any registry.",
        valid="an image reference, `[registry/]name[:tag][@sha256:<64 hex>]`, e.g. "
              "`public.ecr.aws/docker/library/python:3.12-slim`"),
    Key("imageTag", "string", "An image already pushed to the stack's ECR repository.", pattern=TAG.pattern,
        expected=NOT_A_TAG,
        valid="a tag in the stack's ECR repository: up to 128 letters, digits, `_`, `.`, `-`, not starting with "
              "`.` or `-`"),
    Key("build", "build", "A Docker build context, built and pushed to the stack's ECR repository.", keys=BUILD,
        type_text="string or object",
        valid="a build context directory relative to the project, e.g. `./app`; or `{context, dockerfile, target, "
              "args}`, where `dockerfile` (default `Dockerfile`) is relative to the context and must exist, "
              "`target` is a build stage and `args` a map of build arguments"),
)


def _fargate_memory_text() -> str:
    def sizes(memory: tuple[int, ...]) -> str:
        if len(memory) <= 3:
            return "/".join(map(str, memory))
        return f"{memory[0]} to {memory[-1]} ({memory[1] - memory[0]})"

    return "a Fargate size for the cpu: " + "; ".join(f"{cpu}: {sizes(memory)}" for cpu, memory in FARGATE_SIZES.items())


TASK = IMAGE_SOURCE + (
    Key("cpu", "int", "CPU units of the task (1024 is one vCPU).", default=default_of(TaskSpec, "cpu"),
        **_aws(TaskSpec, "cpu")),
    Key("memory", "int", "Memory of the task.", default=default_of(TaskSpec, "memory"), **_aws(TaskSpec, "memory"),
        type_text="int (MiB)", valid=_fargate_memory_text()),
    Key("architecture", "string", "The CPU architecture the image is built for.",
        default=default_of(TaskSpec, "architecture"), **_aws(TaskSpec, "architecture"), valid="not with `FARGATE_SPOT`"),
    Key("command", "strings", "The container's command.", **_aws(TaskSpec, "command"), default_text="the image's"),
    Key("environment", "map", "Environment variables; numbers are converted to strings. Web services also get "
        "`PORT` unless it is set.", **_aws(TaskSpec, "environment"),
        valid="names are letters, digits and `_`, not starting with a digit"),
    Key("secrets", "map", "Environment variables read from Secrets Manager or SSM Parameter Store when a task "
        "starts. The execution role may read exactly these (a partial secret ARN, without the 6 characters AWS "
        "appends, is granted as `NAME-??????`).", **_aws(TaskSpec, "secrets"),
        type_text="map of string to ARN",
        valid="a Secrets Manager secret ARN (optionally with `:json-key:version-stage:version-id`) or an SSM "
              "parameter ARN; a name may not also be in `environment`"),
    Key("taskRoleStatements", "statements", "IAM statements of the task role; nothing else is granted to it.",
        keys=STATEMENT, type_text="list of IAM statements",
        valid="`Effect` (`Allow`/`Deny`), exactly one of `Action`/`NotAction` (`service:Action` or `*`), exactly "
              "one of `Resource`/`NotResource` (ARNs or `*`), optional `Sid`, `Condition`"),
    Key("logRetentionDays", "int", "How long CloudWatch Logs keeps the container's logs.",
        default=default_of(TaskSpec, "log_retention_days"), **_aws(TaskSpec, "log_retention_days")),
    Key("stopTimeoutSeconds", "int", "Time between SIGTERM and SIGKILL when a task stops.",
        default=default_of(TaskSpec, "stop_timeout_seconds"), **_aws(TaskSpec, "stop_timeout_seconds")),
    Key("readonlyRootFilesystem", "bool", "The container cannot write to its root filesystem.",
        default=default_of(TaskSpec, "readonly_root_filesystem")),
    Key("writablePaths", "strings", "Each is a task-scoped volume. Fargate creates such a volume root-owned (mode "
        "0755) unless the image declares the path as a `VOLUME`, so an image that runs as a non-root user needs "
        "`VOLUME [\"/tmp\"]` (as `app/Dockerfile` has).", default=default_of(TaskSpec, "writable_paths"),
        **_aws(TaskSpec, "writable_paths"),
        valid="absolute paths other than `/`; `[]` for none"),
    Key("healthCheck", "object", "A container health check.", keys=HEALTH_CHECK),
    Key("enableExecuteCommand", "bool", "Turns on ECS Exec (for a service, or for each run of a scheduled job) "
        "and grants the task role the SSM channels it needs. ECS Exec's agent writes to the root filesystem, so "
        "this also requires an explicit `readonlyRootFilesystem: false`.",
        default=default_of(TaskSpec, "enable_execute_command")),
)
CAPACITY_PROVIDER = Key("capacityProvider", "string", "Where tasks run: `FARGATE_SPOT` costs less and may be "
                        "interrupted.", default=default_of(ServiceSpec, "capacity_provider"),
                        **_aws(ServiceSpec, "capacity_provider"))
SERVICE_ONLY = (
    Key("port", "int", "The container port the load balancer forwards to; without one the service is a worker.",
        **_aws(ServiceSpec, "port"), default_text="none (a worker)"),
    Key("desiredCount", "int", "How many tasks run.",
        default=ByEnvironment(DEFAULT_DESIRED_COUNT, DEFAULT_DESIRED_COUNT, 2),
        **_aws(ServiceSpec, "desired_count"),
        default_text="`autoscaling.minCount` with autoscaling; otherwise prod 2, dev and staging 1",
        valid="within `minCount..maxCount` with autoscaling, and then only the initial count"),
    CAPACITY_PROVIDER,
    Key("autoscaling", "object", "Target tracking on CPU and, for web services, requests.", keys=AUTOSCALING),
    Key("deployment", "object", "How a new version rolls out: `rolling`, or for a service with a `port` one of ECS's "
        "traffic-shifting strategies, `blueGreen`, `linear` or `canary`.", keys=DEPLOYMENT,
        default_text="`{strategy: rolling}`", valid="see [Deployment strategies](#deployment-strategies)"),
)
PRIORITY_DEFAULT = (
    "derived from the service's own routing and name, so adding or removing another service does not move it "
    "(ALB refuses two rules with one priority, and Pulumi updates before it deletes). Order: rules with literal "
    "`hostHeaders` first, then wildcard hosts ranked by their own literal characters (`*.admin.example.com` "
    "before `*.example.com`), then path-only rules; paths by the service's broadest pattern, more literal "
    "characters first (`/api/v2/*` before `/api/*` before `/*`, told apart up to 48 characters), and at the same "
    "count exact patterns and fewer `*` first (`/` before `/*`). The priority is 1000 + level × 167 + a slot from "
    "the name (1000 to 49763, so explicit ones outside that range never meet a derived one). Names one character "
    "apart or numbered never share a slot; should two others, the later name steps on by an amount derived from "
    "itself and a warning says which `priority` pins it. Whoever set them, a rule that an earlier rule matches in "
    "full, or a pattern of it, is an error naming both services: set `priority` or split the patterns. Renaming a "
    "service creates the rule under the new name before the old one is deleted, and about one rename in 167 lands "
    "on the old priority: `pulumi up` then fails with `PriorityInUse` before deleting anything, and again on every "
    "retry. Then set `priority` on the renamed service to a free value next to the old one (old ± 1), run `pulumi "
    "up`, and drop the setting afterwards if you like (the rule then moves back in place)")
WEB_ONLY = (
    Key("healthCheckPath", "string", "The path the load balancer checks; it expects 200-399.", 
        default=default_of(ServiceSpec, "health_check_path"), **_aws(ServiceSpec, "health_check_path"),
        valid="a path starting with `/`"),
    Key("pathPatterns", "strings", "The paths the listener rule sends to this service.",
        **_aws(ServiceSpec, "path_patterns"),
        default_text="`[\"/*\"]` when neither this nor `hostHeaders` is set",
        valid="ALB path patterns, up to 128 characters, `*` and `?` wildcards"),
    Key("hostHeaders", "strings", "The host names the listener rule sends to this service.",
        **_aws(ServiceSpec, "host_headers"),
        valid="host patterns (letters, digits, `- . * ?`); at most 5 values with `pathPatterns`"),
    Key("priority", "int", "The listener rule's priority: the load balancer evaluates rules from the lowest.",
        **_aws(ServiceSpec, "priority"), default_text=PRIORITY_DEFAULT,
        valid="unique among web services. Two services with the same `pathPatterns` and `hostHeaders` are an "
              "error (`pathPatterns: [\"/*\"]` counts as none)"),
    Key("healthCheckGracePeriodSeconds", "int", "Failed load balancer health checks in this time after a task "
        "starts do not count.", default=default_of(ServiceSpec, "health_check_grace_period_seconds"),
        **_aws(ServiceSpec, "health_check_grace_period_seconds")),
    Key("deregistrationDelaySeconds", "int", "How long the load balancer lets a stopping task finish its "
        "requests.", default=default_of(ServiceSpec, "deregistration_delay_seconds"),
        **_aws(ServiceSpec, "deregistration_delay_seconds")),
    Key("rollbackAlarm", "object", "A CloudWatch alarm on the target group's `HTTPCode_Target_5XX_Count` (sum per "
        "minute, missing data is not breaching), with `errorRatePercent` and `p99LatencyMs` an error-rate and a "
        "latency alarm next to it, that ECS watches during each deployment and rolls back on; with "
        "blueGreen, linear or canary it watches both target groups, which swap roles every deployment. ECS ignores "
        "the alarms for a deployment that starts while one of them is already in ALARM (so that a deployment can "
        "fix a failed one): such a deployment has no alarm rollback.",
        keys=ROLLBACK_ALARM),
)
SERVICE = TASK + SERVICE_ONLY + WEB_ONLY
JOB_ONLY = (
    Key("schedule", "string", "When the job runs, in EventBridge Scheduler's grammar.",
        **_aws(ScheduledJobSpec, "schedule"), required=True,
        valid="`cron(minutes hours day-of-month month day-of-week year)` with six fields and `?` in exactly one of "
              "the day fields, e.g. `cron(0 3 * * ? *)`; `rate(N unit)` with N ≥ 1 and unit `minute(s)`, `hour(s)` "
              "or `day(s)` (Scheduler's API reference lists both forms for any N; the singular-for-1 rule is "
              "EventBridge rules', not Scheduler's); `at(yyyy-mm-ddThh:mm:ss)`"),
    Key("service", "string", "Run this service's task definition and roles instead of an image of the job's own.",
        valid="a service of this stack; then only `command` may be set besides the keys of this table"),
    Key("command", "strings", "Overrides the container's command.", **_aws(ScheduledJobSpec, "command"),
        default_text="the task definition's"),
    Key("timezone", "string", "The time zone of the schedule.", default=default_of(ScheduledJobSpec, "timezone"),
        valid="an IANA time zone such as `Europe/Berlin`"),
    Key("enabled", "bool", "`false` keeps the schedule, disabled.", default=default_of(ScheduledJobSpec, "enabled")),
    CAPACITY_PROVIDER,
)
SCHEDULED_TASK = tuple(key for key in TASK if key.name != "command") + JOB_ONLY
TOP_LEVEL = (
    Key("environment", "string", "Selects the defaults below and the policy pack's levels.", choices=ENVIRONMENTS,
        required=True),
    Key("network", "object", "Where the tasks and the load balancer live.", keys=NETWORK, default_text="see below"),
    Key("registry", "object", "The stack's private ECR repository.", keys=REGISTRY, default_text="see below"),
    Key("cluster", "object", "The ECS cluster every service and job runs in.", keys=CLUSTER,
        default_text="see below"),
    Key("loadBalancer", "object", "The application load balancer, used only when at least one service has a "
        "`port`.", keys=LOAD_BALANCER, default_text="see below"),
    Key("services", "named", "The services, by name.", keys=SERVICE, required=True, valid="at least one service"),
    Key("scheduledTasks", "named", "Jobs run on a schedule, by name.", keys=SCHEDULED_TASK),
    Key("tags", "map", "Added to the AWS resources through the provider's default tags, next to `Project`, "
        "`Stack`, `Environment` and `ManagedBy: pulumi`.", check_key=lambda key: _tag_key_error(key),
        check=lambda value: _tag_value_error(value),
        valid="what every service of the stack accepts: keys 1 to 127 characters (EC2's limit), not starting "
              "with `aws:`, values up to 256, both of letters, digits, spaces and `_.:/=+-@` (ELB, IAM, CloudWatch "
              "Logs and ECS refuse other characters); the same holds for `aws:defaultTags`"),
    Key("releaseImage", "string",
        "The app's image, built once for a commit, that CI sets on each deploy, so that it is promoted by its "
        "digest unchanged from dev to staging to prod. Every service and scheduled task whose source is `build` "
        "or `imageTag` runs it instead: nothing is built during `pulumi up` and no tag is looked up in the "
        "stack's repository. `image` sources stay as written, and a job with `service` runs what that service "
        "runs. The `services` output shows it as each service's `image`; a stack where no service or job uses "
        "`build` or `imageTag` gets a warning that it changes nothing. A multi-arch image index (amd64 and arm64) "
        "serves `X86_64` and `ARM64` tasks alike. The execution role's managed policy allows pulls from any ECR "
        "repository; a repository in another account (or region) must also allow the pull in its repository policy, "
        "and be added to the policy pack's `ecs-image-allowed-registries` list in prod (its default allows the "
        "stack's own account and region, and public.ecr.aws).",
        expected=f"an image reference pinned by digest, {RELEASE_IMAGE_FORM}",
        check=lambda value: _release_image_error(value),
        valid="an image reference pinned by digest, `<registry host>/<repository>[:tag]@sha256:<64 lowercase hex>`, "
              "at most 255 characters (ECS's limit), e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/"
              "ecs-fargate-release:3f2a1b9@sha256:...`; a tag alone (`:latest` or a version) is refused, and so is "
              "a reference without a registry host (Docker Hub)"),
)
TOP_LEVEL_KEYS = names(TOP_LEVEL)


# ---------------------------------------------------------------------------------------------
# The typed settings the components receive.


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    environment: Literal["dev", "staging", "prod"]
    region: str
    network: NetworkArgs
    registry: RegistryArgs
    """The stack's ECR repository, PROJECT-STACK, protected in prod."""
    load_balancer: LoadBalancerSpec
    services: tuple[ServiceSpec, ...]
    cluster: ClusterArgs = ClusterArgs(container_insights=_default(CLUSTER, "containerInsights"))
    scheduled_tasks: tuple[ScheduledJobSettings, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    aws_provider: Mapping[str, Any] = field(default_factory=dict)
    """The stack's other `aws:*` settings (profile, assumeRoles, ...) as AWS provider arguments,
    except `defaultTags`, which is part of `default_tags`."""
    aws_provider_default_tags: Mapping[str, str] = field(default_factory=dict)
    release_image: str | None = None
    """`releaseImage`: the app's image, pinned by digest, that CI built once for a commit and
    promotes unchanged from dev to prod. Every service and job whose source is `build` or
    `imageTag` runs it instead (their `source` is already this `image`); `image:` sources and
    jobs reusing a service's task definition are as configured."""
    warnings: tuple[str, ...] = ()
    """Deployable, but worth a look (a listener rule priority that depends on another service)."""

    @property
    def default_tags(self) -> dict[str, str]:
        """Tags on every AWS resource: `aws:defaultTags`, ours, then the stack's `tags`."""
        return {**self.aws_provider_default_tags, "Project": self.project, "Stack": self.stack,
                "Environment": self.environment, "ManagedBy": "pulumi", **self.tags}

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def needs_load_balancer(self) -> bool:
        return any(not s.is_worker for s in self.services)


# ---------------------------------------------------------------------------------------------
# The sections.

# Names of the stack's own components: a service or job named like one would clash with it.
RESERVED_NAMES = ("network", "registry", "cluster", "alb", "aws")


def _network(c: _Checker, raw: Any, environment: str) -> NetworkArgs:
    path = "network"
    data = c.mapping(raw, path, names(NETWORK))
    given = {_snake(key) for key in data}

    def read(name: str) -> Any:
        return c.read(data, declared(NETWORK, name), path, environment)

    existing = NetworkArgs(vpc_id=read("vpcId"), public_subnet_ids=read("publicSubnetIds"),
                           private_subnet_ids=read("privateSubnetIds"))
    # The keys of the other kind of VPC are refused before those of this one are read.
    check_network(c, existing, path, fields=False, given=given)
    if existing.vpc_id:
        return existing
    return NetworkArgs(vpc_cidr=read("vpcCidr"), availability_zones=read("availabilityZones"),
                       nat_gateways=read("natGateways"))


def _registry(c: _Checker, raw: Any, environment: str, project: str, stack: str) -> RegistryArgs:
    path = "registry"
    data = c.mapping(raw, path, names(REGISTRY))
    # The name is the project's and stack's, checked as they are (see `parse`).
    return RegistryArgs(name=f"{project}-{stack}".lower(), protect=environment == "prod",
                        **{_snake(key.name): c.read(data, key, path, environment) for key in REGISTRY})


def _cluster(c: _Checker, raw: Any, environment: str) -> ClusterArgs:
    path = "cluster"
    data = c.mapping(raw, path, names(CLUSTER))
    return ClusterArgs(**{_snake(key.name): c.read(data, key, path, environment) for key in CLUSTER})


def _load_balancer(c: _Checker, raw: Any, environment: str, region: str | None) -> LoadBalancerSpec:
    path = "loadBalancer"
    data = c.mapping(raw, path, names(LOAD_BALANCER))
    shown_region = "<secret>" if c.is_secret("aws:region") else str(region)
    values = {key.name: c.read(data, key, path, environment) for key in LOAD_BALANCER if key.name != "certificateArn"}
    values["certificateArn"] = c.read(data, declared(LOAD_BALANCER, "certificateArn"), path,
                                      check=lambda value: _certificate_error(value, region, shown_region))
    spec = LoadBalancerSpec(**{_snake(name): value for name, value in values.items()})
    check_load_balancer(c, spec, path, fields=False, given={_snake(key) for key in data})
    return spec


def _image_source(c: _Checker, data: Mapping, path: str) -> ImageSource | None:
    given = [key for key in names(IMAGE_SOURCE) if data.get(key) is not None]
    if len(given) != 1:
        found = f"found {', '.join(given)}" if given else "found none"
        c.fail(path, EXACTLY_ONE_SOURCE.format(image_tag=c.key("image_tag"), found=found))
        return None
    if given == ["image"]:
        image = c.read(data, declared(IMAGE_SOURCE, "image"), path)
        if image and not IMAGE.match(image):
            c.reject(f"{path}.image", image, Invalid(NOT_AN_IMAGE))
            return None
        return ImageSource(image=image)
    if given == ["imageTag"]:
        tag = c.read(data, declared(IMAGE_SOURCE, "imageTag"), path)
        return ImageSource(image_tag=tag) if tag else None
    raw = data["build"]
    where = f"{path}.build"
    if isinstance(raw, str):
        raw = {"context": raw}
    build = c.mapping(raw, where, names(BUILD))
    context = c.read(build, declared(BUILD, "context"), where)
    if not context:
        c.fail(f"{where}.context", "set the Docker build context directory, e.g. ./app")
        return None
    if not os.path.isdir(context):
        c.reject(f"{where}.context", context,
                 Invalid("is not a directory (paths are relative to the project directory)"))
        return None
    dockerfile = c.read(build, declared(BUILD, "dockerfile"), where)
    if not os.path.isfile(os.path.join(context, dockerfile or "Dockerfile")):
        c.fail(f"{where}.dockerfile", f"no {c.show(f'{where}.dockerfile', dockerfile or 'Dockerfile')} in "
                                      f"{c.show(f'{where}.context', context)}")
        return None
    return ImageSource(build=DockerBuild(
        context=context,
        dockerfile=dockerfile,
        target=c.read(build, declared(BUILD, "target"), where),
        args=c.read(build, declared(BUILD, "args"), where),
    ))


def _is_registry_host(component: str | None) -> bool:
    """Whether an image reference's first path component is a registry, as Docker decides:
    it has a `.` or a `:` (a port), or is `localhost`; otherwise the image is on Docker Hub."""
    return bool(component) and ("." in component or ":" in component or component == "localhost")


def _release_image_fix(value: str) -> str | None:
    """A valid spelling of a release image close to `value`: the digest in lowercase, or with
    the `sha256:` it lacks."""
    name, at, digest = value.partition("@")
    if not at:
        return None
    if re.fullmatch(r"(?i)sha256:[0-9a-f]{64}", digest):
        candidate = f"{name}@{digest.lower()}"
    elif re.fullmatch(r"[0-9a-fA-F]{64}", digest):
        candidate = f"{name}@sha256:{digest.lower()}"
    else:
        return None
    return candidate if candidate != value and _release_image_error(candidate) is None else None


def _release_image_error(value: str) -> Invalid | None:
    """`releaseImage`: a full image reference pinned by digest. A tag alone, a version as much
    as `:latest`, is refused: it can be pushed again with other bytes, and then the environments
    deployed from it no longer run the same image."""
    fix = _release_image_fix(value)
    hint = f"did you mean '{fix}'?" if fix else ""
    name, at, digest = value.partition("@")
    if not at:
        tag = re.search(r":([^:/]*)$", name)
        return Invalid(f"is not pinned by digest: give {RELEASE_IMAGE_FORM}, the digest CI pushed, so that "
                       "every environment runs the same image; a tag can be pushed again with other bytes",
                       "':latest' is whatever was pushed last" if tag and tag[1] == "latest" else "")
    if not _DIGEST.match(digest):
        return Invalid(f"has no valid digest: after @ comes sha256: and 64 lowercase hex digits "
                       f"({RELEASE_IMAGE_FORM})", hint)
    match = IMAGE.match(value)
    if not match:
        return Invalid(f"is not an image reference: {RELEASE_IMAGE_FORM}, the repository in lowercase "
                       "letters, digits and single . _ - between them, the tag letters, digits and _ . -")
    if not _is_registry_host(match["registry"]):
        return Invalid(f"names no registry host: {RELEASE_IMAGE_FORM} with the registry's host first, "
                       "e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:...; without one it "
                       "means Docker Hub")
    if len(value) > _IMAGE_MAX_LENGTH:
        return Invalid(f"is longer than the {_IMAGE_MAX_LENGTH} characters ECS takes for an image",
                       f"it has {len(value)}")
    return None


def _runs_release_image(task: TaskSpec | None, release_image: str | None) -> TaskSpec | None:
    """The task with the release image in place of a build or a tag of the stack's repository."""
    if task is None or release_image is None or task.source.image is not None:
        return task
    return replace(task, source=ImageSource(image=release_image))


def _statements(c: _Checker, data: Mapping, path: str) -> tuple[Mapping[str, Any], ...]:
    where = f"{path}.taskRoleStatements"
    raw = data.get("taskRoleStatements")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.fail(where, f"expected a list of IAM policy statements, got {c.show(where, raw)}")
        return ()
    statements = []
    for index, statement in enumerate(raw):
        at = f"{where}[{index}]"
        before = len(c.problems)
        body = c.mapping(statement, at, names(STATEMENT))
        check_statement(c, body, at)
        if len(c.problems) == before:
            statements.append(body)
    return tuple(statements)


def _health_check(c: _Checker, raw: Any, path: str) -> ContainerHealthCheck | None:
    if raw is None:
        return None
    where = f"{path}.healthCheck"
    data = c.mapping(raw, where, names(HEALTH_CHECK))
    command = c.read(data, declared(HEALTH_CHECK, "command"), where)
    if not command and "command" not in data:
        c.fail(f"{where}.command", "required: the command the container runs to report its health")
    return ContainerHealthCheck(command=command, **{_snake(key.name): c.read(data, key, where)
                                                    for key in HEALTH_CHECK if key.name != "command"})


def _task(c: _Checker, data: Mapping, path: str, source: ImageSource) -> TaskSpec:
    def read(name: str) -> Any:
        return c.read(data, declared(TASK, name), path)

    task = TaskSpec(
        source=source,
        cpu=read("cpu"),
        memory=read("memory"),
        architecture=read("architecture"),
        command=read("command"),
        environment=read("environment"),
        secrets=read("secrets"),
        task_role_statements=_statements(c, data, path),
        log_retention_days=read("logRetentionDays"),
        stop_timeout_seconds=read("stopTimeoutSeconds"),
        readonly_root_filesystem=read("readonlyRootFilesystem"),
        writable_paths=read("writablePaths"),
        health_check=_health_check(c, data.get("healthCheck"), path),
        enable_execute_command=read("enableExecuteCommand"),
    )
    # The component's checks across fields: each value was checked as it was read (the ARM64 and
    # capacity provider check is the service's or the job's).
    check_task(c, task, path, fields=False)
    return task


def _autoscaling(c: _Checker, raw: Any, path: str, web: bool) -> AutoscalingSpec | None:
    if raw is None:
        return None
    where = f"{path}.autoscaling"
    data = c.mapping(raw, where, names(AUTOSCALING))
    for key in AUTOSCALING:
        if key.required and key.name not in data:
            c.fail(f"{where}.{key.name}", "required when autoscaling is set")
    low = c.read(data, declared(AUTOSCALING, "minCount"), where, default=1)
    high = c.read(data, declared(AUTOSCALING, "maxCount"), where, default=max(low or 1, 1))
    requests = c.read(data, declared(AUTOSCALING, "requestsPerTarget"), where)
    return AutoscalingSpec(
        min_count=low, max_count=high, requests_per_target=requests,
        **{_snake(key.name): c.read(data, key, where) for key in AUTOSCALING
           if key.name in ("cpuTargetPercent", "scaleInCooldownSeconds", "scaleOutCooldownSeconds")})


def _check_name(c: _Checker, path: str, name: str) -> None:
    if error := _name_error(name):
        c.fail(path, error)
    elif name in RESERVED_NAMES:
        c.fail(path, f"'{name}' is reserved for the stack's own components ({', '.join(RESERVED_NAMES)})")


def derived_names(project: str, stack: str, name: str, *, web: bool, own_task: bool, job: bool,
                  features: Collection[str] = ()) -> list[tuple[str, str]]:
    """(what, physical name) of every AWS name the components derive from a service or job name
    (its family is PROJECT-STACK-NAME); autonames with their 7 random characters as x. `features`:
    those of `components.validation.NAME_FEATURES` the service has (`name_features`)."""
    return _derived_names(name, f"{project}-{stack}-{name}", web=web, own_task=own_task, job=job, features=features)


def _service(c: _Checker, name: str, raw: Any, environment: str, region: str | None = None
             ) -> ServiceSpec | None:
    path = f"services.{name}"
    _check_name(c, path, name)
    if raw is None or raw == "":
        # Dropping it would make `pulumi up` delete a running service.
        c.fail(path, "empty; a service needs at least an image (image, imageTag or build)")
        return None
    data = c.mapping(raw, path, names(SERVICE))
    if not isinstance(raw, Mapping):
        return None

    def read(name: str, **given: Any) -> Any:
        return c.read(data, declared(SERVICE, name), path, environment, **given)

    source = _image_source(c, data, path)
    task = _task(c, data, path, source or ImageSource(image="invalid"))
    port = read("port")
    web = port is not None
    if not web:
        for key in names(WEB_ONLY):
            if key in data:
                c.fail(f"{path}.{key}", "only applies to a service with a port; without one it is a worker")
    health_path = read("healthCheckPath")
    patterns = read("pathPatterns")
    hosts = read("hostHeaders")
    if web and not patterns and not hosts:
        patterns = ("/*",)
    autoscaling = _autoscaling(c, data.get("autoscaling"), path, web)
    desired = read("desiredCount", **({"default": autoscaling.min_count} if autoscaling else {}))
    service = ServiceSpec(
        name=name,
        task=task,
        port=port,
        desired_count=desired,
        health_check_path=health_path,
        path_patterns=patterns,
        host_headers=hosts,
        priority=read("priority"),
        health_check_grace_period_seconds=read("healthCheckGracePeriodSeconds"),
        deregistration_delay_seconds=read("deregistrationDelaySeconds"),
        capacity_provider=read("capacityProvider"),
        autoscaling=autoscaling,
        rollback_alarm=_rollback_alarm(c, data.get("rollbackAlarm"), path) if web else None,
        deployment=_deployment(c, data.get("deployment"), path, region),
    )
    check_service(c, service, path, fields=False)
    return service


def _lambda_arn_error(value: str, region: str | None, shown_region: str) -> Invalid | None:
    """A Lambda function ARN of the stack's partition (ECS cannot invoke one of another)."""
    if invalid := constraint_of(LifecycleHookSpec, "function_arn").check(value):
        return invalid
    partition = value.split(":")[1]
    if region and partition != _partition(region):
        return Invalid(f"is not an ARN of the {_partition(region)} partition, which {shown_region} belongs to")
    return None


def _hooks(c: _Checker, data: Mapping, path: str, region: str | None) -> tuple[LifecycleHookSpec, ...]:
    where = f"{path}.hooks"
    raw = data.get("hooks")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.fail(where, f"expected a list of hooks, got {c.show(where, raw)}")
        return ()
    hooks = (_hook(c, item, f"{where}[{index}]", region) for index, item in enumerate(raw))
    return tuple(hook for hook in hooks if hook is not None)


def _hook(c: _Checker, raw: Any, path: str, region: str | None) -> LifecycleHookSpec | None:
    if raw is None or raw == "":
        c.fail(path, "empty; a hook needs stages, and functionArn or pause: true")
        return None
    data = c.mapping(raw, path, names(HOOK))
    if not isinstance(raw, Mapping):
        return None

    def read(name: str, **given: Any) -> Any:
        return c.read(data, declared(HOOK, name), path, **given)

    if "stages" not in data:
        c.fail(f"{path}.stages", "required: the stages to run the hook at, e.g. [POST_TEST_TRAFFIC_SHIFT]")
    shown_region = "<secret>" if c.is_secret("aws:region") else str(region)
    function_arn = read("functionArn", check=lambda value: _lambda_arn_error(value, region, shown_region))
    if function_arn is None and data.get("functionArn") is not None:
        function_arn = "invalid"  # reported as read; not also "set functionArn"
    elif function_arn and region and function_arn.split(":")[3] != region:
        c.warn(f"{path}.functionArn: the function is in another region than the stack's aws:region; ECS's "
               "documentation does not say that it invokes a hook in another region, so the first deployment "
               "may fail: prefer a function in the stack's region")
    return LifecycleHookSpec(
        stages=read("stages"),
        function_arn=function_arn,
        pause=read("pause"),
        timeout_minutes=read("timeoutMinutes"),
        timeout_action=read("timeoutAction"),
    )


def _deployment(c: _Checker, raw: Any, path: str, region: str | None) -> DeploymentSpec:
    where = f"{path}.deployment"
    data = c.mapping(raw, where, names(DEPLOYMENT))
    values = {_snake(key.name): c.read(data, key, where) for key in DEPLOYMENT if key.name != "hooks"}
    if data.get("strategy") is not None and data["strategy"] not in STRATEGIES:
        # Refused as read; no knob is then said to belong to another strategy than the one meant.
        values["strategy"] = None
    spec = DeploymentSpec(**values, hooks=_hooks(c, data, where, region))
    # Knobs of another strategy are refused when written, even with their default value.
    given = {_snake(key) for key, value in data.items() if value is not None and _snake(key) in KNOB_STRATEGY}
    check_deployment(c, spec, where, given=given, fields=False)
    return spec


def _rollback_alarm(c: _Checker, raw: Any, path: str) -> RollbackAlarmSpec | None:
    if raw is None:
        return None
    where = f"{path}.rollbackAlarm"
    data = c.mapping(raw, where, names(ROLLBACK_ALARM))
    if "targetErrorsPerMinute" not in data:
        c.fail(f"{where}.targetErrorsPerMinute", "required: the 5xx responses per minute that mean "
                                                 "a deployment is bad, e.g. 10")
    return RollbackAlarmSpec(
        target_errors_per_minute=c.read(data, declared(ROLLBACK_ALARM, "targetErrorsPerMinute"), where, default=10),
        evaluation_minutes=c.read(data, declared(ROLLBACK_ALARM, "evaluationMinutes"), where),
        p99_latency_ms=c.read(data, declared(ROLLBACK_ALARM, "p99LatencyMs"), where),
        error_rate_percent=c.read(data, declared(ROLLBACK_ALARM, "errorRatePercent"), where),
    )


# ---------------------------------------------------------------------------------------------
# EventBridge Scheduler schedule expressions (Scheduler User Guide, "Schedule types"):
# cron(minutes hours day-of-month month day-of-week year), rate(value unit), at(date-time).
# Its cron table gives each field its wildcards: / (increments) in all but day-of-week, which
# takes , - * ? L # only.
def _timezone(c: _Checker, data: Mapping, path: str) -> str:
    key = declared(JOB_ONLY, "timezone")
    zone = c.read(data, key, path)
    if not check_timezone(c, f"{path}.timezone", zone, hint=not c.is_secret(path)):
        return key.default
    return zone


@dataclass(frozen=True)
class ScheduledJobSettings(ScheduledJobSpec):
    """A stack file's job: the component's spec and the `service` whose task definition it runs
    (the program hands that service's to the ScheduledTask as `service_task`)."""

    service: str | None = None


def _scheduled_task(c: _Checker, name: str, raw: Any, services: Mapping[str, ServiceSpec]
                    ) -> ScheduledJobSettings | None:
    path = f"scheduledTasks.{name}"
    _check_name(c, path, name)
    if name in services:
        c.fail(path, f"'{name}' is also a service; give the job a name of its own")
    if raw is None or raw == "":
        c.fail(path, "empty; a scheduled task needs a schedule and a service to reuse or an image "
                     "(image, imageTag or build)")
        return None
    data = c.mapping(raw, path, names(SCHEDULED_TASK))
    if not isinstance(raw, Mapping):
        return None

    def read(name: str) -> Any:
        return c.read(data, declared(JOB_ONLY, name), path)

    schedule = read("schedule")
    if "schedule" not in data:
        c.fail(f"{path}.schedule", "required: cron(...), rate(...) or at(...)")
    service = read("service")
    task = None
    if service:
        if service not in services:
            valid = ", ".join(sorted(services)) or "none are configured"
            c.fail(f"{path}.service", f"{c.show(path, service)} is not a service of this stack; valid: {valid}")
        elif services[service].task.architecture == "ARM64" and data.get("capacityProvider") == "FARGATE_SPOT":
            c.fail(f"{path}.capacityProvider", f"FARGATE_SPOT does not run ARM64 tasks, and the service it reuses "
                                               f"({c.show(path, service)}) is ARM64; use FARGATE")
        # The task runs the service's task definition, so only the command may differ.
        for key in names(TASK):
            if key in data and key != "command":
                c.fail(f"{path}.{key}", "cannot be set together with service; the task reuses the "
                                        "service's task definition and overrides only the command")
    else:
        source = _image_source(c, data, path)
        task = _task(c, data, path, source or ImageSource(image="invalid"))
    job = ScheduledJobSettings(
        name=name,
        schedule=schedule or "",
        service=service,
        task=task,
        command=read("command"),
        timezone=_timezone(c, data, path),
        enabled=read("enabled"),
        capacity_provider=read("capacityProvider"),
    )
    check_job(c, job, path, reuses_service=bool(service), fields=False)
    return job


def _check_test_traffic(c: _Checker, services: Mapping[str, ServiceSpec], load_balancer: LoadBalancerSpec) -> None:
    """A service's test traffic needs the test listener, and a test listener a service to route."""
    testing = [s for s in services.values() if isinstance(s.deployment, DeploymentSpec)
               and s.deployment.test_traffic is True and s.deployment.shifts_traffic and not s.is_worker]
    if load_balancer.test_listener_port is None:
        for service in testing:
            c.fail(f"services.{service.name}.deployment.testTraffic",
                   "needs loadBalancer.testListenerPort (and testListenerCidrs): the listener its test rule goes on")
    elif not testing and any(not s.is_worker for s in services.values()):
        c.warn("loadBalancer.testListenerPort: no service has deployment.testTraffic: true, so the test listener "
               "routes nothing")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _aws_provider(c: _Checker, aws_config: Mapping[str, Any]) -> dict[str, Any]:
    """`aws:*` keys become arguments of the program's explicit AWS provider.

    An explicit provider reads none of the stack's `aws:*` config by itself, so a profile or an
    assumed role set with `pulumi config set aws:profile ...` would otherwise be ignored. Keys
    are spelled as the CLI spells them (aws:skipCredentialsValidation), the arguments in Python's.
    """
    import inspect

    import pulumi_aws

    arguments_of = {_camel(argument): argument
                    for argument in inspect.signature(pulumi_aws.Provider._internal_init).parameters
                    if argument not in ("__self__", "resource_name", "opts", "__props__")}
    arguments = {}
    for key, value in aws_config.items():
        if key == "region":
            continue  # the program passes the validated region itself
        argument = arguments_of.get(key)
        if argument is None:
            hint = difflib.get_close_matches(key, arguments_of, n=1)
            c.fail(f"aws:{key}", "not an AWS provider setting" + (f"; did you mean 'aws:{hint[0]}'?" if hint else ""))
            continue
        arguments[argument] = value
    return arguments


# The tags land on every resource of the stack, so they must suit the strictest service among
# them: ELB, IAM, CloudWatch Logs and ECS take letters, digits, spaces and _.:/=+-@ only
# (botocore's Tag patterns), EC2 keys stop at 127 characters (EC2 API Reference, Tag).
_TAG_PUNCTUATION = set("_.:/=+-@")


def _tag_text_ok(text: str) -> bool:
    return all(ch in _TAG_PUNCTUATION or unicodedata.category(ch)[0] in "LNZ" for ch in text)


def _tag_key_error(key: str) -> str | None:
    if not 0 < len(key) <= 127 or key.lower().startswith("aws:") or not _tag_text_ok(key):
        return ("tag keys are 1 to 127 characters (EC2's limit) of letters, digits, spaces and _.:/=+-@ "
                "(what ELB, IAM, CloudWatch Logs and ECS accept) and must not start with aws:")
    return None


def _tag_value_error(value: str) -> Invalid | None:
    if len(value) > 256 or not _tag_text_ok(value):
        return Invalid("is not a tag value every service of the stack accepts: at most 256 letters, digits, "
                       "spaces and _.:/=+-@ (ELB, IAM, CloudWatch Logs and ECS refuse other characters)")
    return None


def _provider_default_tags(c: _Checker, arguments: dict[str, Any]) -> dict[str, str]:
    """Take `aws:defaultTags` out of the provider arguments: the program merges them with its own."""
    default_tags = arguments.pop("default_tags", None)
    if default_tags is None:
        return {}
    if not (isinstance(default_tags, Mapping) and isinstance(default_tags.get("tags", {}), Mapping)):
        c.fail("aws:defaultTags", "expected {tags: {KEY: VALUE}}")
        return {}
    result = {}
    for key, value in default_tags.get("tags", {}).items():
        at = f"aws:defaultTags.tags.{key}"
        if error := _tag_key_error(str(key)):
            c.fail(at, error)
        elif invalid := _tag_value_error(str(value)):
            c.reject(at, str(value), invalid)
        else:
            result[str(key)] = str(value)
    return result


def parse(raw: Mapping[str, Any], *, project: str, stack: str, region: str | None,
          aws_config: Mapping[str, Any] | None = None, secret_keys: Collection[str] = ()) -> Settings:
    """Validate the `ecs-fargate:*` config (keys without the namespace) into Settings.

    `aws_config` holds the stack's `aws:*` keys (without the namespace); `secret_keys` the keys
    whose values are secret ("services", "aws:region"), which no message quotes.
    Raises SettingsError listing every problem found.
    """
    c = _Checker(secret_keys)
    raw = _string_keys(c, raw, "")
    for what, value in (("project", project), ("stack", stack)):
        if not re.match(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$", value.lower()):
            c.fail(what, f"'{value}' cannot name AWS resources (the ECR repository PROJECT-STACK and task "
                         "definition families): use letters, digits, single - or _ between them")
    family_ok = not c.problems
    if family_ok and (problem := NAME_RULES["repository"].problem("ECR repository", f"{project}-{stack}".lower())):
        c.fail("stack", problem)
    c.mapping(raw, "", TOP_LEVEL_KEYS)
    environment = c.read(raw, declared(TOP_LEVEL, "environment"), "")
    if "environment" not in raw:
        c.fail("environment", f"required: one of {', '.join(ENVIRONMENTS)} "
                              f"(pulumi config set {NAMESPACE}:environment dev)")
    environment = environment or "dev"
    if not region:
        c.fail("aws:region", "required: the AWS region to deploy to (pulumi config set aws:region us-east-1)")
    elif not _is_region(region):
        c.fail("aws:region", f"{c.show('aws:region', region)} is not an AWS region name like us-east-1")

    network = _network(c, raw.get("network"), environment)
    registry = _registry(c, raw.get("registry"), environment, project, stack)
    cluster = _cluster(c, raw.get("cluster"), environment)
    load_balancer = _load_balancer(c, raw.get("loadBalancer"), environment, region if region and _is_region(region)
                                   else None)

    services_raw = c.mapping(raw.get("services"), "services")
    if not services_raw:
        c.fail("services", "required: at least one service, e.g. services: {web: {build: ./app, port: 3000}}")
    services = {}
    for name, value in services_raw.items():
        service = _service(c, str(name), value, environment, region if region and _is_region(region) else None)
        if service:
            services[service.name] = service
    services = assign_routes(c, services)
    _check_test_traffic(c, services, load_balancer)
    check_subnet_room(c, network, "network", any(not s.is_worker for s in services.values()))

    scheduled_raw = c.mapping(raw.get("scheduledTasks"), "scheduledTasks")
    scheduled = []
    for name, value in scheduled_raw.items():
        task = _scheduled_task(c, str(name), value, services)
        if task:
            scheduled.append(task)

    for service in services.values():
        if _NAME.match(service.name):
            check_derived_names(c, f"services.{service.name}", service.name, f"{project}-{stack}-{service.name}",
                                web=not service.is_worker, own_task=True, job=False, family_ok=family_ok,
                                features=name_features(service))
    for job in scheduled:
        if _NAME.match(job.name):
            check_derived_names(c, f"scheduledTasks.{job.name}", job.name, f"{project}-{stack}-{job.name}",
                                web=False, own_task=job.task is not None, job=True, family_ok=family_ok)

    tags = c.read(raw, declared(TOP_LEVEL, "tags"), "")

    release_image = c.read(raw, declared(TOP_LEVEL, "releaseImage"), "")
    if release_image is not None:
        tasks = [s.task for s in services.values()] + [j.task for j in scheduled if j.task]
        if all(task.source.image is not None for task in tasks):
            c.warn("releaseImage: no service or scheduled task of this stack uses build or imageTag, so none "
                   "runs the release image; their images come from image: as configured")
        services = {name: replace(s, task=_runs_release_image(s.task, release_image)) for name, s in services.items()}
        scheduled = [replace(j, task=_runs_release_image(j.task, release_image)) for j in scheduled]

    aws_provider = _aws_provider(c, aws_config or {})
    provider_default_tags = _provider_default_tags(c, aws_provider)

    if c.problems:
        raise SettingsError(c.problems)
    return Settings(
        project=project,
        stack=stack,
        environment=environment,
        region=region,
        network=network,
        registry=registry,
        load_balancer=load_balancer,
        services=tuple(services.values()),
        cluster=cluster,
        scheduled_tasks=tuple(scheduled),
        tags=tags,
        aws_provider=aws_provider,
        aws_provider_default_tags=provider_default_tags,
        release_image=release_image,
        warnings=tuple(c.warnings),
    )


def _namespace_config(namespace: str) -> dict[str, Any]:
    """Every `NAMESPACE:*` key the engine passed, objects decoded, so typos can be reported."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{namespace}:"
    result: dict[str, Any] = {}
    for key in sorted(keys):
        if not key.startswith(prefix):
            continue
        short = key[len(prefix):]
        value = runtime_config.get_config(key)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass  # a plain string value, like environment: prod
        result[short] = value
    return result


def _secret_keys() -> set[str]:
    """The config keys the engine marks secret, as `parse` names them ("services", "aws:region").

    `pulumi up` lists them in PULUMI_CONFIG_SECRET_KEYS; a mocked run sets them in the runtime.
    """
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    secret = {key for key in keys if runtime_config.is_config_secret(key)}
    secret |= set(runtime_config.get_config_secret_keys_env())
    prefix = f"{NAMESPACE}:"
    return {key.removeprefix(prefix) for key in secret}


def load() -> Settings:
    """Read this stack's config from the Pulumi engine and validate it."""
    loaded = parse(
        _namespace_config(NAMESPACE),
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        region=pulumi.Config("aws").get("region"),
        aws_config=_namespace_config("aws"),
        secret_keys=_secret_keys(),
    )
    for warning in loaded.warnings:
        pulumi.log.warn(warning)
    return loaded
