"""aws-api-constraints: the values AWS's APIs would refuse at deploy time, judged before it.

Every constraint lives in `aws_constraints.json`, one entry per documented constraint: where it
applies (resource types and property paths), what it checks, the AWS API field it governs and
the page that documents it. When an entry names a botocore shape member, its min/max/pattern/
enum are read from botocore's service model when the pack loads, so the limits move with AWS.

Values are the camelCase inputs the engine sends (numbers as floats; container definitions and
IAM documents as JSON strings). A name that pulumi-aws generates - `name` unset - is judged as
the provider would generate it from the logical name. A value unknown during preview is skipped
on its own: every other value is still judged and reported, and only then does the rule raise
the SDK's `UnknownValueError`, which the engine shows as an advisory "can't run ... during
preview" note listing what was skipped.

The provider's default tags go onto every resource of every service: the provider itself is
held only to what every service enforces, and each resource to what its own service adds (the
charsets of ELB, IAM, Logs and ECS, EC2's 127-character keys), with the defaults merged into its
tags as pulumi-aws merges them.

The resource rule judges one resource at a time (the engine runs it before each resource's
step, so a refused value stops `pulumi up` before anything is created); the stack rule judges
what spans resources (listener rule priorities, names unique in their scope, the aggregate size
of a role's inline policies).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
import warnings
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, PolicyProviderResource, PolicyResource, Severity
from pulumi_policy.proxy import UnknownValueError

from ._common import (
    Config,
    MalformedDocument,
    Props,
    ResourceRule,
    StackRule,
    as_list,
    mapping,
    read_container_definitions,
    shown,
)

DATA_FILE = Path(__file__).with_name("aws_constraints.json")
PROVIDER_TYPE = "pulumi:providers:aws"
# Longer values are cut in messages: props marked secret arrive unmarked, so never echo much.
SHOWN_CHARACTERS = 60


# ---------------------------------------------------------------------------------------------
# botocore: service models and their (Java-flavoured) patterns.


@functools.cache
def _loader():
    from botocore.loaders import create_loader  # imported once, only when a constraint needs it

    return create_loader()


@functools.cache
def _service_shapes(service: str) -> Mapping[str, Any]:
    return _loader().load_service_model(service, "service-2")["shapes"]


def botocore_shape(reference: Mapping[str, str]) -> dict[str, Any]:
    """The shape an entry's `botocore` reference names: `shape` itself, or its `member`'s target.

    The member's own documentation, when it has one, replaces the target shape's.
    """
    shapes = _service_shapes(reference["service"])
    shape = shapes[reference["shape"]]
    if "member" not in reference:
        return dict(shape)
    member = shape["members"][reference["member"]]
    target = dict(shapes[member["shape"]])
    if member.get("documentation"):
        target["documentation"] = member["documentation"]
    return target


@functools.cache
def _unicode_class(category: str) -> str:
    """Character ranges (regex class body) of every code point whose category starts with it."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x110000):
        if unicodedata.category(chr(code))[0] == category:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
                   for a, b in ranges)


def _class_body(name: str) -> str:
    return r"\x20-\x7e" if name == "Print" else _unicode_class(name)


@functools.cache
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A botocore (Java) pattern as a Python regex, to be matched against the whole value.

    Java's `\\w` and `\\d` are ASCII (hence re.ASCII); `\\p{L}`, `\\p{N}` and `\\p{Z}` become
    explicit ranges (computed on first use) and `\\p{Print}` printable ASCII.
    """
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        unicode_property = re.match(r"\\p\{(L|N|Z|Print)\}", pattern[index:])
        if unicode_property:
            body = _class_body(unicode_property.group(1))
            out.append(body if in_class else f"[{body}]")
            index += unicode_property.end()
            continue
        character = pattern[index]
        if character == "\\":
            out.append(pattern[index:index + 2])
            index += 2
            continue
        if character == "[" and not in_class:
            in_class = True
        elif character == "]" and in_class and out and out[-1] != "[":
            in_class = False
        out.append(character)
        index += 1
    return re.compile("".join(out), re.ASCII)


# ---------------------------------------------------------------------------------------------
# Property paths: `ingress[].description`, `containerDefinitions@json[].healthCheck.retries`,
# `tags{}` (every value of a map), `tags{keys}` (every key), `healthCheck.command[0]`.

_SEGMENT = re.compile(r"(?P<name>[A-Za-z0-9_]+)(?P<json>@json)?(?P<sub>\[\]|\[\d+\]|\{\}|\{keys\})?")


@dataclass(frozen=True)
class Segment:
    name: str
    json: bool
    sub: str | None


@functools.cache
def parse_path(path: str) -> tuple[Segment, ...]:
    segments = []
    for part in path.split("."):
        match = _SEGMENT.fullmatch(part)
        if not match:
            raise ValueError(f"bad property path {path!r} at {part!r}")
        segments.append(Segment(match["name"], bool(match["json"]), match["sub"]))
    return tuple(segments)


@dataclass
class Found:
    label: str
    """Where the value is, as a user reads it: `containerDefinitions[0].healthCheck.retries`."""
    value: Any
    parent: Any
    """The object that holds the value; `when` and `compare` read its other properties."""


@dataclass
class Judgement:
    """What judging one resource (or the stack) found: messages, and what could not be read."""

    resource: str = "this resource"
    """How messages name the resource: `aws.ecs.TaskDefinition 'web-task'`."""
    messages: list[str] = field(default_factory=list)
    unknown: dict[str, UnknownValueError] = field(default_factory=dict)
    malformed: set[str] = field(default_factory=set)

    def skip(self, label: str, error: UnknownValueError) -> None:
        self.unknown.setdefault(label, error)

    def finish(self) -> None:
        """Raise the SDK's UnknownValueError when something had to be skipped (after the
        messages are out: the engine keeps what was reported before)."""
        if self.unknown:
            error = next(iter(self.unknown.values()))
            skipped = ", ".join(list(self.unknown)[:6]) + (", ..." if len(self.unknown) > 6 else "")
            verb = "was" if len(self.unknown) == 1 else "were"
            error.message = f"{skipped} can't be known during preview and {verb} not judged; every known value was"
            raise error


_MISSING = object()


def _child(node: Any, key: Any, label: str, judgement: Judgement) -> Any:
    """node[key], or _MISSING when absent or unknown (an unknown value is recorded)."""
    try:
        if isinstance(node, Mapping):
            value = node.get(key)
        elif isinstance(node, Sequence) and not isinstance(node, str) and isinstance(key, int):
            value = node[key] if -len(node) <= key < len(node) else None
        else:
            return _MISSING
    except UnknownValueError as error:
        judgement.skip(label, error)
        return _MISSING
    return _MISSING if value is None else value


def _document(value: Any, label: str, judgement: Judgement) -> Any:
    """A JSON document held in a string (pulumi-aws passes them verbatim); parsed values pass.

    Container definitions are read as the provider reads them (`read_container_definitions`:
    keys in any case, duplicates merged), so `"HealthCheck": {"Retries": 99}` is judged too.
    """
    if label == "containerDefinitions":
        try:
            return [definition for _, definition in read_container_definitions(value, label).containers]
        except MalformedDocument as error:
            if label not in judgement.malformed:
                judgement.malformed.add(label)
                judgement.messages.append(f"{judgement.resource}: {error}.")
            return _MISSING
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as error:
        if label not in judgement.malformed:
            judgement.malformed.add(label)
            judgement.messages.append(f"{judgement.resource}: {label} is not valid JSON ({error}); AWS refuses it "
                                      "as well.")
        return _MISSING


def plain(value: Any) -> Any:
    """A value with the SDK's proxies replaced by dicts and lists (raises on an unknown inside)."""
    if isinstance(value, Mapping):
        return {key: plain(value[key]) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(value[index]) for index in range(len(value))]
    return value


