"""Evaluate a CrossGuard policy pack the way `pulumi preview/up --policy-pack` does, offline.

The pack is loaded by running its own `__main__.py` under the real `PolicyPack` constructor;
only the gRPC server it would start is replaced by a stand-in that keeps the analyzer servicer.
Then the engine's side is reproduced: the enforcement levels and config are reconciled the way
the CLI reconciles them (schema defaults, the pack's initial config, then `all` and per-policy
entries of the config file, validated against each policy's schema) and sent with `Configure`;
every resource goes through `Analyze` with its inputs and the whole stack through
`AnalyzeStack` with its outputs, as protobuf requests carrying the engine's encoding (unknowns
as the unknown sentinel, secrets as secret objects). Props therefore reach the rules through the
SDK's own deserializer and unknown-checking proxy.
"""

from __future__ import annotations

import io
import json
import runpy
import sys
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from preflight.render import Rendering, RenderedResource

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_LEVEL_TO_PROTO = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY,
                   "remediate": analyzer_pb2.REMEDIATE, "disabled": analyzer_pb2.DISABLED}
_PROTO_TO_LEVEL = {value: key for key, value in _LEVEL_TO_PROTO.items()}
# The SDK reports a rule that touched an unknown value as an advisory diagnostic with this text.
_UNKNOWN_PREFIX = "can't run policy"


class PolicyPackError(Exception):
    """A policy pack or policy config that the CLI would refuse."""


@dataclass
class Diagnostic:
    policy: str
    enforcement_level: str
    urn: str
    message: str
    skipped: bool = False
    """The rule touched a value unknown until deployment (preview) and could not run."""


@dataclass
class LoadedPack:
    name: str
    servicer: Any
    info: analyzer_pb2.AnalyzerInfo

    @property
    def policy_names(self) -> list[str]:
        return [policy.name for policy in self.info.policies]


class _CapturedServer:
    """Stands in for the grpc server PolicyPack starts; keeps the servicer it is given."""

    servicer = None

    def add_insecure_port(self, address: str) -> int:
        return 0

    def start(self) -> None:
        # PolicyPack blocks in a sleep loop after starting; a KeyboardInterrupt is how it stops.
        raise KeyboardInterrupt

    def stop(self, grace) -> None:
        pass


@contextmanager
def _captured_server():
    from pulumi_policy import policy as sdk

    captured = _CapturedServer()
    saved = (sdk.grpc.server, sdk.analyzer_pb2_grpc.add_AnalyzerServicer_to_server)
    sdk.grpc.server = lambda *args, **kwargs: captured

    def add_servicer(servicer, server):
        captured.servicer = servicer

    sdk.analyzer_pb2_grpc.add_AnalyzerServicer_to_server = add_servicer
    try:
        yield captured
    finally:
        sdk.grpc.server, sdk.analyzer_pb2_grpc.add_AnalyzerServicer_to_server = saved


def load_pack(pack_dir: str | Path) -> LoadedPack:
    """Run the pack's `__main__.py` under the real PolicyPack constructor and keep its servicer."""
    pack_dir = Path(pack_dir).resolve()
    main = pack_dir / "__main__.py"
    if not main.is_file():
        raise PolicyPackError(f"{pack_dir}: no __main__.py (is this a Python policy pack?)")
    sys.path.insert(0, str(pack_dir))
    try:
        with _captured_server() as server, redirect_stdout(io.StringIO()):
            try:
                runpy.run_path(str(main), run_name="__main__")
            except KeyboardInterrupt:
                pass
    except Exception as error:  # noqa: BLE001 - any failure to load is reported as one message
        raise PolicyPackError(f"{main}: the pack failed to load: {type(error).__name__}: {error}") from None
    finally:
        sys.path.remove(str(pack_dir))
    if server.servicer is None:
        raise PolicyPackError(f"{main}: did not construct a PolicyPack")
    info = server.servicer.GetAnalyzerInfo(empty_pb2.Empty(), None)
    return LoadedPack(name=info.name, servicer=server.servicer, info=info)


# -- The engine's config reconciliation -------------------------------------------------------

def _parse_entry(key: str, value: Any) -> tuple[str | None, dict]:
    if isinstance(value, str):
        if value not in LEVELS:
            raise PolicyPackError(f"parsing enforcement level for {key!r}: {value!r} is not a valid "
                                  f"enforcement level (valid: {', '.join(LEVELS)})")
        return value, {}
    if isinstance(value, dict):
        value = dict(value)
        level = value.pop("enforcementLevel", None)
        if level is not None and level not in LEVELS:
            raise PolicyPackError(f"parsing enforcement level for {key!r}: {level!r} is not a valid "
                                  f"enforcement level (valid: {', '.join(LEVELS)})")
        return level, value
    raise PolicyPackError(f"parsing {key!r}: {value!r} is not a valid value; must be a string or object")


