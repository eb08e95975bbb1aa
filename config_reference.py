"""docs/configuration.md's key tables and the stack files' JSON Schema, from settings' declarations.

    python -m config_reference docs/configuration.md schema/stack-config.schema.json

rewrites the tables between the page's `<!-- generated: config-reference SECTION -->` and
`<!-- end generated -->` markers (the prose around them is hand-written) and the schema file.
tests/test_config_reference.py fails when either is stale.

The schema is for editors (yaml-language-server: completion, hover text, errors as you type);
`settings` stays the judge. It checks types, ranges, choices and key names, and leaves to the
program what needs code (CIDRs, ARNs, schedules, listener priorities, rules across keys), so
it may accept a config the program refuses, never the reverse.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import settings
from settings import ENVIRONMENTS, NAMESPACE, ByEnvironment, Key

SCHEMA_PATH = "schema/stack-config.schema.json"
DOCS_PATH = "docs/configuration.md"
REGENERATE = f"python -m config_reference {DOCS_PATH} {SCHEMA_PATH}"

_TABLE_KEYS: dict[str, tuple[Key, ...]] = {
    "top-level": settings.TOP_LEVEL,
    "network": settings.NETWORK,
    "registry": settings.REGISTRY,
    "loadBalancer": settings.LOAD_BALANCER,
    "cluster": settings.CLUSTER,
    "image-source": settings.IMAGE_SOURCE,
    "task": tuple(key for key in settings.TASK if key not in settings.IMAGE_SOURCE),
    "service": settings.SERVICE_ONLY,
    "web": settings.WEB_ONLY,
    "deployment": settings.DEPLOYMENT,
    "hooks": settings.HOOK,
    "scheduledTasks": settings.JOB_ONLY,
}
_MARKER = re.compile(r"(<!-- generated: config-reference (?P<section>[\w-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)",
                     re.DOTALL)
_TYPES = {"bool": "bool", "int": "int", "number": "number", "string": "string", "strings": "list of strings",
          "map": "map of string to string", "object": "object", "named": "map of name to object",
          "build": "string or object", "statements": "list of objects", "string-or-list": "string or list of strings",
          "mapping": "object"}


# -- Markdown -----------------------------------------------------------------------------------

def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return f"`{json.dumps(list(value))}`"
    if isinstance(value, str):
        return f"`{value}`"
    return str(value)


def default_text(key: Key) -> str:
    if key.default_text:
        return key.default_text
    if isinstance(key.default, ByEnvironment):
        groups: dict[str, list[str]] = {}
        for environment in ENVIRONMENTS:
            groups.setdefault(_literal(key.default.of(environment)), []).append(environment)
        return " / ".join(f"{', '.join(environments)} {value}" for value, environments in groups.items())
    return "none" if key.default is None else _literal(key.default)


def valid_text(key: Key) -> str:
    if key.kind == "int":
        auto = ", ".join(map(str, key.allowed)) if key.allowed else f"{key.low} to {key.high}"
    elif key.kind == "number":
        auto = f"{key.low:g} to {key.high:g}" + (f" in steps of {key.step:g}" if key.step else "")
    elif key.choices:
        auto = ", ".join(f"`{choice}`" for choice in key.choices)
    else:
        auto = ""
    return "; ".join(part for part in ("required" if key.required else "", auto, key.valid) if part)


def _nested_text(key: Key) -> str:
    """An object's keys in one cell: `name` default (valid)."""
    parts = []
    for sub in key.keys:
        valid = valid_text(sub)
        default = "" if sub.required or sub.default is None else f" {default_text(sub).strip('`')}"
        parts.append(f"`{sub.name}`{default}" + (f" ({valid})" if valid else ""))
    return ", ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(keys: tuple[Key, ...]) -> str:
    lines = ["| key | type | default | valid | what and why |", "|---|---|---|---|---|"]
    for key in keys:
        valid = valid_text(key)
        # An object's keys are listed in its row, unless they have a table of their own.
        if key.kind == "object" and key not in settings.TOP_LEVEL and key.keys not in _TABLE_KEYS.values():
            valid = "; ".join(part for part in (valid, _nested_text(key)) if part)
        cells = (f"`{key.name}`", key.type_text or _TYPES[key.kind], default_text(key), valid, key.description)
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def render_page(page: str) -> str:
    """The page with every generated table rewritten from the declarations."""
    sections = [match["section"] for match in _MARKER.finditer(page)]
    if sorted(sections) != sorted(_TABLE_KEYS):
        raise ValueError(f"{DOCS_PATH} has generated sections {sections}, expected each of {list(_TABLE_KEYS)} once")
    return _MARKER.sub(lambda match: match[1] + markdown_table(_TABLE_KEYS[match["section"]]) + match[4], page)