def locate(root: Any, path: str, judgement: Judgement) -> Iterator[Found]:
    """Every value at `path` under root; absent values yield nothing, unknown ones are recorded."""
    def walk(node: Any, segments: tuple[Segment, ...], label: str) -> Iterator[Found]:
        segment, rest = segments[0], segments[1:]
        here = f"{label}.{segment.name}" if label else segment.name
        value = _child(node, segment.name, here, judgement)
        if value is _MISSING:
            return
        if segment.json:
            value = _document(value, here, judgement)
            if value is _MISSING:
                return
        if segment.sub is None:
            yield from finish(value, node, rest, here)
        elif segment.sub == "[]":
            # A list, or one object where a list is expected; read element by element so that
            # one unknown element does not hide the others.
            items = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
            for index in range(len(items)):
                item = _child(items, index, f"{here}[{index}]", judgement)
                if item is not _MISSING:
                    yield from finish(item, items, rest, f"{here}[{index}]")
        elif segment.sub.startswith("["):
            index = int(segment.sub[1:-1])
            item = _child(value, index, f"{here}[{index}]", judgement)
            if item is not _MISSING:
                yield from finish(item, value, rest, f"{here}[{index}]")
        elif isinstance(value, Mapping):
            for key in list(value):
                if segment.sub == "{keys}":
                    yield from finish(key, value, rest, f"{here} key")
                else:
                    item = _child(value, key, f'{here}["{key}"]', judgement)
                    if item is not _MISSING:
                        yield from finish(item, value, rest, f'{here}["{key}"]')

    def finish(value: Any, parent: Any, rest: tuple[Segment, ...], label: str) -> Iterator[Found]:
        if rest:
            yield from walk(value, rest, label)
        else:
            yield Found(label, value, parent)

    yield from walk(root, parse_path(path), "")


# ---------------------------------------------------------------------------------------------
# The catalogue.


@dataclass(frozen=True)
class Target:
    types: tuple[str, ...]
    paths: tuple[str, ...]
    when: Mapping[str, Any] | None


@dataclass(frozen=True)
class Constraint:
    """One documented constraint, with its limits resolved (from botocore where named)."""

    id: str
    check: str
    targets: tuple[Target, ...]
    aws_field: str
    doc: str
    params: Mapping[str, Any]
    inside: Any
    """A value just inside the constraint and one just outside (for the tests; unused at run time)."""
    outside: Any

    def paths_for(self, resource_type: str) -> Iterator[tuple[str, Mapping[str, Any] | None]]:
        for target in self.targets:
            if resource_type in target.types:
                for path in target.paths:
                    yield path, target.when

    @property
    def types(self) -> set[str]:
        return {t for target in self.targets for t in target.types}


@dataclass(frozen=True)
class Autoname:
    property: str
    max_length: int
    prefix_property: str | None


@dataclass(frozen=True)
class Catalogue:
    constraints: tuple[Constraint, ...]
    stack_constraints: tuple[Mapping[str, Any], ...]
    autonames: Mapping[str, Autoname]
    autoname_defaults: Mapping[str, Any]
    unresolved: tuple[tuple[str, str], ...] = ()
    """Entries left out because the installed botocore no longer describes them as the data file
    expects (a renamed shape, reworded documentation): (entry id, why)."""

    @functools.cached_property
    def by_type(self) -> dict[str, list[Constraint]]:
        index: dict[str, list[Constraint]] = {}
        for constraint in self.constraints:
            for resource_type in constraint.types:
                index.setdefault(resource_type, []).append(constraint)
        return index


def _documented_values(shape: Mapping[str, Any], expression: str) -> list[int | str]:
    """Values a shape's documentation lists (logs' Days: "Possible values are: 1, 3, ...")."""
    text = re.sub(r"<[^>]+>", "", shape.get("documentation", ""))
    match = re.search(expression, text)
    if not match:
        raise ValueError(f"botocore documentation no longer matches {expression!r}")
    values = [v for v in re.split(r",\s*(?:(?:and|or)\s+)?|\s+(?:and|or)\s+", match.group(1).strip()) if v]
    return [int(v) if v.isdigit() else v for v in values]


def _documented_range(shape: Mapping[str, Any], expression: str) -> dict[str, float]:
    """The bounds (and step) a shape's documentation states in words, where the model carries no
    min/max (ECS's CanaryConfiguration: "Valid values are multiples of 0.1 from 0.1 to 100.0"):
    the expression's named groups `min`, `max` and optionally `step`."""
    text = re.sub(r"<[^>]+>", "", shape.get("documentation", ""))
    match = re.search(expression, text)
    if not match:
        raise ValueError(f"botocore documentation no longer matches {expression!r}")
    found = {key: float(value) for key, value in match.groupdict().items() if value is not None}
    return {key: int(value) if value.is_integer() and key != "step" else value for key, value in found.items()}


