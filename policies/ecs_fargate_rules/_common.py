"""Shared building blocks of the ecs-fargate rules.

Every rule is a small function that takes plain data - the camelCase properties the Pulumi
engine sends for a pulumi-aws resource, and the policy's config - and yields one message per
violation. `ResourceRule` and `StackRule` wrap those functions in the SDK's policy classes, so
the same function runs under `pulumi preview --policy-pack` and in plain unit tests.

Properties arrive wrapped in the SDK's unknown-checking proxy: a `Mapping`/`Sequence` (not a
dict/list) that raises `UnknownValueError` when a rule reads a value the engine cannot know
yet (during preview). Helpers here therefore test for `Mapping`/`Sequence`, never `dict`/`list`,
and read only what a rule needs, so an unknown value elsewhere does not stop a rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

# Resource type tokens of pulumi-aws (classic) 7.x. `aws:alb/*` are the older aliases of
# `aws:lb/*` and are still separate types, so rules on load balancers accept both.
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
ECR_REGISTRY_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
WAF_ASSOCIATIONS = ("aws:wafv2/webAclAssociation:WebAclAssociation",
                    "aws:wafregional/webAclAssociation:WebAclAssociation")
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SECURITY_GROUP_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

SECURITY_HUB = "AWS Security Hub Foundational Security Best Practices"

Props = Mapping[str, Any]
Config = Mapping[str, Any]
ResourceCheck = Callable[[Props, Config], Iterable[str]]
"""Yields one message per violation found in one resource's properties."""
StackCheck = Callable[[Sequence[PolicyResource], Config], Iterable[tuple[str, str]]]
"""Yields (message, urn of the offending resource) per violation found in the whole stack."""


class MalformedDocument(ValueError):
    """A JSON document held in a string property (container definitions, IAM policy) is invalid.

    The provider would reject it too; reporting it as a violation of the rule that needed the
    document tells the user which property is wrong, where a Python error would abort the
    engine's whole analysis with a traceback.
    """


def config_with_defaults(schema: PolicyConfigSchema | None, config: Config) -> dict[str, Any]:
    """The policy's config with the schema's defaults filled in.

    The engine fills defaults in before it calls the pack; doing it here as well keeps a rule
    correct when it is called directly (tests, offline tools) with a partial or empty config.
    """
    defaults = {key: spec["default"] for key, spec in (schema.properties if schema else {}).items()
                if "default" in spec}
    return {**defaults, **config}


def _framework(control: str | None) -> PolicyComplianceFramework | None:
    return PolicyComplianceFramework(name=SECURITY_HUB, reference=control) if control else None