# -- JSON Schema --------------------------------------------------------------------------------

_SECURE = {"$ref": "#/definitions/secure"}
_NULL = {"type": "null"}
_DIGITS = r"^\s*[0-9]+\s*$"
_TRUE_OR_FALSE = "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"


def _plain(text: str) -> str:
    return re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text).replace("`", "")


def _documented(key: Key, schema: dict) -> dict:
    valid = valid_text(key)
    markdown = " ".join(part for part in (
        key.description, f"Valid: {valid}." if valid else "", f"Default: {default_text(key)}.") if part)
    documented = {"description": _plain(markdown), "markdownDescription": markdown, **schema}
    if key.default is not None and not isinstance(key.default, ByEnvironment) and not key.default_text:
        documented["default"] = list(key.default) if isinstance(key.default, tuple) else key.default
    return documented


def _object(keys: tuple[Key, ...]) -> dict:
    required = [key.name for key in keys if key.required]
    return {"type": "object", "properties": {key.name: key_schema(key) for key in keys},
            **({"required": required} if required else {}), "additionalProperties": False}


def _value_schema(key: Key) -> dict:
    """What the checker takes for the key's value, leaving out what needs code to decide."""
    if key.kind == "bool":
        return {"anyOf": [{"type": "boolean"}, {"type": "string", "pattern": _TRUE_OR_FALSE}]}
    if key.kind == "int":
        number: dict[str, Any] = {"type": "integer", "minimum": key.low, "maximum": key.high}
        if key.allowed:
            number["enum"] = list(key.allowed)
        # The checker also takes a whole number written as a string ("80"), as `pulumi config set` stores it.
        return {"anyOf": [number, {"type": "string", "pattern": _DIGITS}]}
    if key.kind == "number":
        # No multipleOf for `step`: validators divide in binary floating point, so multipleOf 0.1 refuses
        # 0.3 (0.3 / 0.1 == 2.9999999999999996), and the schema must not refuse what the program takes.
        # A string is refused here as by the checker (see _Checker.number).
        return {"type": "number", "minimum": key.low, "maximum": key.high}
    if key.kind == "string":
        text: dict[str, Any] = {"type": "string", "minLength": 1}
        if key.choices:
            text["enum"] = list(key.choices)
        if key.pattern:
            text["pattern"] = key.pattern
        return text
    if key.kind == "strings":
        items = {"anyOf": [{"type": "string", "minLength": 1}, _SECURE]}
        return {"type": "array", "items": items, **({"minItems": key.min_items} if key.min_items else {})}
    if key.kind == "map":
        return {"type": "object", "additionalProperties": {"anyOf": [{"type": ["string", "number"]}, _SECURE]}}
    if key.kind == "object":
        return {"anyOf": [_object(key.keys), {"const": ""}]}
    if key.kind == "named":
        entry = _object(key.keys)
        return {"anyOf": [{"type": "object", "additionalProperties": {"anyOf": [entry, _SECURE]}}, {"const": ""}]}
    if key.kind == "build":
        return {"anyOf": [{"type": "string", "minLength": 1}, _object(key.keys)]}
    if key.kind == "statements":
        return {"type": "array", "items": _object(key.keys)}
    if key.kind == "string-or-list":
        return {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    if key.kind == "mapping":
        return {"type": "object"}
    raise ValueError(f"{key.name}: no schema for a {key.kind}")


# An object as JSON text: the engine passes every config value as a string and settings.py decodes
# JSON ones, so `pulumi config set ecs-fargate:tags '{"team": "x"}'` (no --path) is an object too.
_JSON_TEXT = {"type": "string", "pattern": r"^\s*[{\[]", "description": "The value as JSON text."}
_STRUCTURED = ("object", "named", "map", "statements", "strings", "mapping")
_REGEX_SPECIAL = set(".^$*+?()[]{}|\\/")


def _pattern_literal(text: str) -> str:
    """`text` as a pattern: only regex metacharacters escaped (`re.escape` also escapes `-`, an
    invalid escape for engines that compile patterns in Unicode mode, as Ajv and JavaScript do)."""
    return "".join(f"\\{c}" if c in _REGEX_SPECIAL else c for c in text)


def key_schema(key: Key, top_level: bool = False) -> dict:
    """A key's schema: its value, null (absent, as the checker reads it) or a Pulumi secret."""
    json_text = [_JSON_TEXT] if top_level and key.kind in _STRUCTURED else []
    return _documented(key, {"anyOf": [_value_schema(key), *json_text, _NULL, _SECURE]})


def json_schema() -> dict:
    declared = settings.names(settings.TOP_LEVEL)
    definitions = {key.name: key_schema(key, top_level=True) for key in settings.TOP_LEVEL}
    properties, one_spelling = {}, {}
    for name in declared:
        # Pulumi reads `name`, `ecs-fargate:name` and the legacy `ecs-fargate:config:name` as one
        # key; given twice, which value wins depends on map order, so only one spelling may be used.
        spellings = [name, f"{NAMESPACE}:{name}", f"{NAMESPACE}:config:{name}"]
        for spelling in spellings:
            properties[spelling] = {"$ref": f"#/definitions/{name}"}
            one_spelling[spelling] = {"not": {"anyOf": [{"required": [other]} for other in spellings
                                                        if other != spelling]}}
    undeclared = rf"^(?:{_pattern_literal(NAMESPACE)}:(?:config:)?)?(?!(?:{'|'.join(declared)})$)[^:]+$"
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "description": f"Pulumi.<stack>.yaml of the ecs-fargate project. Generated by `{REGENERATE}` from "
                       "settings.py's declarations; docs/configuration.md says the same in prose. The program "
                       "checks more than this schema does.",
        "type": "object",
        "properties": {
            "config": {
                "description": "The stack's configuration: ecs-fargate keys (with or without the namespace), "
                               "aws:region and other providers' keys.",
                "type": "object",
                "properties": properties,
                "patternProperties": {undeclared: False},
                "additionalProperties": True,
                "dependencies": one_spelling,
            },
            "secretsprovider": {"type": "string", "description": "The stack's secrets provider."},
            "encryptedkey": {"type": "string", "description": "The data key encrypted by a cloud secrets provider."},
            "encryptionsalt": {"type": "string", "description": "The passphrase secrets provider's salt."},
            "environment": {"description": "Pulumi ESC environments the stack imports.",
                            "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]},
        },
        "additionalProperties": False,
        "definitions": {
            "secure": {"description": "A value stored with `pulumi config set --secret`.", "type": "object",
                       "properties": {"secure": {"type": "string"}}, "required": ["secure"],
                       "additionalProperties": False},
            **definitions,
        },
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {REGENERATE}", file=sys.stderr)
        return 2
    docs, schema = map(Path, argv)
    docs.write_text(render_page(docs.read_text()))
    schema.parent.mkdir(parents=True, exist_ok=True)
    schema.write_text(schema_text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