def _resolve(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's parameters, with min/max/pattern/enum read from botocore when it names one."""
    params = {k: v for k, v in entry.items()
              if k not in ("id", "check", "targets", "awsField", "doc", "inside", "outside", "outsideAlsoViolates",
                           "botocore", "providerBehaviour")}
    reference = entry.get("botocore")
    if reference:
        shape = botocore_shape(reference)
        if "documentedValues" in reference:
            params["values"] = _documented_values(shape, reference["documentedValues"])
        if "documentedRange" in reference:
            params.update(_documented_range(shape, reference["documentedRange"]))
        wanted = {"length": ("min", "max"), "range": ("min", "max"), "count": ("min", "max"),
                  "pattern": ("pattern",), "enum": ("enum",), "excludes": ()}[entry["check"]]
        found = {key: shape[key] for key in wanted if key in shape}
        if "enum" in found:
            params["values"] = found.pop("enum")
        if not found and not {"values", "min", "max"} & set(params):
            raise ValueError(f"{entry['id']}: botocore {reference} carries none of {wanted}")
        params.update(found)
    return params


def load_catalogue(path: Path = DATA_FILE) -> Catalogue:
    """The constraints of the data file, with botocore's values read in. An entry botocore no
    longer describes as expected is left out (and said once, as a warning), so a newer botocore
    than the pinned one costs that check, not every rule of every pack that imports these."""
    data = json.loads(path.read_text())
    constraints, unresolved = [], []
    for entry in data["constraints"]:
        try:
            params = _resolve(entry)
        except (KeyError, LookupError, ValueError) as error:
            unresolved.append((entry["id"], f"{type(error).__name__}: {error}"))
            continue
        constraints.append(Constraint(
            id=entry["id"], check=entry["check"],
            targets=tuple(Target(tuple(t["types"]), tuple(t["paths"]), t.get("when")) for t in entry["targets"]),
            aws_field=entry["awsField"], doc=entry["doc"], params=params,
            inside=entry.get("inside"), outside=entry.get("outside")))
    if unresolved:
        warnings.warn(f"aws-api-constraints: {len(unresolved)} check(s) left out, botocore "
                      f"{botocore_version()} does not describe them as expected: "
                      + "; ".join(f"{entry} ({why})" for entry, why in unresolved), stacklevel=2)
    autonames = {t: Autoname(a["property"], a["maxLength"], a.get("prefixProperty"))
                 for t, a in data["autonames"].items()}
    return Catalogue(tuple(constraints), tuple(data["stackConstraints"]), autonames, data["autonameDefaults"],
                     tuple(unresolved))


def botocore_version() -> str:
    import botocore

    return botocore.__version__


CATALOGUE = load_catalogue()


# ---------------------------------------------------------------------------------------------
# Checks: each returns what is wrong with one value (None when AWS accepts it).


def show(value: Any) -> str:
    """A value for a message: numbers as the user wrote them, long strings cut."""
    if isinstance(value, str):
        if len(value) > SHOWN_CHARACTERS:
            return f"'{value[:SHOWN_CHARACTERS - 3]}...' ({len(value)} characters)"
        return f"'{value}'"
    if isinstance(value, (Mapping, list)):
        return "a JSON document" if isinstance(value, Mapping) else f"a list of {len(value)}"
    return shown(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _bounds(params: Mapping[str, Any], config: Config) -> tuple[float | None, float | None]:
    maximum = params.get("max")
    if params.get("maxConfig"):
        maximum = config.get(params["maxConfig"], maximum)
    return params.get("min"), maximum


def _between(minimum: float | None, maximum: float | None, unit: str = "") -> str:
    if minimum is not None and maximum is not None:
        return f"{shown(minimum)}-{shown(maximum)}{unit}"
    return f"at least {shown(minimum)}{unit}" if minimum is not None else f"at most {shown(maximum)}{unit}"


def check_length(value: Any, params: Mapping[str, Any], context: Context) -> str | None:
    text = value if isinstance(value, str) else json.dumps(plain(value))
    size = len(re.sub(r"\s", "", text)) if params.get("ignoreWhitespace") else len(text)
    minimum, maximum = _bounds(params, context.config)
    if (minimum is not None and size < minimum) or (maximum is not None and size > maximum):
        counted = " (white space not counted)" if params.get("ignoreWhitespace") else ""
        what = "" if params.get("ignoreWhitespace") else f" {show(text)}"
        return f"is {size} characters long{counted}{what}; AWS accepts {_between(minimum, maximum)} characters"
    return None


def _single_character_class(pattern: str) -> str | None:
    """`[abc]*` -> `[abc]`, so the offending characters of a charset pattern can be named."""
    match = re.fullmatch(r"\^?\(?(\[(?:\\.|[^\]])*\])[*+]\)?\$?", pattern)
    return match.group(1) if match else None


def check_pattern(value: Any, params: Mapping[str, Any], context: Context) -> str | None:
    text = str(value)
    pattern = params["pattern"]
    if compile_pattern(pattern).fullmatch(text):
        return None
    character = _single_character_class(pattern)
    if character:
        single = compile_pattern(character)
        bad = sorted({c for c in text if not single.fullmatch(c)})
        if bad:
            listed = " ".join(repr(c) for c in bad[:10])
            return f"{show(text)} has characters AWS refuses ({listed}); it accepts {params['allowed']}"
    return f"{show(text)} is not accepted; AWS accepts {params['allowed']}"


def check_not_prefix(value: Any, params: Mapping[str, Any], context: Context) -> str | None:
    text = str(value)
    compared = text.lower() if params.get("ignoreCase") else text
    for prefix in params["prefixes"]:
        if compared.startswith(prefix.lower() if params.get("ignoreCase") else prefix):
            return f"{show(text)} starts with '{prefix}', a prefix AWS reserves"
    return None


_GO_INT = re.compile(r"[+-]?[0-9]+")


def check_range(value: Any, params: Mapping[str, Any], context: Context) -> str | None:
    """A number within min/max; `integer`: whole; `step`: a multiple of it (0.1 for ECS's traffic
    percentages, compared with a tolerance for binary fractions); `parseInt`: a string the provider
    parses with Go's strconv.ParseInt (pulumi-aws's nullable integers, ECS's bake times), which
    takes digits and a sign, nothing else."""
    if params.get("parseInt") and isinstance(value, str) and not _GO_INT.fullmatch(value):
        return (f"is {show(value)}; pulumi-aws reads it as a whole number (Go strconv.ParseInt) and refuses "
                "anything but digits")
    number = _number(value)
    if number is None:
        return f"is {show(value)}, not a number"
    if params.get("integer") and not number.is_integer():
        return f"is {show(value)}; AWS accepts whole numbers only"
    if number in params.get("alsoAllowed", ()):
        return None
    minimum, maximum = _bounds(params, context.config)
    step = params.get("step")
    steps = f" in steps of {shown(step)}" if step else ""
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        also = "".join(f" or {shown(v)}" for v in params.get("alsoAllowed", ()))
        return f"is {shown(number)}; AWS accepts {_between(minimum, maximum)}{steps}{also}"
    if step and abs(number / step - round(number / step)) > 1e-6:
        return f"is {shown(number)}; AWS accepts multiples of {shown(step)} ({_between(minimum, maximum)})"
    return None


def check_enum(value: Any, params: Mapping[str, Any], context: Context) -> str | None:
    """One of `values`; `ignoreCase` where the provider upper-cases the value before sending it,
    `alsoAllowed` for values the provider accepts but never sends (they mean "unset")."""
    values = params["values"]
    candidate = _number(value) if all(isinstance(v, (int, float)) for v in values) else value
    if params.get("ignoreCase") and isinstance(candidate, str):
        candidate, values = candidate.upper(), [str(v).upper() for v in values]
    if candidate in values or candidate in params.get("alsoAllowed", ()):
        return None
    listed = ", ".join(str(v) for v in params["values"])
    also = "".join(f" (or {shown(v)}, which pulumi-aws does not send)" for v in params.get("alsoAllowed", ()))
    case = " in any case" if params.get("ignoreCase") else ""
    return f"is {show(value)}; AWS accepts one of: {listed}{case}{also}"


def check_multiple(value: Any, params: Mapping[str, Any], context: Context) -> str | None:
    number = _number(value)
    if number is not None and (number in params["values"] or (number > 0 and number % params["multipleOf"] == 0)):
        return None
    listed = ", ".join(str(v) for v in params["values"])
    return f"is {show(value)}; AWS accepts {listed} or a multiple of {params['multipleOf']}"


def check_count(value: Any, params: Mapping[str, Any], context: Context) -> str | None:
    keys: list[Any] = list(value) if isinstance(value, Mapping) else list(range(len(as_list(value))))
    if params.get("mergeDefaultTags"):
        keys = list(dict.fromkeys([*context.default_tags, *keys]))
    minimum, maximum = _bounds(params, context.config)
    if (minimum is not None and len(keys) < minimum) or (maximum is not None and len(keys) > maximum):
        with_defaults = " (with the provider's default tags)" if params.get("mergeDefaultTags") and \
            context.default_tags else ""
        return f"has {len(keys)} entries{with_defaults}; AWS accepts {_between(minimum, maximum)}"
    return None


_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b}


def check_compare(value: Any, params: Mapping[str, Any], context: Context) -> str | None:
    """value <operator> the sibling `other`; when `other` is unset, against `otherDefault`, the
    value that then reaches AWS (or the smallest AWS may apply), as `otherDefaultSource` says."""
    other = context.read(context.parent, params["other"])
    defaulted = other is None and "otherDefault" in params
    left, right = _number(value), _number(params["otherDefault"] if defaulted else other)
    if left is None or right is None or _OPERATORS[params["operator"]](left, right):
        return None
    if defaulted:
        return (f"is {shown(left)}; AWS needs it {params['operator']} {params['other']}, which is not set: "
                f"{params['otherDefaultSource']}")
    return f"is {shown(left)}; AWS needs it {params['operator']} {params['other']} ({shown(right)})"


def check_absent(value: Any, params: Mapping[str, Any], context: Context) -> str | None:
    """A setting that must not be there where the target's `when` holds: `reason` says what AWS
    (or the provider) does with it."""
    return f"is set; {params['reason']}" if _is_set(value) else None


def check_excludes(value: Any, params: Mapping[str, Any], context: Context) -> str | None:
    """A list that must not hold any of `values` (from the file, or a botocore documentation)."""
    listed = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
    found = [str(item) for item in listed if item in params["values"]]
    if found:
        return f"includes {', '.join(dict.fromkeys(found))}; {params['reason']}"
    return None


CHECKS: dict[str, Callable[[Any, Mapping[str, Any], Context], str | None]] = {
    "length": check_length, "pattern": check_pattern, "notPrefix": check_not_prefix, "range": check_range,
    "enum": check_enum, "multiple": check_multiple, "count": check_count, "compare": check_compare,
    "absent": check_absent, "excludes": check_excludes,
}


@dataclass
class Context:
    """What a check may need besides the value: the config, the objects around it."""

    config: Config
    root: Any
    parent: Any
    judgement: Judgement
    default_tags: Mapping[str, Any] = field(default_factory=dict)
    """The provider's default tags this resource gets (see `_default_tags`)."""

    def read(self, node: Any, path: str) -> Any:
        """One value at path (from root when it starts with /); None when absent, raises
        UnknownValueError when unknown, so the caller skips the whole constraint."""
        start = self.root if path.startswith("/") else node
        found = Judgement()
        values = [f.value for f in locate(start, path.lstrip("/"), found)]
        if found.unknown:
            raise next(iter(found.unknown.values()))
        return values[0] if values else None


# ---------------------------------------------------------------------------------------------
# Grammars: documents and expressions AWS parses. Each yields (where, what is wrong).

Problems = Iterator[tuple[str, str]]
_IAM_VERSIONS = ("2012-10-17", "2008-10-17")
_IAM_ACTION = re.compile(r"\*|[A-Za-z0-9-]+:[A-Za-z0-9_*?-]+")
_IAM_SID = re.compile(r"[A-Za-z0-9]*")
_IAM_PRINCIPAL_KINDS = ("AWS", "Service", "Federated", "CanonicalUser")
_IAM_STATEMENT_KEYS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                       "NotResource", "Condition")


