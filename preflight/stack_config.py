"""A stack's config as `pulumi up` would hand it to the program: project defaults + stack file.

The files are read as the CLI reads them (sdk/go/common/encoding and workspace in
pulumi/pulumi): gopkg.in/yaml.v3 decoding into Go's `any`, so `yes`, `on` and `1:30` stay
strings, `0777` is octal and `1_000` a number; tabs separate tokens where yaml.v3's scanner
allows them; only a file's first YAML document counts; duplicate keys and non-string keys are
errors; a date becomes the text Go's time.String gives; `!!binary` the decoded text, a tag
yaml.v3 does not know the plain value; a whole number written as a float (`2.0`) reaches the
program as the JSON integer Go marshals it to, a top-level float as Go's JSON text (`0.00001`),
and `.inf` or `.nan` fails as the CLI fails (config values travel as JSON); a top-level key
without a value is "". Keys are parsed as config.ParseKey parses them (`ns:config:name` is
`ns:name`); a project's declarations give their `default` or `value` as the CLI applies them.

`secure:` values are encrypted with the stack's secrets provider, which is not available
offline; they are passed as a visible placeholder and marked secret, so a program that only
forwards them still renders, and one that parses them fails loudly.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
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


def _full_key(key: str, project: str, where: Path) -> str:
    """A config key as config.ParseKey reads it: `name` is the project's, `ns:name` as is, the
    old `ns:config:name` is `ns:name`; anything else the CLI refuses."""
    if ":" not in key:
        return f"{project}:{key}"
    parts = key.split(":")
    if len(parts) == 2:
        return key
    if len(parts) == 3 and parts[1] == "config":
        return f"{parts[0]}:{parts[2]}"
    raise StackConfigError(f"{where}: config key {key!r} is not <namespace>:<name> (the Pulumi CLI refuses it: "
                           "could not parse it as a configuration key)")


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


def _go_json_float(value: float) -> str:
    """A float as Go's encoding/json writes it (floatEncoder): the shortest digits that read
    back as the same float, in plain notation from 1e-6 to below 1e21 (0.00001, not Python's
    1e-05) and otherwise as 1e-07 with a one-digit negative exponent cleaned to e-7."""
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    text = "-" if sign else ""
    if 1e-6 <= abs(value) < 1e21:
        return text + format(decimal.Decimal((0, digits, exponent)), "f")
    power = len(digits) - 1 + exponent
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{text}{mantissa}e{'-' if power < 0 else '+'}{abs(power):0{1 if -10 < power < 0 else 2}d}"


def _go_string(data: bytes) -> str:
    """Bytes as a Go string reaches JSON: each byte of an invalid UTF-8 sequence becomes U+FFFD."""
    text, index = [], 0
    while index < len(data):
        for width in (1, 2, 3, 4):
            try:
                text.append(data[index:index + width].decode("utf-8"))
            except UnicodeDecodeError:
                continue
            index += width
            break
        else:
            text.append("\ufffd")
            index += 1
    return "".join(text)


class _CliLoader(yaml.SafeLoader):
    """YAML as the Pulumi CLI reads it (gopkg.in/yaml.v3): the core schema's scalars, no YAML 1.1
    booleans, octals or sexagesimals."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            return _go_resolve(value)[0]
        return super().resolve(kind, value, implicit)

    def scan_to_next_token(self):
        """yaml.v3's yaml_parser_scan_to_next_token: a tab separates tokens in a flow collection
        and where no simple key may start (after a value on its line), never in indentation."""
        if self.index == 0 and self.peek() == "\uFEFF":
            self.forward()
        while True:
            while self.peek() == " " or (self.peek() == "\t" and (self.flow_level or not self.allow_simple_key)):
                self.forward()
            if self.peek() == "#":
                while self.peek() not in "\0\r\n\x85\u2028\u2029":
                    self.forward()
            if not self.scan_line_break():
                return
            if not self.flow_level:
                self.allow_simple_key = True

    def scan_plain_spaces(self, indent, start_mark):
        """yaml.v3's yaml_parser_scan_plain_scalar between words: spaces and tabs, kept inside a
        line (`b<TAB>c` is "b\\tc"), dropped at its end; a tab indenting a continuation line
        less than the scalar is an error."""
        length = 0
        while self.peek(length) in " \t":
            length += 1
        whitespaces = self.prefix(length)
        self.forward(length)
        if self.peek() not in "\r\n\x85\u2028\u2029":
            return [whitespaces] if whitespaces else []
        line_break = self.scan_line_break()
        self.allow_simple_key = True
        breaks = []
        while True:
            if self.prefix(3) in ("---", "...") and self.peek(3) in "\0 \t\r\n\x85\u2028\u2029":
                return None
            while self.peek() in " \t":
                if self.peek() == "\t" and self.column < indent:
                    raise yaml.scanner.ScannerError("while scanning a plain scalar", start_mark,
                                                    "found a tab character that violates indentation", self.get_mark())
                self.forward()
            if self.peek() not in "\r\n\x85\u2028\u2029":
                break
            breaks.append(self.scan_line_break())
        chunks = [line_break] if line_break != "\n" else [] if breaks else [" "]
        return chunks + breaks

    def _go_scalar(self, node: yaml.ScalarNode) -> Any:
        tag, value = _go_resolve(node.value)
        if tag != node.tag and not (node.tag == _FLOAT and tag == _INT):
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot decode {tag.rsplit(':', 1)[-1]} `{node.value}` as a "
                            f"{node.tag.rsplit(':', 1)[-1]}", node.start_mark)
        return _json_number(float(value)) if node.tag == _FLOAT else value

    def _go_binary(self, node: yaml.ScalarNode) -> str:
        """yaml.v3 decodes !!binary into `any` as the decoded bytes in a string."""
        try:
            data = base64.b64decode(self.construct_scalar(node).replace("\r", "").replace("\n", ""), validate=True)
        except (binascii.Error, ValueError):
            raise yaml.constructor.ConstructorError(None, None, "!!binary value contains invalid base64 data",
                                                    node.start_mark) from None
        return _go_string(data)

    def _by_kind(self, node: yaml.Node) -> Any:
        """A tag yaml.v3 does not resolve (`!Foo`, `!!set`, `!!omap`) changes nothing: a scalar
        is its text, a collection what it would be untagged."""
        if isinstance(node, yaml.ScalarNode):
            return self.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return self.construct_sequence(node, deep=True)
        return self.construct_mapping(node, deep=True)


