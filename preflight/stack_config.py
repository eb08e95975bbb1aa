"""A stack's config as `pulumi up` would hand it to the program: project defaults + stack file.

The files are read as the CLI reads them (sdk/go/common/encoding and workspace in
pulumi/pulumi): gopkg.in/yaml.v3 decoding into Go's `any`, so `yes`, `on` and `1:30` stay
strings, `0777` is octal and `1_000` a number; duplicate keys and non-string keys are errors;
a date becomes the text Go's time.String gives; a whole number written as a float (`2.0`)
reaches the program as the JSON integer Go marshals it to; a top-level key without a value is "".

`secure:` values are encrypted with the stack's secrets provider, which is not available
offline; they are passed as a visible placeholder and marked secret, so a program that only
forwards them still renders, and one that parses them fails loudly.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SECRET_PLACEHOLDER = "[secret]"


class StackConfigError(Exception):
    """A project or stack file that cannot be read."""


@dataclass
class StackConfig:
    project: str
    stack: str
    config: dict[str, Any]
    secret_keys: tuple[str, ...]


def _full_key(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


# -- gopkg.in/yaml.v3's scalar resolution (resolve.go), for plain scalars ----------------------

_STR, _NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP, _MERGE = (
    f"tag:yaml.org,2002:{name}" for name in ("str", "null", "bool", "int", "float", "timestamp", "merge"))
_SPECIAL = {
    **dict.fromkeys(("true", "True", "TRUE"), (_BOOL, True)),
    **dict.fromkeys(("false", "False", "FALSE"), (_BOOL, False)),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), (_NULL, None)),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), (_FLOAT, math.nan)),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), (_FLOAT, math.inf)),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), (_FLOAT, -math.inf)),
    "<<": (_MERGE, "<<"),
}
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_DATE = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_TIME = r"(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?"
# The layouts yaml.v3 tries (allowedTimestampFormats), as time.Parse reads them.
_TIMESTAMPS = (re.compile(f"{_DATE}[Tt]{_TIME}(Z|[+-]\\d{{2}}:\\d{{2}})"), re.compile(f"{_DATE} {_TIME}()"),
               re.compile(f"{_DATE}()()()()()"))


def _go_parse_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), then ParseUint: sign, 0b/0o/0x prefixes, a leading 0 is octal."""
    signed = text[:1] in ("+", "-")
    sign, digits = (-1 if text[:1] == "-" else 1), text[1:] if signed else text
    if not digits:
        return None
    base = 10
    if digits[0] == "0":
        prefix = digits[1:2].lower()
        base, digits = ({"b": 2, "o": 8, "x": 16}[prefix], digits[2:]) if len(digits) >= 3 and prefix in "box" \
            else (8, digits[1:])
    if not all(ch in "0123456789abcdef"[:base] for ch in digits.lower()):
        return None
    value = sign * int(digits or "0", base)
    if -2**63 <= value < 2**63 or (not signed and value < 2**64):
        return value
    return None


def _go_timestamp(text: str) -> str | None:
    """A time.Time from one of yaml.v3's layouts, as Go's time.String prints it (the CLI keeps a
    config date as that text). A +hh:mm other than zero is printed as Go does for a zone that
    is not the machine's own, which assumes the CLI runs in UTC, as CI does."""
    if not re.match(r"\d{4}-", text):
        return None
    for layout in _TIMESTAMPS:
        match = layout.fullmatch(text)
        if not match:
            continue
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        try:
            moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                       int(second or 0))
        except ValueError:
            return None
        offset = 0 if zone in (None, "", "Z") else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[4:6]))
        fraction = (fraction or "").rstrip("0")
        numeric = f"{'+' if offset >= 0 else '-'}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
        return (moment.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "")
                + f" {numeric} " + ("UTC" if offset == 0 else numeric))
    return None


def _go_resolve(text: str) -> tuple[str, Any]:
    """The tag and value yaml.v3 gives a plain scalar (resolve.go's `resolve`)."""
    hint = text[:1]
    if text in _SPECIAL:
        return _SPECIAL[text]
    if hint == "." and re.fullmatch(r"\.[0-9]+([eE][-+]?[0-9]+)?", text):
        return _FLOAT, float(text)
    if hint and (hint.isdigit() or hint in "+-"):
        if (timestamp := _go_timestamp(text)) is not None:
            return _TIMESTAMP, timestamp
        plain = text.replace("_", "")
        if (number := _go_parse_int(plain)) is not None:
            return _INT, number
        if _YAML_STYLE_FLOAT.match(plain) and math.isfinite(value := float(plain)):
            return _FLOAT, value
    return _STR, text