def _parsed(value: Any) -> tuple[Any, str | None]:
    """A JSON document held in a string, or given as an object; with the parse error if any."""
    if not isinstance(value, str):
        return plain(value), None
    try:
        return json.loads(value), None
    except ValueError as error:
        return None, f"is not valid JSON ({error})"


def _strings(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _iam_policy(value: Any, trust: bool) -> Problems:
    document, error = _parsed(value)
    if error:
        yield "", error
        return
    if not isinstance(document, Mapping):
        yield "", "is not a JSON object"
        return
    for key in document:
        if key not in ("Version", "Id", "Statement"):
            yield f".{key}", "is not a policy element IAM knows (Version, Id, Statement)"
    version = document.get("Version")
    if version is not None and version not in _IAM_VERSIONS:
        yield ".Version", f"is {show(version)}; IAM accepts 2012-10-17 or 2008-10-17"
    statements = document.get("Statement")
    if statements is None:
        yield "", "has no Statement"
        return
    if not isinstance(statements, (Mapping, list)) or statements == []:
        yield ".Statement", "must be one statement object or a non-empty list of them"
        return
    sids: set[str] = set()
    for index, statement in enumerate(statements if isinstance(statements, list) else [statements]):
        where = f".Statement[{index}]" if isinstance(statements, list) else ".Statement"
        if not isinstance(statement, Mapping):
            yield where, "is not an object"
            continue
        yield from _iam_statement(statement, where, trust, sids)


def _iam_statement(statement: Mapping[str, Any], where: str, trust: bool, sids: set[str]) -> Problems:
    for key in statement:
        if key not in _IAM_STATEMENT_KEYS:
            yield f"{where}.{key}", "is not a statement element IAM knows"
    if statement.get("Effect") not in ("Allow", "Deny"):
        yield f"{where}.Effect", f"is {show(statement.get('Effect'))}; IAM accepts Allow or Deny"
    sid = statement.get("Sid")
    if sid is not None:
        if not isinstance(sid, str) or not _IAM_SID.fullmatch(sid):
            yield f"{where}.Sid", f"is {show(sid)}; IAM accepts only letters and digits"
        elif sid in sids and sid:
            yield f"{where}.Sid", f"{show(sid)} is used twice; Sids must be unique in a policy"
        else:
            sids.add(sid)
    actions = [k for k in ("Action", "NotAction") if k in statement]
    if len(actions) != 1:
        yield where, "needs exactly one of Action or NotAction"
    for key in actions:
        for action in _strings(statement[key]):
            if not isinstance(action, str) or not _IAM_ACTION.fullmatch(action):
                yield f"{where}.{key}", f"{show(action)} is not an action ('service:Action', wildcards * ?)"
            elif trust and action != "*" and not action.lower().startswith("sts:"):
                yield f"{where}.{key}", f"{show(action)} is not an STS action; a trust policy allows only sts:*"
    resources = [k for k in ("Resource", "NotResource") if k in statement]
    principals = [k for k in ("Principal", "NotPrincipal") if k in statement]
    if trust:
        for key in resources:
            yield f"{where}.{key}", "is not allowed in a trust policy"
        if len(principals) != 1:
            yield where, "needs exactly one of Principal or NotPrincipal in a trust policy"
        for key in principals:
            yield from _iam_principal(statement[key], f"{where}.{key}")
    else:
        for key in principals:
            yield f"{where}.{key}", "is not allowed in an identity-based policy"
        if len(resources) != 1:
            yield where, "needs exactly one of Resource or NotResource"
        for key in resources:
            for resource in _strings(statement[key]):
                if not isinstance(resource, str) or not (resource == "*" or resource.startswith("arn:")):
                    yield f"{where}.{key}", f"{show(resource)} is neither an ARN nor *"
    condition = statement.get("Condition")
    if condition is not None and not (isinstance(condition, Mapping) and
                                      all(isinstance(v, Mapping) for v in condition.values())):
        yield f"{where}.Condition", "must map condition operators to objects of keys and values"


def _iam_principal(principal: Any, where: str) -> Problems:
    if principal == "*":
        return
    if not isinstance(principal, Mapping) or not principal:
        yield where, "must be * or an object of AWS, Service, Federated or CanonicalUser"
        return
    for kind, values in principal.items():
        if kind not in _IAM_PRINCIPAL_KINDS:
            yield f"{where}.{kind}", "is not a principal type (AWS, Service, Federated, CanonicalUser)"
        elif not all(isinstance(v, str) and v for v in _strings(values)):
            yield f"{where}.{kind}", "must be a string or a list of strings"


def grammar_iam_identity_policy(value: Any, context: Context) -> Problems:
    yield from _iam_policy(value, trust=False)


def grammar_iam_trust_policy(value: Any, context: Context) -> Problems:
    yield from _iam_policy(value, trust=True)


_LIFECYCLE_COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")


def grammar_ecr_lifecycle_policy(value: Any, context: Context) -> Problems:
    document, error = _parsed(value)
    if error:
        yield "", error
        return
    rules = mapping(document).get("rules")
    if not isinstance(rules, list) or not rules:
        yield ".rules", "must be a non-empty list of rules"
        return
    priorities: dict[float, int] = {}
    any_priority: float | None = None
    for index, rule in enumerate(rules):
        where = f".rules[{index}]"
        if not isinstance(rule, Mapping):
            yield where, "is not an object"
            continue
        priority = rule.get("rulePriority")
        number = _number(priority)
        if number is None or not number.is_integer() or number < 1:
            yield f"{where}.rulePriority", f"is {show(priority)}; ECR needs a positive whole number"
        elif number in priorities:
            yield f"{where}.rulePriority", f"{shown(number)} is also rule {priorities[number]}'s; priorities must be unique"
        else:
            priorities[number] = index
        selection = mapping(rule.get("selection"))
        status = selection.get("tagStatus")
        if status not in ("tagged", "untagged", "any"):
            yield f"{where}.selection.tagStatus", f"is {show(status)}; ECR accepts tagged, untagged or any"
        lists = [k for k in ("tagPrefixList", "tagPatternList") if selection.get(k)]
        if status == "tagged" and not lists:
            yield f"{where}.selection", "has tagStatus tagged but neither tagPrefixList nor tagPatternList"
        if status in ("untagged", "any") and lists:
            yield f"{where}.selection", f"has tagStatus {status} with {lists[0]}, which only tagged rules take"
        if status == "any" and number is not None:
            any_priority = number if any_priority is None else max(any_priority, number)
        for pattern in as_list(selection.get("tagPatternList")):
            if str(pattern).count("*") > 4:
                yield f"{where}.selection.tagPatternList", f"{show(pattern)} has more than 4 wildcards"
        count_type = selection.get("countType")
        if count_type not in _LIFECYCLE_COUNT_TYPES:
            yield f"{where}.selection.countType", f"is {show(count_type)}; ECR accepts {', '.join(_LIFECYCLE_COUNT_TYPES)}"
        elif count_type == "imageCountMoreThan" and "countUnit" in selection:
            yield f"{where}.selection.countUnit", "is only for the since* count types"
        elif count_type != "imageCountMoreThan" and selection.get("countUnit") != "days":
            yield f"{where}.selection.countUnit", f"is {show(selection.get('countUnit'))}; ECR needs days"
        count = _number(selection.get("countNumber"))
        if count is None or not count.is_integer() or count < 1:
            yield f"{where}.selection.countNumber", f"is {show(selection.get('countNumber'))}; ECR needs a positive whole number"
        if selection.get("storageClass") not in (None, "standard", "archive"):
            yield f"{where}.selection.storageClass", "must be standard or archive"
        action = mapping(rule.get("action"))
        if action.get("type") not in ("expire", "transition"):
            yield f"{where}.action.type", f"is {show(action.get('type'))}; ECR accepts expire or transition"
        elif action.get("type") == "transition" and action.get("targetStorageClass") != "archive":
            yield f"{where}.action.targetStorageClass", "must be archive for a transition"
    if any_priority is not None and any(p > any_priority for p in priorities):
        yield ".rules", f"has its tagStatus any rule at priority {shown(any_priority)}; that rule must have the highest"


# (name, lowest, highest, characters besides the digits): Scheduler's cron table gives every
# field , - * and / except day-of-week, which takes , - * ? L # and no increments.
_CRON_FIELDS = (
    ("minutes", 0, 59, ",-*/"), ("hours", 0, 23, ",-*/"), ("day-of-month", 1, 31, ",-*/?LW"),
    ("month", 1, 12, ",-*/"), ("day-of-week", 1, 7, ",-*?L#"), ("year", 1970, 2199, ",-*/"))
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_RATE_UNITS = ("minute", "hour", "day")


def _cron_field(text: str, name: str, lowest: int, highest: int, extra: str) -> str | None:
    names = _MONTHS if name == "month" else _DAYS if name == "day-of-week" else ()
    if not text.isascii():
        return f"{name} {text!r} has characters this field does not take"
    # Month and day names in any case (cron follows Quartz, which reads them case-insensitively).
    plain = text.upper()
    for number, word in enumerate(names, start=1):
        plain = plain.replace(word, str(number))
    if "?" in plain and plain != "?":
        return f"{name} {text!r}: ? stands alone"
    if not re.fullmatch(r"[0-9" + re.escape(extra) + "]+", plain):
        return f"{name} {text!r} has characters this field does not take"
    for part in plain.split(","):
        if "#" in part and not re.fullmatch(r"[1-7]#[1-5]", part):
            return f"{name} {text!r}: DAY#N takes a day 1-7 (SUN-SAT) and N from 1 to 5"
        base = part.split("/")[0].split("#")[0]
        for number in re.findall(r"[0-9]+", base):
            if not lowest <= int(number) <= highest:
                return f"{name} {text!r}: {number} is outside {lowest}-{highest}"
    return None


def grammar_schedule_expression(value: Any, context: Context) -> Problems:
    text = str(value)
    match = re.fullmatch(r"(at|rate|cron)\((.*)\)", text)
    if not match:
        yield "", f"{show(text)} is not at(...), rate(...) or cron(...)"
        return
    kind, body = match.groups()
    if kind == "at":
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}", body):
                raise ValueError(body)
            datetime.strptime(body, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            yield "", f"{show(text)}: at() takes a real date and time as yyyy-mm-ddThh:mm:ss"
    elif kind == "rate":
        rate = re.fullmatch(r"([0-9]+) ([a-z]+)", body)
        unit = rate.group(2) if rate else ""
        # Scheduler's API reference lists minute | minutes | hour | hours | day | days with no
        # agreement between value and unit (its user guide writes rate(1 hours)); the singular
        # for 1 rule is EventBridge *rules'* (PutRule), not Scheduler's.
        if not rate or int(rate.group(1)) < 1 or unit.removesuffix("s") not in _RATE_UNITS:
            yield "", f"{show(text)}: rate() takes a positive whole number and minute(s), hour(s) or day(s)"
    else:
        fields = body.split()
        if len(fields) != 6:
            yield "", f"{show(text)} has {len(fields)} fields; cron() takes 6 (minutes hours day-of-month month day-of-week year)"
            return
        for text_field, spec in zip(fields, _CRON_FIELDS, strict=True):
            problem = _cron_field(text_field, *spec)
            if problem:
                yield "", f"{show(text)}: {problem}"
        if (fields[2] == "?") == (fields[4] == "?"):
            yield "", f"{show(text)}: exactly one of day-of-month and day-of-week must be ?"


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def grammar_timezone(value: Any, context: Context) -> Problems:
    zones = _time_zones()
    if zones and str(value) not in zones:  # no time-zone database here: nothing to compare with
        yield "", f"{show(value)} is not an IANA time zone name (like UTC or Europe/Paris)"


def grammar_http_matcher(value: Any, context: Context) -> Problems:
    # pulumi-aws sends no Matcher when it is "" or the health check is TCP (elbv2/target_group.go;
    # it refuses a non-empty matcher with a TCP health check itself).
    if value == "" or str(context.read(context.parent, "protocol") or "").upper() == "TCP":
        return
    try:
        protocol = str(context.read(context.root, "protocol") or "HTTP").upper()
        version = str(context.read(context.root, "protocolVersion") or "").upper()
    except UnknownValueError as error:
        context.judgement.skip("protocol", error)
        return
    if version == "GRPC":
        lowest, highest, kind = 0, 99, "gRPC codes"
    elif protocol in ("HTTP", "HTTPS"):
        lowest, highest, kind = 200, 499, "HTTP codes of an Application Load Balancer"
    elif protocol in ("TCP", "TLS", "UDP", "TCP_UDP", "QUIC", "TCP_QUIC"):
        lowest, highest, kind = 200, 599, "HTTP codes of a Network Load Balancer"
    else:
        return
    for part in str(value).split(","):
        codes = re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip())
        if not codes:
            yield "", f"{show(value)}: {part!r} is not a code or a range of codes (200,202 or 200-299)"
        elif not all(lowest <= int(c) <= highest for c in codes.groups() if c):
            yield "", f"{show(value)}: {part} is outside {lowest}-{highest}, the {kind}"


