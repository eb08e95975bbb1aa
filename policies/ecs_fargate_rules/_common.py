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

import functools
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
    metadata for the reference table. `context`: what else the checks get as keyword arguments,
    of `name` (the resource's logical name, for messages and autonames) and `provider` (its
    provider's inputs: region, default tags; None for the default provider).
    """

    CONTEXT = ("name", "provider")

    def __init__(self, *, checks: Mapping[str, ResourceCheck], rationale: str,
                 security_hub_control: str | None = None, context: Sequence[str] = (), **policy: Any) -> None:
        super().__init__(validate=self._validate, framework=_framework(security_hub_control), **policy)
        unknown = set(context) - set(self.CONTEXT)
        if unknown:
            raise ValueError(f"unknown check context {sorted(unknown)}; one of {', '.join(self.CONTEXT)}")
        self.checks = dict(checks)
        self.rationale = rationale
        self.context = tuple(context)

    def check_for(self, resource_type: str) -> ResourceCheck | None:
        return self.checks.get(resource_type)

    def _validate(self, args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        check = self.check_for(args.resource_type)
        if check is None:
            return
        config = config_with_defaults(self.config_schema, args.get_config())
        extra: dict[str, Any] = {}
        if "name" in self.context:
            extra["name"] = args.name
        if "provider" in self.context:
            extra["provider"] = args.provider.props if args.provider is not None else None
        try:
            for message in check(args.props, config, **extra):
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


def known_arn(resource: PolicyResource) -> str | None:
    """A resource's `arn` output, or None while it is unknown (a first preview) or absent."""
    try:
        value = resource.props.get("arn")
    except UnknownValueError:
        return None
    return str(value) if value else None


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


class _Pairs(list):
    """A JSON object as its (key, value) pairs in document order, duplicates kept."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN/Infinity; Go's decoder does not


def _json_values(text: str, prop: str) -> list[Any]:
    """Every JSON value in `text`, objects as `_Pairs`.

    The provider decodes a string of several JSON values one after another into the same
    container list (`tfjson.DecodeFromString` loops until EOF), so they are all read here too.
    """
    decoder = json.JSONDecoder(object_pairs_hook=_Pairs, parse_constant=_no_constant)
    values, index = [], 0
    try:
        while True:
            while index < len(text) and text[index] in " \t\r\n":
                index += 1
            if index == len(text) and values:
                return values
            value, index = decoder.raw_decode(text, index)
            values.append(value)
    except ValueError as error:
        raise MalformedDocument(f"{prop} is not valid JSON ({error})") from None


@functools.cache
def _ecs_shapes() -> Mapping[str, Any]:
    from botocore.loaders import create_loader  # the pack already needs botocore's models

    return create_loader().load_service_model("ecs", "service-2")["shapes"]


def _fold(key: str) -> str:
    """A key as Go's encoding/json compares it with a struct field name (bytes.EqualFold).

    The field names are ASCII; besides ASCII case, the Kelvin sign folds to k and the long s to s.
    """
    return key.replace("\u212a", "k").replace("\u017f", "s").translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass
class _Decoder:
    """Decodes container definitions into the API's shapes as the provider does.

    terraform-provider-aws (`expandContainerDefinitions`) decodes the string with Go's
    encoding/json into the AWS SDK's `[]types.ContainerDefinition`, whose fields carry no JSON
    tags: a key matches a field whatever its case ("Image", "IMAGE", "image"), unknown keys are
    dropped, and a field set twice takes the later value, merged into the earlier one when both
    are objects (maps gain keys, lists are decoded element by element over the earlier list). A
    value of the wrong type makes the provider refuse the whole document. Member names come from
    botocore's ECS model, so the result has the API's camelCase keys the rules read.
    """

    prop: str
    ambiguities: list[str]

    def value(self, value: Any, shape_name: str, earlier: Any, where: str) -> Any:
        shape = _ecs_shapes()[shape_name]
        kind = shape["type"]
        if value is None:  # JSON null: nil for pointers, slices and maps; ignored for enum values
            return earlier if "enum" in shape else None
        if kind == "structure":
            return self.structure(value, shape, earlier, where)
        if kind == "list":
            if isinstance(value, (str, Mapping, _Pairs)) or not isinstance(value, Sequence):
                self.refuse(where, "a list", value)
            before = earlier if isinstance(earlier, list) else []
            return [self.value(item, shape["member"]["shape"], before[i] if i < len(before) else None,
                               f"{where}[{i}]") for i, item in enumerate(value)]
        if kind == "map":
            pairs = self.pairs(value, where)
            result = dict(earlier) if isinstance(earlier, Mapping) else {}
            for key, item in pairs:
                result[key] = self.value(item, shape["value"]["shape"], None, f"{where}.{key}")
            return result
        if kind == "boolean" and not isinstance(value, bool):
            self.refuse(where, "true or false", value)
        if kind in ("integer", "long") and (isinstance(value, bool) or not isinstance(value, (int, float))
                                            or value != int(value)):
            self.refuse(where, "a whole number", value)
        if kind == "string" and not isinstance(value, str):
            self.refuse(where, "a string", value)
        return value

    def pairs(self, value: Any, where: str) -> list[tuple[str, Any]]:
        if isinstance(value, _Pairs):
            return list(value)
        if isinstance(value, Mapping):
            return [(key, value[key]) for key in value]
        self.refuse(where, "an object", value)
        return []

    def structure(self, value: Any, shape: Mapping[str, Any], earlier: Any, where: str) -> dict[str, Any]:
        members = shape["members"]
        by_fold = {_fold(name): name for name in members}
        result = dict(earlier) if isinstance(earlier, Mapping) else {}
        seen: dict[str, str] = {}
        for key, item in self.pairs(value, where):
            member = by_fold.get(_fold(str(key)))
            if member is None:
                continue  # the provider ignores keys that name no field
            if member in seen:
                self.ambiguities.append(
                    f"{where} sets {member} twice ({json.dumps(seen[member])} and {json.dumps(key)}); "
                    f"the provider merges them and the later one wins")
            seen[member] = key
            result[member] = self.value(item, members[member]["shape"], result.get(member),
                                        f"{where}.{member}")
        return result

    def refuse(self, where: str, expected: str, value: Any) -> None:
        raise MalformedDocument(f"{where} must be {expected}, not {json.dumps(value)[:60]}; the provider "
                                "refuses the container definitions")


@dataclass(frozen=True)
class ContainerDefinitions:
    containers: list[tuple[str, Mapping[str, Any]]]
    """(label, definition) per container, with the API's camelCase keys."""
    ambiguities: list[str]
    """Fields set more than once (keys in two casings, or several JSON documents)."""


def read_container_definitions(value: Any, prop: str = "containerDefinitions") -> ContainerDefinitions:
    """Container definitions (a JSON string, or already parsed) read as the AWS provider reads them.

    Every rule that looks into containers reads them through here, so a key written "Privileged"
    or "LogConfiguration" means what it means to the provider. See `_Decoder`.
    """
    documents = _json_values(value, prop) if isinstance(value, str) else [value]
    ambiguities: list[str] = []
    if len(documents) > 1:
        ambiguities.append(f"{prop} holds {len(documents)} JSON documents; the provider decodes each over "
                           "the one before")
    decoder = _Decoder(prop, ambiguities)
    decoded: list[Any] = []
    for document in documents:
        if document is None:  # null: an empty list
            decoded = []
            continue
        if isinstance(document, (str, Mapping, _Pairs)) or not isinstance(document, Sequence):
            raise MalformedDocument(f"{prop} must be a JSON list of container definitions; the provider "
                                    "refuses anything else")
        decoded = [decoder.value(item, "ContainerDefinition", decoded[i] if i < len(decoded) else None,
                                 f"{prop}[{i}]") if isinstance(item, (Mapping, _Pairs))
                   else _not_an_object(prop, i) for i, item in enumerate(document)]
    return ContainerDefinitions(
        containers=[(str(container.get("name") or f"#{index}"), container) for index, container in enumerate(decoded)],
        ambiguities=ambiguities)


def _not_an_object(prop: str, index: int) -> Any:
    raise MalformedDocument(f"{prop}[{index}] is not an object")


def containers(props: Props) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(label, definition) for each container of a task definition's `containerDefinitions`,
    read as the provider reads them (`read_container_definitions`).

    The label is the container's name, which is what a user recognises in a message.
    """
    yield from read_container_definitions(props.get("containerDefinitions")).containers


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