for _tag in (_NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP):
    _CliLoader.add_constructor(_tag, _CliLoader._go_scalar)
_CliLoader.add_constructor("tag:yaml.org,2002:binary", _CliLoader._go_binary)
for _tag in ("tag:yaml.org,2002:set", "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs", None):
    _CliLoader.add_constructor(_tag, _CliLoader._by_kind)
_RESOLVED_TAGS = (_NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP)
"""Tags yaml.v3 turns into a value other than a string; with any other tag a scalar is a string."""


def _node_problems(node: yaml.Node, path: str) -> list[str]:
    """What the CLI refuses before it reads a value: a mapping key twice (yaml.v3's
    uniqueKeys), a key that is not a string (SimplifyMarshalledValue), and under `config` a
    float JSON cannot carry (config values are stored as JSON: json.Marshal refuses +Inf)."""
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
            if not isinstance(key, yaml.ScalarNode) or key.tag in _RESOLVED_TAGS:
                problems.append(f"{where}: the key {shown} is not a string (YAML reads it as "
                                f"{key.tag.rsplit(':', 1)[-1]}) and the Pulumi CLI refuses non-string keys; "
                                f"quote it: '{shown}'")
            problems += _node_problems(value, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _node_problems(item, f"{path}[{index}]")
    elif (node.tag == _FLOAT and (path == "config" or path.startswith("config."))
          and node.value.lower().lstrip("+-") in (".inf", ".nan")):
        kind = "not a number" if "nan" in node.value.lower() else "infinite"
        problems.append(f"{path}: {node.value} is {kind}, and the Pulumi CLI refuses to load the file (config values "
                        f"are stored as JSON, which has no such number); quote it ('{node.value}') for the text")
    return problems


def _read_yaml(path: Path) -> dict:
    """The file's first YAML document (yaml.v3's Unmarshal reads no further)."""
    try:
        loader = _CliLoader(path.read_text())
        try:
            node = loader.get_node() if loader.check_node() else None
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


def _top_level(value: Any) -> Any:
    """A top-level value as the program receives it: the CLI passes a float as the text Go's
    encoding/json gives it (other values JSON-encode the same in Python and Go)."""
    return _go_json_float(value) if isinstance(value, float) else value


def _project_config(project_file: dict, project: str, where: Path) -> dict[str, Any]:
    """The values a project's `config` block gives (pkg/workspace's mergeConfig): a declaration's
    `default` or `value`, a shorthand value (rewritten to one of them). As Project.Validate
    requires, a key in another namespace (aws:region) takes a `value`, not a `default`."""
    config: dict[str, Any] = {}
    for key, declaration in (project_file.get("config") or {}).items():
        full = _full_key(key, project, where)
        own = full.startswith(f"{project}:")
        if isinstance(declaration, dict):
            default, value = declaration.get("default"), declaration.get("value")
            if default is not None and value is not None:
                raise StackConfigError(f"{where}: config {key!r} has both a default and a value; the Pulumi CLI "
                                       "refuses that")
            if not own and default is not None:
                raise StackConfigError(f"{where}: config {key!r} is not in the project's namespace, so the Pulumi CLI "
                                       "refuses a default for it: write value: instead")
            if not own and value is None:
                raise StackConfigError(f"{where}: config {key!r} is not in the project's namespace and needs a value: "
                                       "(the Pulumi CLI refuses it without one)")
            given = default if default is not None else value
        elif isinstance(declaration, (str, int, list)):
            given = declaration
        else:
            raise StackConfigError(f"{where}: config {key!r} is neither a string, a whole number, true/false, a list "
                                   "nor a declaration (type, default or value), which the Pulumi CLI requires")
        if given is not None:
            config[full] = _top_level(given)
    return config


def load_stack_config(program_dir: str | Path, stack: str) -> StackConfig:
    program_dir = Path(program_dir)
    project_path = program_dir / "Pulumi.yaml"
    project_file = _read_yaml(project_path)
    project = project_file.get("name")
    if not isinstance(project, str) or not project:
        raise StackConfigError(f"{project_path}: no project name")
    config = _project_config(project_file, project, project_path)

    stack_path = program_dir / f"Pulumi.{stack}.yaml"
    secret_keys = []
    written: dict[str, str] = {}
    for key, value in (_read_yaml(stack_path).get("config") or {}).items():
        full = _full_key(key, project, stack_path)
        if full in written:
            raise StackConfigError(f"{stack_path}: config keys {written[full]!r} and {key!r} both name {full}, and the "
                                   "Pulumi CLI would keep either one at random: remove one")
        written[full] = key
        # The CLI passes a key without a value as "" (and warns that this will become null).
        value, secret = _without_secure("" if value is None else value)
        if secret:
            secret_keys.append(full)
        config[full] = _top_level(value)
    return StackConfig(project=project, stack=stack, config=config, secret_keys=tuple(secret_keys))