_SINGLE_CONDITIONS = ("hostHeader", "httpRequestMethod", "pathPattern", "sourceIp")


def _condition_values(condition: Mapping[str, Any]) -> int:
    count = len(as_list(condition.get("queryStrings")))
    for kind in (*_SINGLE_CONDITIONS, "httpHeader"):
        config = mapping(condition.get(kind))
        count += len(as_list(config.get("values"))) + len(as_list(config.get("regexValues")))
    return count


def grammar_listener_rule_conditions(value: Any, context: Context) -> Problems:
    conditions = [c for c in as_list(plain(value)) if isinstance(c, Mapping)]
    total = 0
    seen: dict[str, int] = {}
    for index, condition in enumerate(conditions):
        count = _condition_values(condition)
        total += count
        if count > 3:
            yield f"[{index}]", f"has {count} values; a condition takes at most 3"
        for kind in _SINGLE_CONDITIONS:
            if condition.get(kind) is not None:
                if kind in seen:
                    yield f"[{index}].{kind}", f"repeats condition [{seen[kind]}]; a rule takes one {kind}"
                seen.setdefault(kind, index)
    if total > 5:
        yield "", f"have {total} values in all; a rule takes at most 5"


def grammar_host_header(value: Any, context: Context) -> Problems:
    text = str(value)
    if not re.fullmatch(r"[A-Za-z0-9.*?-]+", text):
        yield "", f"{show(text)}: a host name takes A-Z, a-z, 0-9, - . and the wildcards * ?"
    elif "." not in text or not re.fullmatch(r"[A-Za-z]+", text.rsplit(".", 1)[1]):
        yield "", f"{show(text)} needs a '.' followed only by letters (a top-level domain)"


