"""Run a Pulumi Python program in this process under mocks, and record what it registers.

The program runs exactly as the engine would start it (`__main__.py` in the project directory,
that directory as the working directory, config from the stack) but every resource registration
goes to a mock monitor that records the request: type, name, parent, inputs, options.
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import sys
import threading
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from preflight.mocks import AwsMocks


@dataclass
class RenderedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str | None = None
    protect: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    """The `custom_timeouts` option as the engine receives it: create/update/delete/read, each a
    Go duration string ("30m", "1h30m"), only those set."""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Per input property, the URNs of the resources its value came from."""
    provider: str | None = None
    wire_inputs: dict[str, Any] = field(default_factory=dict)
    """The inputs as the engine receives them (unknowns and secrets in their wire encoding)."""
    wire_outputs: dict[str, Any] = field(default_factory=dict)
    """The outputs in the same encoding: what AnalyzeStack is given."""


@dataclass
class NotEvaluated:
    """A component preflight could not expand: its children are missing from the rendering."""
    urn: str
    type: str
    name: str
    reason: str


@dataclass
class Rendering:
    project: str
    stack: str
    resources: list[RenderedResource]
    exports: dict[str, Any]
    not_evaluated: list[NotEvaluated] = field(default_factory=list)
    """Remote (multi-language) components whose children preflight could not synthesize."""
    unanswered_invokes: list[str] = field(default_factory=list)
    """Data-source tokens the mocks answered with nothing."""

    def of_type(self, typ: str) -> list[RenderedResource]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name: str | None = None) -> RenderedResource:
        found = [r for r in self.of_type(typ) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(typ)]
            raise AssertionError(f"expected one {typ} named {name!r}, found {len(found)} among {names}")
        return found[0]

    def by_urn(self, urn: str) -> RenderedResource:
        return next(r for r in self.resources if r.urn == urn)


LAST_NOT_EVALUATED: list[NotEvaluated] = []
"""The components the last rendering could not expand (also when the program then failed)."""


class DuplicateUrnError(Exception):
    """Two resources with one URN: the engine stops the deployment."""


def _custom_timeouts(request) -> dict[str, str]:
    if not request.HasField("customTimeouts"):
        return {}
    timeouts = request.customTimeouts
    return {key: getattr(timeouts, key) for key in ("create", "update", "delete", "read") if getattr(timeouts, key)}