class ResourceRule(ResourceValidationPolicy):
    """A resource policy that runs the check registered for the resource's type.

    `**policy` are the SDK's own arguments (name, description, enforcement_level, severity,
    remediation_steps, config_schema), passed through unchanged.

    Python's SDK has no `validate_resource_of_type`, so the type dispatch lives here, once.
    One rule may check several types, each in the shape that type has (an IAM role carries
    inline policies, a role policy one document). `rationale` (why the rule exists) is plain
    metadata for the reference table.
    """

    def __init__(self, *, checks: Mapping[str, ResourceCheck], rationale: str,
                 security_hub_control: str | None = None, **policy: Any) -> None:
        super().__init__(validate=self._validate, framework=_framework(security_hub_control), **policy)
        self.checks = dict(checks)
        self.rationale = rationale

    def _validate(self, args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        check = self.checks.get(args.resource_type)
        if check is None:
            return
        config = config_with_defaults(self.config_schema, args.get_config())
        try:
            for message in check(args.props, config):
                report_violation(message, None)
        except MalformedDocument as error:
            report_violation(str(error), None)


class StackRule(StackValidationPolicy):
    """A stack policy that runs `check(resources, config)` over every resource of the stack."""

    def __init__(self, *, check: StackCheck, rationale: str, security_hub_control: str | None = None,
                 **policy: Any) -> None:
        super().__init__(validate=self._validate, framework=_framework(security_hub_control), **policy)
        self.check = check
        self.rationale = rationale

    def _validate(self, args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config = config_with_defaults(self.config_schema, args.get_config())
        for message, urn in self.check(args.resources, config):
            report_violation(message, urn)


# ---------------------------------------------------------------------------------------------
# Reading property values.


def as_list(value: Any) -> list[Any]:
    """A property that may be absent, one value, or a list of values, as a list."""
    if value is None:
        return []
    if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def is_set(props: Props, key: str) -> bool:
    """Whether a property has a non-empty value; an unknown value counts as set.

    During preview the engine marks a value unknown only when an output (say a role's ARN)
    will provide it, so a presence check can pass now instead of being skipped; at `pulumi up`
    the value is known and checked for real.
    """
    try:
        return bool(props.get(key))
    except UnknownValueError:
        return True


def shown(value: Any) -> str:
    """A property value for a message; numbers arrive as floats over gRPC (80.0 -> "80")."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


def mapping(value: Any) -> Mapping[str, Any]:
    """A nested object property, or an empty mapping when it is absent."""
    return value if isinstance(value, Mapping) else {}


def of_type(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def parse_json_document(value: Any, prop: str) -> Any:
    """A property that holds a JSON document as a string (pulumi-aws passes these verbatim).

    Already-parsed values are returned as they are, so rules also accept hand-built data.
    """
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as error:
        raise MalformedDocument(f"{prop} is not valid JSON ({error})") from None


# ---------------------------------------------------------------------------------------------
# ECS container definitions.


def containers(props: Props) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(label, definition) for each container of a task definition's `containerDefinitions`.

    The label is the container's name, which is what a user recognises in a message.
    """
    document = parse_json_document(props.get("containerDefinitions"), "containerDefinitions")
    for index, container in enumerate(as_list(document)):
        if not isinstance(container, Mapping):
            raise MalformedDocument(f"containerDefinitions[{index}] is not an object")
        yield str(container.get("name") or f"#{index}"), container


@dataclass(frozen=True)
class ImageReference:
    """A container image reference: `[registry[:port]/]repository[:tag][@digest]`."""

    registry: str
    """The registry host (with port); `docker.io` when the reference names none."""
    repository: str
    """The path inside the registry; Docker Hub official images get their `library/` prefix."""
    tag: str | None
    digest: str | None

    @property
    def location(self) -> str:
        """`registry/repository`, what allowed-registry prefixes are compared with."""
        return f"{self.registry}/{self.repository}"


def parse_image_reference(image: str) -> ImageReference:
    """Split an image reference the way Docker does.

    The tag is what follows the last `:` after the last `/`: a `:` before that is a registry
    port (`host:5000/app` has no tag). The first path component is a registry only when it
    looks like a host (has a `.` or a `:`, or is `localhost`), so `team/app` is on Docker Hub.
    """
    name, _, digest = image.partition("@")
    tag = None
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1:]
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = "docker.io", name
        if "/" not in repository:
            repository = f"library/{repository}"
    return ImageReference(registry=registry, repository=repository, tag=tag or None,
                          digest=digest or None)


# ECS accepts task-level cpu as CPU units ("1024") or vCPUs ("1 vCPU"), and memory as MiB
# ("2048") or GB ("2 GB"); pulumi-aws passes the string through unchanged.
_CPU = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$", re.IGNORECASE)
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(gb)?\s*$", re.IGNORECASE)


def _size(value: Any, pattern: re.Pattern[str], unit_factor: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    match = pattern.match(str(value)) if value is not None else None
    if not match:
        return None
    number = float(match.group(1))
    return int(number * unit_factor) if match.group(2) else int(number)


def cpu_units(value: Any) -> int | None:
    """Task-level cpu in CPU units (1 vCPU = 1024), or None when absent or unreadable."""
    return _size(value, _CPU, 1024)


def memory_mib(value: Any) -> int | None:
    """Task-level memory in MiB (1 GB = 1024), or None when absent or unreadable."""
    return _size(value, _MEMORY, 1024)


# ---------------------------------------------------------------------------------------------
# IAM policy documents.


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM policy document (`Statement` may be one object or a list)."""
    return [s for s in as_list(mapping(document).get("Statement")) if isinstance(s, Mapping)]


def allows(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def principals(statement: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, principal) pairs of a statement's `Principal`; `"*"` becomes ("*", "*")."""
    principal = statement.get("Principal")
    if isinstance(principal, str):
        return [("*", principal)]
    return [(kind, str(value)) for kind, values in mapping(principal).items()
            for value in as_list(values)]