def grammar_alarm_evaluation_window(value: Any, context: Context) -> Problems:
    periods, period = _number(value), _number(context.read(context.parent, "period"))
    if periods is None or period is None:
        return
    limit = 86400 if period < 3600 else 604800
    if periods * period > limit:
        yield "", (f"times period {shown(period)} is {shown(periods * period)} seconds; CloudWatch evaluates "
                   f"at most {limit} ({'one day below hourly periods' if limit == 86400 else 'seven days'})")


def grammar_alarm_one_statistic(value: Any, context: Context) -> Problems:
    if value is not None and context.read(context.parent, "statistic") is not None:
        yield "", "is set together with statistic; CloudWatch takes one of them"


GRAMMARS: dict[str, Callable[[Any, Context], Problems]] = {
    "iam-identity-policy": grammar_iam_identity_policy,
    "iam-trust-policy": grammar_iam_trust_policy,
    "ecr-lifecycle-policy": grammar_ecr_lifecycle_policy,
    "schedule-expression": grammar_schedule_expression,
    "timezone": grammar_timezone,
    "http-matcher": grammar_http_matcher,
    "listener-rule-conditions": grammar_listener_rule_conditions,
    "host-header": grammar_host_header,
    "alarm-evaluation-window": grammar_alarm_evaluation_window,
    "alarm-one-statistic": grammar_alarm_one_statistic,
}


# ---------------------------------------------------------------------------------------------
# Judging one resource.


def _is_set(value: Any) -> bool:
    """Whether a value is there: not None, False, "" or empty; a number is, 0 included (a bake time
    of 0 minutes is sent as 0, where `0 in (False, ...)` would have called it unset)."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, (int, float)):
        return True
    return not (isinstance(value, (Mapping, Sequence)) and not isinstance(value, str) and len(value) == 0)


def _holds(when: Mapping[str, Any] | None, context: Context) -> bool:
    """Whether a target's condition holds; UnknownValueError propagates (the entry is skipped)."""
    if not when:
        return True
    for kind, operand in when.items():
        if kind == "anySet" and not any(_is_set(context.read(context.parent, p)) for p in operand):
            return False
        if kind == "allSet" and not all(_is_set(context.read(context.parent, p)) for p in operand):
            return False
        if kind == "noneSet" and any(_is_set(context.read(context.parent, p)) for p in operand):
            return False
        if kind == "equals" and any(context.read(context.parent, p) != v for p, v in operand.items()):
            return False
        if kind == "notEquals" and any(context.read(context.parent, p) == v for p, v in operand.items()):
            return False
        if kind == "in" and any(context.read(context.parent, p) not in v for p, v in operand.items()):
            return False
        if kind == "contains" and any(v not in as_list(context.read(context.parent, p)) for p, v in operand.items()):
            return False
    return True


def _kind(resource_type: str) -> str:
    """`aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule` -> `aws.vpc.SecurityGroupEgressRule`."""
    package, module, name = resource_type.split(":")
    return f"{package}.{module.split('/')[0]}.{name}"


def _message(resource: str, label: str, problem: str, constraint: Constraint) -> str:
    return f"{resource}: {label} {problem} ({constraint.aws_field}; {constraint.doc})."


def _autoname(resource_type: str, props: Props, name: str | None, judgement: Judgement
              ) -> tuple[dict[str, Any], str | None, str | None]:
    """Props with the name pulumi-aws would generate filled in, how it was generated (for the
    label), and a message when the provider could not generate one at all."""
    autoname = CATALOGUE.autonames.get(resource_type)
    if autoname is None or name is None:
        return {}, None, None
    current = _child(props, autoname.property, autoname.property, judgement)
    if current is not _MISSING or autoname.property in judgement.unknown:
        return {}, None, None
    defaults = CATALOGUE.autoname_defaults
    prefix = None
    if autoname.prefix_property:
        prefix = _child(props, autoname.prefix_property, autoname.prefix_property, judgement)
        if prefix is _MISSING and autoname.prefix_property in judgement.unknown:
            return {}, None, None
    if prefix not in (None, _MISSING):
        generated = f"{prefix}{'0' * defaults['prefixRandomLength']}"
        how = (f"{autoname.property} (not set; pulumi-aws generates {autoname.prefix_property} "
               f"{show(prefix)} + {defaults['prefixRandomLength']} characters)")
        return {autoname.property: generated}, how, None
    stem = f"{name}{defaults['separator']}"
    example = stem + "1a2b3c4"[:defaults["randomLength"]]
    if len(example) > autoname.max_length:
        return {}, None, (
            f"{autoname.property} is not set and pulumi-aws cannot generate one: {show(stem)} plus "
            f"{defaults['randomLength']} random characters is {len(example)} characters, over the "
            f"{autoname.max_length} it allows for this type; set {autoname.property} explicitly "
            f"(pulumi-aws AutoName; {defaults['source']}).")
    how = (f"{autoname.property} (not set; pulumi-aws generates {show(stem)} + {defaults['randomLength']} "
           f"random hex characters)")
    return {autoname.property: example}, how, None


def _default_tags(provider: Props | None) -> dict[str, Any]:
    """The provider's default tags as pulumi-aws merges them into each resource's tags, less the
    keys its ignoreTags names (keys, keyPrefixes), which it sends nowhere.

    The engine hands a resource rule its provider's inputs (`args.provider.props`, the default
    tags as a JSON string). pulumi-aws's Check also puts the merge into the resource's `tagsAll`,
    but makes it unknown as soon as any provider input is; the provider's own inputs stay known.
    An unknown or unreadable default tag or ignoreTags counts as no default tags: a value the
    rule cannot see is never held against a resource.
    """
    if provider is None:
        return {}
    judgement = Judgement()
    try:
        tags = {key: plain(value) for found in locate(provider, "defaultTags@json.tags", judgement)
                for key, value in mapping(found.value).items()}
        ignored = [plain(found.value) for found in locate(provider, "ignoreTags@json", judgement)]
    except UnknownValueError:
        return {}
    if judgement.unknown or judgement.malformed:
        return {}
    keys = [str(k) for config in ignored for k in as_list(mapping(config).get("keys"))]
    prefixes = [str(p) for config in ignored for p in as_list(mapping(config).get("keyPrefixes"))]
    return {key: value for key, value in tags.items()
            if key not in keys and not any(str(key).startswith(prefix) for prefix in prefixes)}