class RecordingMonitor(runtime_mocks.MockMonitor):
    """The SDK's mock monitor, keeping each registration's request as well as its result."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[RenderedResource] = []
        self._urns: set[str] = set()
        self._urns_lock = threading.Lock()
        self.not_evaluated: list[NotEvaluated] = []

    @staticmethod
    def stack_name() -> str:
        return runtime_settings.get_stack()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine builds URNs: the parent's whole qualified type chain, and nothing for
        # children of the root stack (the SDK's mock keeps only the last parent type).
        if parent:
            qualified = parent.split("::")[2]
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return "::".join(["urn:pulumi:" + runtime_settings.get_stack(), runtime_settings.get_project(),
                          type_, name])

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        with self._urns_lock:  # registrations arrive on several threads at once
            if urn in self._urns:
                # The engine refuses a second resource with the same URN; so must a faithful render.
                raise DuplicateUrnError(f"Duplicate resource URN '{urn}'; try giving it a unique name")
            self._urns.add(urn)
        if request.remote:
            return self._register_remote(urn, request)
        response = super().RegisterResource(request)
        # The SDK's mock monitor keeps no state for the root stack; the engine still sees it.
        registration = self.resources.get(response.urn)
        if registration is not None and registration.id is None:
            # Unknown in a preview: `getResource` (rehydrating a component's resource outputs)
            # must still answer with an id field, empty meaning unknown.
            self.resources[response.urn] = registration._replace(id="")
        outputs = registration.state if registration else {}
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        wire_inputs = json_format.MessageToDict(request.object)
        autoname = outputs.get("name")
        if (request.custom and request.type.startswith("aws:") and "name" not in inputs
                and isinstance(autoname, str) and autoname != rpc.UNKNOWN):
            # The provider's Check adds the name it generates to the inputs; the engine (and a
            # first preview) sees it there.
            inputs["name"] = wire_inputs["name"] = autoname
        self.registrations.append(RenderedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=request.custom,
            inputs=inputs,
            outputs=dict(outputs),
            id=response.id or None,
            protect=bool(request.protect),
            ignore_changes=list(request.ignoreChanges),
            custom_timeouts=_custom_timeouts(request),
            dependencies=list(request.dependencies),
            property_dependencies={key: list(value.urns) for key, value in request.propertyDependencies.items()
                                   if value.urns},
            provider=request.provider or None,
            wire_inputs=wire_inputs,
            wire_outputs=json_format.MessageToDict(_sync_await(rpc.serialize_properties(outputs, {}))),
        ))
        return response

    def _downgraded(self, wire: dict) -> dict:
        """Resource references as the engine gives them to an analyzer: the resource's id (its
        URN for a component)."""
        from preflight import awsx

        return awsx._plain(wire, lambda ref: (self.resources[ref].id if ref in self.resources else None) or ref)

    def _register_remote(self, urn: str, request):
        """A multi-language component: its provider would construct its children; preflight
        synthesizes those it models (preflight/awsx.py) and names the others as not evaluated."""
        from preflight import awsx

        runtime_mocks._ensure_event_loop()
        record = RenderedResource(
            urn=urn, type=request.type, name=request.name, parent=request.parent or None, custom=False,
            inputs=awsx._plain(json_format.MessageToDict(request.object), lambda ref: ref),
            outputs={}, dependencies=list(request.dependencies),
            property_dependencies={key: list(value.urns) for key, value in request.propertyDependencies.items()
                                   if value.urns},
            wire_inputs=self._downgraded(json_format.MessageToDict(request.object)))
        self.registrations.append(record)
        self.resources[urn] = runtime_mocks.MockMonitor.ResourceRegistration(urn, "", {})
        reason = None
        try:
            outputs = awsx.expand(self, request)
        except awsx.AwsxError:
            raise
        except awsx.NotExpanded as error:
            reason, outputs = str(error), {}
        except Exception as error:  # noqa: BLE001 - never a crash: reported as not evaluated
            reason, outputs = f"preflight failed to expand it: {type(error).__name__}: {error}", {}
        if reason:
            self.not_evaluated.append(NotEvaluated(urn, request.type, request.name, reason))
            LAST_NOT_EVALUATED.append(self.not_evaluated[-1])
        struct = struct_pb2.Struct()
        struct.update(outputs)
        # As the engine gives them to an analyzer: resource references downgraded to their ids.
        plain = self._downgraded(json_format.MessageToDict(struct))
        record.outputs = plain
        record.wire_outputs = plain
        self.resources[urn] = runtime_mocks.MockMonitor.ResourceRegistration(urn, "", plain)
        return resource_pb2.RegisterResourceResponse(urn=urn, object=struct)

    def RegisterResourceOutputs(self, request):
        """A component's (or the stack's) registered outputs: its outputs in AnalyzeStack."""
        for resource in self.registrations:
            if resource.urn == request.urn:
                resource.outputs = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
                resource.wire_outputs = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


def encode_config(config: Mapping[str, Any]) -> dict[str, str]:
    """Config values as the engine passes them to a program: strings, objects as JSON.

    The CLI marshals objects from Go maps, so their keys arrive sorted, not in file order.
    """
    return {key: value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            for key, value in config.items()}


@contextmanager
def _program_context(program_dir: Path):
    previous_cwd = os.getcwd()
    sys.path.insert(0, str(program_dir))
    os.chdir(program_dir)
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        sys.path.remove(str(program_dir))


def _quiet_leftovers(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """After a failed program, its unresolved outputs die with the same error; asyncio would
    print each as "Future exception was never retrieved" when collected. The error itself has
    been reported once already."""
    if "exception was never retrieved" not in context.get("message", ""):
        loop.default_exception_handler(context)



@contextmanager
def _unknown_stack_references():
    """Another stack's outputs cannot be read offline. The SDK turns an unknown output into None
    outside a preview (and `get_output` would crash on it), so a StackReference's outputs are made
    unknown Outputs, as in a preview: rules that need them are skipped, and the mocks name the
    reference in the report (answeredWithNothing)."""
    original = pulumi.StackReference.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)

        def done(value):
            future = asyncio.get_event_loop().create_future()
            future.set_result(value)
            return future

        self.outputs = pulumi.Output({self}, done({}), done(False), done(False))
        self.secret_output_names = pulumi.Output({self}, done([]), done(True), done(False))

    pulumi.StackReference.__init__ = init
    try:
        yield
    finally:
        pulumi.StackReference.__init__ = original


def render(program_dir: str | os.PathLike, *, project: str, stack: str,
           config: Mapping[str, Any], secret_keys: tuple[str, ...] = (),
           preview: bool = False, mocks: pulumi.runtime.Mocks | None = None) -> Rendering:
    """Run the program in `program_dir` for `stack` with `config`; return what it registered.

    Errors the program raises (a bad config, a bug) propagate after the runtime has settled.
    """
    program_dir = Path(program_dir).resolve()
    region = str(config.get("aws:region") or "us-east-1")
    monitor = RecordingMonitor(mocks or AwsMocks(region=region, preview=preview))
    LAST_NOT_EVALUATED.clear()
    runtime_settings.ROOT.set(None)
    set_all_config(encode_config(config), list(secret_keys))
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    # As the SDK's own test decorator does: no outputs or RPCs of an earlier rendering linger.
    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()
    root = runtime_settings.get_root_resource()

    with _program_context(program_dir), _unknown_stack_references():
        try:
            _sync_await(run_pulumi_func(lambda: runpy.run_path(str(program_dir / "__main__.py"),
                                                               run_name="__main__")))
        except BaseException:
            asyncio.get_event_loop().set_exception_handler(_quiet_leftovers)
            raise
    exports = {key: _sync_await(pulumi.Output.from_input(value).future())
               for key, value in getattr(root, "outputs", {}).items()}
    # The mock root stack was finished before the program ran, so its exports were never
    # registered as its outputs; the engine's stack resource carries them.
    for resource in monitor.registrations:
        if resource.type == "pulumi:pulumi:Stack":
            wire = _sync_await(rpc.serialize_properties(getattr(root, "outputs", {}), {}))
            resource.outputs = dict(exports)
            resource.wire_outputs = json_format.MessageToDict(wire)
    return Rendering(project=project, stack=stack, resources=monitor.registrations, exports=exports,
                     not_evaluated=list(monitor.not_evaluated),
                     unanswered_invokes=sorted(set(getattr(monitor.mocks, "unanswered", []))))
