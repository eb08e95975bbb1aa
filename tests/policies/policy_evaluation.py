"""Run one rule offline on the objects the SDK's analyzer server would hand it (a test helper;
it used to ship in the pack as `ecs_fargate_rules.evaluation`).

The engine sends a policy pack properties over gRPC: a protobuf `Struct` (so every number
arrives as a float), which the SDK deserializes and wraps in its unknown-checking proxy (a
`Mapping` that raises `UnknownValueError` when a rule reads a value unknown during preview).
Hand-built dicts skip all three steps and hide bugs that only show in a real preview
(pulumi/pulumi-policy#445). `resource_args` / `policy_resource` + `stack_args` take the same
steps and build `ResourceValidationArgs` / `StackValidationArgs` as the server does; `evaluate`
runs one policy on them and returns what it reported through `report_violation`.

To stand for a value that is unknown during preview, put one of the SDK's sentinels in the
properties: `UNKNOWN` (a string), `UNKNOWN_BOOL`, `UNKNOWN_NUMBER`, `UNKNOWN_ARRAY`,
`UNKNOWN_OBJECT`.

The whole pack under an environment's `--policy-pack-config` (levels, `all`, disabled rules,
the advisory "can't run during preview" notes) is `python -m preflight`, which drives the SDK's
analyzer servicer the way the engine does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    unknown_checking_proxy,
)

UNKNOWN = UNKNOWN_STRING_VALUE
UNKNOWN_BOOL = UNKNOWN_BOOLEAN_VALUE
UNKNOWN_NUMBER = UNKNOWN_NUMBER_VALUE
UNKNOWN_ARRAY = UNKNOWN_ARRAY_VALUE
UNKNOWN_OBJECT = UNKNOWN_OBJECT_VALUE


def over_the_wire(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as a policy receives them: via a protobuf Struct, deserialized (ints -> floats)."""
    struct = struct_pb2.Struct()
    struct.update(values)
    return deserialize_properties(json_format.MessageToDict(struct))


def urn_for(resource_type: str, name: str, stack: str = "dev") -> str:
    return f"urn:pulumi:{stack}::ecs-fargate::{resource_type}::{name}"


_NO_OPTIONS = PolicyResourceOptions(
    protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
    custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[], parent=None)


def resource_args(resource_type: str, props: Mapping[str, Any], *, name: str = "example",
                  config: Mapping[str, Any] | None = None,
                  stack_tags: Mapping[str, str] | None = None) -> ResourceValidationArgs:
    """The args a resource policy receives for a resource with these (camelCase) inputs."""
    return ResourceValidationArgs(
        resource_type, unknown_checking_proxy(over_the_wire(props)), urn_for(resource_type, name),
        name, _NO_OPTIONS, None, over_the_wire(config) if config else None, stack_tags)


def resource_options(*, ignore_changes: Iterable[str] = ()) -> PolicyResourceOptions:
    """A resource's options as the SDK's server builds them from the engine's request."""
    return PolicyResourceOptions(
        protect=False, ignore_changes=list(ignore_changes), delete_before_replace=None, aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[], parent=None)


def policy_resource(resource_type: str, props: Mapping[str, Any], *, name: str = "example",
                    ignore_changes: Iterable[str] = ()) -> PolicyResource:
    """One resource of a stack as a stack policy sees it (props are the resource's outputs)."""
    return PolicyResource(resource_type, unknown_checking_proxy(over_the_wire(props)),
                          urn_for(resource_type, name), name,
                          resource_options(ignore_changes=ignore_changes) if ignore_changes else _NO_OPTIONS,
                          None, None, [], {})


def stack_args(resources: Iterable[PolicyResource], *, config: Mapping[str, Any] | None = None,
               stack_tags: Mapping[str, str] | None = None) -> StackValidationArgs:
    return StackValidationArgs(list(resources), over_the_wire(config) if config else None, stack_tags)


@dataclass(frozen=True)
class Violation:
    message: str
    urn: str | None = None


def evaluate(policy: Policy, args: ResourceValidationArgs | StackValidationArgs) -> list[Violation]:
    """Run one policy's validation and return what it reported.

    An unknown value the policy needed raises the SDK's `UnknownValueError`, exactly as under
    the engine (whose server turns it into an advisory "can't run during preview" note).
    """
    reported: list[Violation] = []
    result = policy.validate(args, lambda message, urn=None: reported.append(Violation(message, urn)))
    if isawaitable(result):
        raise TypeError(f"policy {policy.name} is asynchronous; evaluate() runs synchronous rules only")
    return reported