def _inherited_tags(constraint: Constraint, root: Any, path: str, default_tags: Mapping[str, Any],
                    judgement: Judgement) -> Iterator[Found]:
    """The default tags a resource inherits (those its own tags do not override), for entries
    that judge them per resource (`mergeDefaultTags`): the charsets ELB, IAM, Logs and ECS
    enforce, EC2's shorter keys. What every service enforces is judged on the provider itself."""
    if not default_tags or not constraint.params.get("mergeDefaultTags") or path not in ("tags{}", "tags{keys}"):
        return
    own = _child(root, "tags", "tags", judgement)
    if own is _MISSING and "tags" in judgement.unknown:
        return  # which defaults the resource overrides cannot be known
    overridden = set(own) if isinstance(own, Mapping) else set()
    for key, value in default_tags.items():
        if key not in overridden:
            if path == "tags{keys}":
                yield Found("tags key (a default tag of the provider)", key, default_tags)
            else:
                yield Found(f'tags["{key}"] (a default tag of the provider)', value, default_tags)


def judge(resource_type: str, props: Props, config: Config, *, name: str | None = None,
          provider: Props | None = None) -> Iterator[str]:
    """One message per constraint this resource's inputs violate.

    `name` is the logical name (for autonames and messages), `provider` the props of the
    resource's provider (its default tags count against each resource's tag limit and meet the
    charset of the resource's service).
    """
    resource = f"{_kind(resource_type)} '{name}'" if name else _kind(resource_type)
    judgement = Judgement(resource)
    filled, autonamed, refused = _autoname(resource_type, props, name, judgement)
    if refused:
        judgement.messages.append(f"{resource}: {refused}")
    root: Any = _Overlay(props, filled) if filled else props
    default_tags = _default_tags(provider)
    for constraint in CATALOGUE.by_type.get(resource_type, ()):
        if refused and any(path == CATALOGUE.autonames[resource_type].property
                           for path, _ in constraint.paths_for(resource_type)):
            continue
        for path, when in constraint.paths_for(resource_type):
            _judge_path(constraint, resource, root, path, when, config, judgement, default_tags,
                        autonamed if path in filled else None)
    yield from judgement.messages
    judgement.finish()


def _judge_path(constraint: Constraint, resource: str, root: Any, path: str, when: Mapping[str, Any] | None,
                config: Config, judgement: Judgement, default_tags: Mapping[str, Any],
                autonamed: str | None) -> None:
    if constraint.check == "required":
        _judge_required(constraint, resource, root, path, when, config, judgement)
        return
    for found in [*locate(root, path, judgement), *_inherited_tags(constraint, root, path, default_tags, judgement)]:
        context = Context(config, root, found.parent, judgement, default_tags)
        label = autonamed or found.label
        try:
            if constraint.check == "grammar":
                problems = [(label + where, problem) for where, problem
                            in GRAMMARS[constraint.params["grammar"]](found.value, context)]
            else:
                problem = CHECKS[constraint.check](found.value, constraint.params, context)
                problems = [(label, problem)] if problem else []
            # A value that passes needs no condition; one that fails is reported only where the
            # constraint applies (an unknown condition skips it: AWS may or may not refuse it).
            if problems and _holds(when, context):
                judgement.messages.extend(_message(resource, where, problem, constraint)
                                          for where, problem in problems)
        except UnknownValueError as error:
            judgement.skip(f"{found.label} ({constraint.id})", error)


def _judge_required(constraint: Constraint, resource: str, root: Any, path: str,
                    when: Mapping[str, Any] | None, config: Config, judgement: Judgement) -> None:
    holder, _, key = path.rpartition(".")
    parents = [f for f in locate(root, holder, judgement)] if holder else [Found("", root, None)]
    for found in parents:
        context = Context(config, root, found.value, judgement)
        try:
            if _holds(when, context) and not _is_set(context.read(found.value, key)):
                label = f"{found.label}.{key}" if found.label else key
                reason = constraint.params.get("reason", "AWS requires it here")
                judgement.messages.append(_message(resource, label, f"is not set; {reason}", constraint))
        except UnknownValueError as error:
            judgement.skip(f"{path} ({constraint.id})", error)


class _Overlay(Mapping):
    """Props with generated values on top, read through the same unknown-checking interface."""

    def __init__(self, props: Props, values: Mapping[str, Any]):
        self._props, self._values = props, values

    def __getitem__(self, key: str) -> Any:
        return self._values[key] if key in self._values else self._props[key]

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self._props), **dict.fromkeys(self._values)})

    def __len__(self) -> int:
        return len(set(self._props) | set(self._values))


def judge_provider(props: Props, config: Config, *, name: str | None = None, provider: Props | None = None
                   ) -> Iterator[str]:
    """The aws provider's own inputs: its default tags go onto every taggable resource."""
    yield from judge(PROVIDER_TYPE, props, config, name=name)


# ---------------------------------------------------------------------------------------------
# Judging the stack.


def _resource_label(resource: PolicyResource) -> str:
    return f"{_kind(resource.resource_type)} '{resource.name}'"


_SCOPE_WORDS = {"@account": "account", "@region": "region"}
"""How a scope reads in a message (others read as their property name; @type not at all)."""


# Provider inputs that choose the credentials, hence the account, when no role or account says.
_CREDENTIAL_INPUTS = ("profile", "accessKey", "sharedCredentialsFiles", "sharedConfigFiles")


def _account(provider: PolicyProviderResource | None) -> tuple[Any, ...]:
    """Which AWS account a provider works in, as far as its inputs tell, for names that are
    unique per account across regions (IAM's): the account of the last role it assumes, else its
    one allowed account, else its credential settings (providers that set the same ones, or none,
    use the same credentials of the process, so one account). A provider whose inputs are unknown
    in preview is an account of its own: two names are never said to clash on a guess."""
    if provider is None:
        return ("credentials", ())
    judgement = Judgement()
    try:
        roles = [plain(found.value) for path in ("assumeRoles@json[].roleArn", "assumeRoleWithWebIdentity@json.roleArn")
                 for found in locate(provider.props, path, judgement)]
        allowed = {plain(found.value) for found in locate(provider.props, "allowedAccountIds@json[]", judgement)}
        credentials = tuple((key, json.dumps(plain(found.value))) for key in _CREDENTIAL_INPUTS
                            for found in locate(provider.props, key, judgement))
    except UnknownValueError:
        return ("provider", provider.urn)
    if judgement.unknown:
        return ("provider", provider.urn)
    arn = str(roles[-1]).split(":") if roles else []
    if len(arn) > 4 and arn[4]:
        return ("account", arn[4])
    if len(allowed) == 1:
        return ("account", str(next(iter(allowed))))
    return ("credentials", credentials)