def _json_number(value: float) -> int | float:
    """What the program gets for a float: Go's JSON encoding writes 2.0 as 2."""
    return int(value) if math.isfinite(value) and value.is_integer() and abs(value) < 1e21 else value


class _CliLoader(yaml.SafeLoader):
    """YAML as the Pulumi CLI reads it (gopkg.in/yaml.v3): the core schema's scalars, no YAML 1.1
    booleans, octals or sexagesimals."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            return _go_resolve(value)[0]
        return super().resolve(kind, value, implicit)

    def _go_scalar(self, node: yaml.ScalarNode) -> Any:
        tag, value = _go_resolve(node.value)
        if tag != node.tag and not (node.tag == _FLOAT and tag == _INT):
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot decode {tag.rsplit(':', 1)[-1]} `{node.value}` as a "
                            f"{node.tag.rsplit(':', 1)[-1]}", node.start_mark)
        return _json_number(float(value)) if node.tag == _FLOAT else value


for _tag in (_NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP):
    _CliLoader.add_constructor(_tag, _CliLoader._go_scalar)


def _node_problems(node: yaml.Node, path: str) -> list[str]:
    """What the CLI refuses before it reads a value: a mapping key twice (yaml.v3's
    uniqueKeys), a key that is not a string (SimplifyMarshalledValue)."""
    problems = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[tuple, yaml.Node] = {}
        for key, value in node.value:
            identity = (type(key), key.value if isinstance(key, yaml.ScalarNode) else "")
            if identity in seen:
                problems.append(f"line {key.start_mark.line + 1}: mapping key {json.dumps(identity[1])} already "
                                f"defined at line {seen[identity].start_mark.line + 1} (the Pulumi CLI refuses "
                                "duplicate keys)")
            seen.setdefault(identity, key)
            if key.tag == _MERGE:
                continue
            shown = key.value if isinstance(key, yaml.ScalarNode) else "?"
            where = f"{path}.{shown}" if path else shown
            if key.tag != _STR:
                problems.append(f"{where}: the key {shown} is not a string (YAML reads it as "
                                f"{key.tag.rsplit(':', 1)[-1]}) and the Pulumi CLI refuses non-string keys; "
                                f"quote it: '{shown}'")
            problems += _node_problems(value, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _node_problems(item, f"{path}[{index}]")
    return problems


def _read_yaml(path: Path) -> dict:
    try:
        loader = _CliLoader(path.read_text())
        try:
            node = loader.get_single_node()
            problems = _node_problems(node, "") if node is not None else []
            if problems:
                raise StackConfigError("\n".join(f"{path}: {problem}" for problem in problems))
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except FileNotFoundError:
        raise StackConfigError(f"{path}: not found") from None
    except yaml.YAMLError as error:
        raise StackConfigError(f"{path}: not valid YAML: {error}") from None
    data = data or {}
    if not isinstance(data, dict):
        raise StackConfigError(f"{path}: expected a mapping at the top level")
    return data


def _without_secure(value: Any) -> tuple[Any, bool]:
    """Replace `{secure: ...}` anywhere in a value by the placeholder; True if there was one.

    The engine marks a whole key secret when any part of its value is (`--path --secret`).
    """
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        pairs = {k: _without_secure(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_without_secure(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def load_stack_config(program_dir: str | Path, stack: str) -> StackConfig:
    program_dir = Path(program_dir)
    project_file = _read_yaml(program_dir / "Pulumi.yaml")
    project = project_file.get("name")
    if not isinstance(project, str) or not project:
        raise StackConfigError(f"{program_dir / 'Pulumi.yaml'}: no project name")

    config: dict[str, Any] = {}
    for key, declaration in (project_file.get("config") or {}).items():
        if isinstance(declaration, dict):
            if "default" in declaration:
                config[_full_key(key, project)] = declaration["default"]
        else:
            config[_full_key(key, project)] = declaration

    stack_path = program_dir / f"Pulumi.{stack}.yaml"
    secret_keys = []
    for key, value in (_read_yaml(stack_path).get("config") or {}).items():
        full = _full_key(key, project)
        # The CLI passes a key without a value as "" (and warns that this will become null).
        value, secret = _without_secure("" if value is None else value)
        if secret:
            secret_keys.append(full)
        config[full] = value
    return StackConfig(project=project, stack=stack, config=config, secret_keys=tuple(secret_keys))