def read_config_file(path: str | Path) -> dict[str, tuple[str | None, dict]]:
    """Parse a `--policy-pack-config` file: `{"all": LEVEL, "<policy>": LEVEL | {...}}`."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise PolicyPackError(f"{path}: cannot read the policy config: {error.strerror}") from None
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise PolicyPackError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise PolicyPackError(f"{path}: expected a JSON object")
    return {key: _parse_entry(key, value) for key, value in raw.items()}


def _apply(result: dict, given: dict) -> None:
    all_level = given.get("all", (None, {}))[0]
    if all_level:
        for name, (_, properties) in result.items():
            result[name] = (all_level, properties)
    for name, (level, properties) in given.items():
        current_level, current_properties = result.get(name, (None, None))
        merged = dict(current_properties or {})
        merged.update(properties)
        result[name] = (level or current_level, merged or current_properties)


def reconcile_config(pack: LoadedPack, file_config: dict) -> dict[str, tuple[str | None, dict]]:
    """Defaults from the policies' schemas, then the pack's initial config, then the file."""
    result: dict[str, tuple[str | None, dict]] = {}
    schemas = {}
    for policy in pack.info.policies:
        schema = json_format.MessageToDict(policy.configSchema, preserving_proto_field_name=True) \
            if policy.HasField("configSchema") else None
        defaults = {key: spec["default"] for key, spec in ((schema or {}).get("properties") or {}).items()
                    if isinstance(spec, dict) and "default" in spec}
        result[policy.name] = (_PROTO_TO_LEVEL[policy.enforcementLevel], defaults)
        if schema:
            schemas[policy.name] = {"type": "object", **schema}
    # Every initial-config entry has a level for the engine: proto3 has no "unset", so an entry
    # the pack gave none reads as ADVISORY (0) and sets it (convertEnforcementLevel in the CLI's
    # sdk/go/common/resource/plugin/analyzer_plugin.go).
    initial = {key: (_PROTO_TO_LEVEL[value.enforcementLevel], json_format.MessageToDict(value.properties))
               for key, value in pack.info.initialConfig.items()}
    _apply(result, initial)
    _apply(result, file_config)

    problems = []
    for name, schema in schemas.items():
        validator = jsonschema.Draft7Validator(schema)
        for error in validator.iter_errors(result[name][1] or {}):
            where = ".".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{name}: {where}: {error.message}")
    if problems:
        raise PolicyPackError("policy pack configuration is invalid:\n  " + "\n  ".join(problems))
    remediating = sorted(name for name, (level, _) in result.items() if level == "remediate")
    if remediating:
        # The engine would first let these rewrite the resources; preflight does not remediate.
        raise PolicyPackError(f"preflight cannot run remediations ({', '.join(remediating)}); "
                              "give these policies mandatory, advisory or disabled")
    return result


def configure(pack: LoadedPack, config: dict[str, tuple[str | None, dict]]) -> None:
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, (level, properties) in config.items():
        entry = analyzer_pb2.PolicyConfig()
        if level:
            entry.enforcementLevel = _LEVEL_TO_PROTO[level]
        if properties:
            entry.properties.update(properties)
        request.policyConfig[name].CopyFrom(entry)
    pack.servicer.Configure(request, None)


# -- Requests as the engine sends them ---------------------------------------------------------

def _struct(properties: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(properties)
    return struct


def _options(resource: RenderedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect, ignoreChanges=resource.ignore_changes, parent=resource.parent or "")


def _provider(resource: RenderedResource, by_urn: dict[str, RenderedResource]):
    if not resource.provider:
        return None
    urn = resource.provider.rsplit("::", 1)[0]
    provider = by_urn.get(urn)
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, properties=_struct(provider.wire_inputs), urn=provider.urn, name=provider.name)


def _diagnostics(response, default_urn: str) -> list[Diagnostic]:
    found = []
    for diagnostic in response.diagnostics:
        skipped = diagnostic.message.startswith(_UNKNOWN_PREFIX)
        found.append(Diagnostic(
            policy=diagnostic.policyName,
            enforcement_level=_PROTO_TO_LEVEL[diagnostic.enforcementLevel],
            urn=diagnostic.urn or default_urn,
            message=diagnostic.message,
            skipped=skipped,
        ))
    return found


def evaluate(pack: LoadedPack, rendering: Rendering) -> list[Diagnostic]:
    """Run every resource rule on each resource's inputs, then every stack rule on the outputs."""
    by_urn = {r.urn: r for r in rendering.resources}
    diagnostics: list[Diagnostic] = []
    for resource in rendering.resources:
        request = analyzer_pb2.AnalyzeRequest(
            type=resource.type, properties=_struct(resource.wire_inputs), urn=resource.urn,
            name=resource.name, options=_options(resource))
        provider = _provider(resource, by_urn)
        if provider is not None:
            request.provider.CopyFrom(provider)
        diagnostics += _diagnostics(pack.servicer.Analyze(request, None), resource.urn)

    stack_request = analyzer_pb2.AnalyzeStackRequest()
    for resource in rendering.resources:
        entry = analyzer_pb2.AnalyzerResource(
            type=resource.type, properties=_struct(resource.wire_outputs), urn=resource.urn,
            name=resource.name, options=_options(resource), parent=resource.parent or "",
            dependencies=resource.dependencies)
        for key, urns in resource.property_dependencies.items():
            entry.propertyDependencies[key].urns.extend(urns)
        provider = _provider(resource, by_urn)
        if provider is not None:
            entry.provider.CopyFrom(provider)
        stack_request.resources.append(entry)
    stack_urn = f"urn:pulumi:{rendering.stack}::{rendering.project}::pulumi:pulumi:Stack::" \
                f"{rendering.project}-{rendering.stack}"
    diagnostics += _diagnostics(pack.servicer.AnalyzeStack(stack_request, None), stack_urn)
    return diagnostics