def _scope_key(resource: PolicyResource, spec: Mapping[str, Any], judgement: Judgement) -> tuple[Any, ...] | None:
    """What makes two names collide: the scope properties' values (an unset one as AWS's
    `scopeDefaults` has it; when a value is unknown in preview, the resources it comes from) and
    the provider (another region or account), or for `@account` (IAM) the account the provider
    works in, whatever its region."""
    scope = spec["scope"]
    if "@account" in scope:
        key: list[Any] = [_account(resource.provider)]
    else:
        key = [resource.provider.urn if resource.provider else None]
    for prop in scope:
        if prop == "@account":
            continue
        if prop == "@type":  # aws:lb and aws:alb target groups share one namespace
            key.append(resource.resource_type.rsplit(":", 1)[1])
            continue
        if prop == "@region":  # pulumi-aws 7 resources may name a region other than their provider's
            try:
                region = resource.props.get("region") or (resource.provider.props.get("region")
                                                           if resource.provider else None)
            except UnknownValueError as error:
                judgement.skip(f"{resource.name}.region", error)
                return None
            key.append(("region", region))
            continue
        try:
            value = resource.props.get(prop)
            key.append(("value", spec.get("scopeDefaults", {}).get(prop) if value is None else value))
        except UnknownValueError as error:
            sources = [r.urn for r in resource.property_dependencies.get(prop, [])]
            if not sources:
                judgement.skip(f"{resource.name}.{prop}", error)
                return None
            key.append(("from", tuple(sorted(sources))))
    return tuple(key)


def _unique(spec: Mapping[str, Any], resources: Sequence[PolicyResource], judgement: Judgement
            ) -> Iterator[tuple[str, str]]:
    groups: dict[tuple[Any, ...], list[tuple[PolicyResource, Any]]] = {}
    for resource in resources:
        if resource.resource_type not in spec["types"]:
            continue
        try:
            value = resource.props.get(spec["property"])
        except UnknownValueError:
            # Unknown in preview: generated (pulumi-aws autonames are unique) or computed from
            # another output; a name taken twice by the program itself is known.
            continue
        if value is None:
            continue
        key = _scope_key(resource, spec, judgement)
        if key is None:
            continue
        compared = str(value).lower() if spec.get("ignoreCase") else value
        groups.setdefault((*key, compared), []).append((resource, value))
    scope = [_SCOPE_WORDS.get(prop, prop) for prop in spec["scope"] if prop != "@type"]
    where = f" in the same {'/'.join(scope)}" if scope else ""
    # Most APIs refuse a taken name; some quietly share one resource between the two (`outcome`).
    outcome = spec.get("outcome", "AWS refuses the second one")
    for clashing in groups.values():
        if len(clashing) < 2:
            continue
        for resource, value in clashing:
            others = ", ".join(_resource_label(r) for r, _ in clashing if r is not resource)
            yield (f"{_resource_label(resource)}: {spec['property']} {show(value)} is also {others}'s{where}; "
                   f"{outcome} ({spec['awsField']}; {spec['doc']}).", resource.urn)


def _policy_size(document: Any) -> int:
    text = document if isinstance(document, str) else json.dumps(document)
    return len(re.sub(r"\s", "", text))


def _role_inline_policy_size(spec: Mapping[str, Any], resources: Sequence[PolicyResource],
                             judgement: Judgement) -> Iterator[tuple[str, str]]:
    """All inline policies of a role add up against one quota: the role's own inlinePolicies
    and every RolePolicy naming it (by its name, or during preview by depending on the role)."""
    roles = [r for r in resources if r.resource_type == spec["types"][0]]
    role_by_name: dict[str, PolicyResource] = {}
    totals: dict[str, int] = {}
    for role in roles:
        totals[role.urn] = 0
        try:
            role_name = role.props.get("name")
            if role_name:
                role_by_name[role_name] = role
        except UnknownValueError:
            pass  # RolePolicy resources then find the role through their dependency on it
        try:
            inline = role.props.get("inlinePolicies")
        except UnknownValueError:
            # Unknown in a first preview when the program sets none (the provider reads them
            # back); policies the program sets are known, as its inputs.
            inline = None
        for index, policy in enumerate(as_list(inline)):
            try:
                document = mapping(policy).get("policy")
                totals[role.urn] += _policy_size(plain(document)) if document else 0
            except UnknownValueError as error:
                judgement.skip(f"{role.name}.inlinePolicies[{index}].policy", error)
    for policy in resources:
        if policy.resource_type != spec["types"][1]:
            continue
        try:
            role_name = policy.props.get("role")
            owner = role_by_name.get(role_name) if role_name else None
        except UnknownValueError:
            sources = [r for r in policy.property_dependencies.get("role", []) if r.urn in totals]
            owner = sources[0] if sources else None
        if owner is None or owner.urn not in totals:
            continue
        try:
            totals[owner.urn] += _policy_size(plain(policy.props.get("policy") or ""))
        except UnknownValueError as error:
            judgement.skip(f"{policy.name}.policy", error)
    for role in roles:
        if totals.get(role.urn, 0) > spec["max"]:
            yield (f"{_resource_label(role)}: its inline policies add up to {totals[role.urn]} characters "
                   f"(white space not counted); IAM accepts at most {spec['max']} per role "
                   f"({spec['awsField']}; {spec['doc']}).", role.urn)


STACK_CHECKS: dict[str, Callable[[Mapping[str, Any], Sequence[PolicyResource], Judgement],
                                 Iterable[tuple[str, str]]]] = {
    "unique": _unique, "roleInlinePolicySize": _role_inline_policy_size}


def check_stack(resources: Sequence[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    judgement = Judgement()
    found: list[tuple[str, str]] = []
    for spec in CATALOGUE.stack_constraints:
        found.extend(STACK_CHECKS[spec["check"]](spec, resources, judgement))
    yield from found
    judgement.finish()


# ---------------------------------------------------------------------------------------------
# The policies.


class ApiConstraintsRule(ResourceRule):
    """The resource rule: every constraint of the resource's type, plus the provider's inputs.

    Unlike the pack's other rules it needs the logical name (autonames) and the provider (its
    default tags go onto each resource, against its service's limits), so it hands them to its
    check.
    """

    def __init__(self, **rule) -> None:
        super().__init__(context=("name", "provider"), **rule)

    def check_for(self, resource_type: str):
        return judge_provider if resource_type == PROVIDER_TYPE else super().check_for(resource_type)


CHECKED_TYPES = sorted(t for t in CATALOGUE.by_type if t != PROVIDER_TYPE)

POLICIES = [
    ApiConstraintsRule(
        name="aws-api-constraints",
        description=("Inputs must be values AWS's APIs accept: names, descriptions, tags, ranges, enums and "
                     "document grammars, including the names pulumi-aws generates and the provider's default tags."),
        checks={resource_type: functools.partial(judge, resource_type) for resource_type in CHECKED_TYPES},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=PolicyConfigSchema(properties={
            "roleTrustPolicyLength": {
                "type": "integer",
                "minimum": 2048,
                "maximum": 4096,
                # IAM's default quota; an account can have it raised up to 4096 characters.
                "default": 2048,
                "description": "The role trust policy length quota of the account (characters).",
            },
        }),
        rationale=("botocore's shape checks and pulumi-aws pass values that EC2, IAM, ELB, ECR, ECS, CloudWatch "
                   "and Scheduler then refuse halfway through `pulumi up` (an apostrophe in a security group "
                   "rule description, a cron expression without ?), leaving a partial update; judged in preview, "
                   "nothing is created."),
        remediation_steps=("Change the value to what the message says AWS accepts; each message names the "
                           "property, the AWS API field and the documentation page."),
    ),
    StackRule(
        name="aws-api-constraints-stack",
        description=("Values AWS refuses across resources must not occur: duplicate listener rule priorities, "
                     "names taken twice in their scope and roles whose inline policies exceed IAM's quota."),
        check=check_stack,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        rationale=("A listener refuses a second rule with the same priority and AWS a second resource with a "
                   "taken name, but only when the second one is created, halfway through an update; an alarm or "
                   "cluster name taken twice is not refused but silently shared, one resource overwriting the other."),
        remediation_steps=("Give each listener rule its own priority, each resource a name unique in its "
                           "scope, and split large inline policies into managed policies."),
    ),
]
