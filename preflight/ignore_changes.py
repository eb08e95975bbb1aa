"""`ignoreChanges` as the Pulumi engine applies it, so that `preflight diff` shows what `pulumi up` does.

Before it diffs a resource that already exists, the engine resets every ignored path of the new
inputs to its value in the old inputs (pkg/resource/deploy/step_generator.go, `processIgnoreChanges`;
sdk/go/common/resource/properties_path.go, `ParsePropertyPath` and `PropertyPath.Reset`). The
result is not always "the old value": a path whose parent exists only in the new inputs is deleted
from them, and a path that crosses a value of another shape is a "path error" that leaves the new
inputs as they are (the engine then only logs "cannot ignore changes in added or removed elements").
Both matter for a listener rule that switches between a plain forward and a weighted one. This is
a port of those two functions, on JSON-like values (dicts, lists, scalars; a secret is the wire
form `{SECRET_SIG: ..., "value": ...}`).
"""

from __future__ import annotations

import copy
from typing import Any

SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
_NULL = None


class PathError(ValueError):
    """A property path the engine cannot parse."""


def parse_path(path: str) -> list[str | int]:
    """`ParsePropertyPath`: `a.b`, `a[0]`, `a["key"]`, `a[*]` and `a.*` (both wildcards are "*")."""
    if path.startswith("."):
        raise PathError("expected property path to start with a name or index")
    elements: list[str | int] = []
    rest = path
    while rest:
        if rest[0] == ".":
            rest = rest[1:]
            if not rest:
                raise PathError("expected property path to end with a name or index")
        elif rest[0] == "[":
            if len(rest) > 1 and rest[1] == '"':
                key, i = [], 2
                while True:
                    if i >= len(rest):
                        raise PathError("missing closing quote in property name")
                    if rest[i] == '"':
                        i += 1
                        break
                    if rest[i] == "\\" and i + 1 < len(rest) and rest[i + 1] == '"':
                        key.append('"')
                        i += 2
                    else:
                        key.append(rest[i])
                        i += 1
                if i >= len(rest) or rest[i] != "]":
                    raise PathError("missing closing bracket in property access")
                elements.append("".join(key))
                rest = rest[i + 1:]
            else:
                end = rest.find("]")
                if end == -1:
                    raise PathError("missing closing bracket in array index")
                segment = rest[1:end]
                if segment == "*":
                    elements.append("*")
                else:
                    try:
                        elements.append(int(segment, 10))
                    except ValueError as error:
                        raise PathError(f"invalid array index: {segment!r}") from error
                rest = rest[end + 1:]
        else:
            i = 0
            while i < len(rest) and rest[i] not in ".[":
                i += 1
            elements.append(rest[:i])
            rest = rest[i:]
    return elements


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_VALUE


def _unwrap(value: Any) -> tuple[Any, bool]:
    secret = False
    while _is_secret(value):
        value, secret = value.get("value"), True
    return value, secret


def _secret(value: Any) -> dict:
    return {SECRET_SIG: SECRET_VALUE, "value": value}


def _reset(path: list[str | int], old: Any, new: Any, old_secret: bool, new_secret: bool) -> bool:
    """`PropertyPath.reset`, case for case; mutates `new` in place; False is a path error."""
    if not path:
        return False
    old, secret = _unwrap(old)
    old_secret = old_secret or secret
    new, secret = _unwrap(new)
    new_secret = new_secret or secret

    def carried(value: Any) -> Any:
        return _secret(value) if old_secret and not new_secret else value

    key = path[0]
    if isinstance(key, int):
        if key < 0:
            return False
        old_array, new_array = isinstance(old, list), isinstance(new, list)
        if len(path) == 1:
            if not old_array and not new_array:
                return True
            if not old_array or not new_array:
                return False
            if key >= len(old) and key >= len(new):
                return True
            if key >= len(old) or key >= len(new):
                return False
            new[key] = carried(old[key])
            return True
        if not old_array or not new_array:
            return not old_array and not new_array
        if key >= len(old) or key >= len(new):
            return False
        return _reset(path[1:], old[key], new[key], old_secret, new_secret)

    if key == "*":
        if len(path) == 1:
            if isinstance(new, dict):
                if isinstance(old, dict):
                    for name, value in old.items():
                        new[name] = carried(value)
                    for name in [n for n in new if n not in old]:
                        del new[name]
                return True
            if isinstance(new, list):
                if isinstance(old, list):
                    for index, value in enumerate(old):
                        if index >= len(new):
                            break
                        new[index] = carried(value)
                    if len(old) != len(new):
                        return False
                return True
            return False
        if isinstance(old, dict) and isinstance(new, dict):
            for name in old:
                if name not in new:
                    return False
                if not _reset(path[1:], old[name], new[name], old_secret, new_secret):
                    return False
            return True
        if isinstance(old, list) and isinstance(new, list):
            for index, value in enumerate(old):
                if index >= len(new):
                    break
                if not _reset(path[1:], value, new[index], old_secret, new_secret):
                    return False
            return len(old) == len(new)
        return False

    if len(path) == 1:
        has = isinstance(old, dict) and key in old
        if has:
            if not isinstance(new, dict):
                return False
            new[key] = carried(old[key])
        elif isinstance(new, dict):
            new.pop(key, None)
        return True
    if not isinstance(old, dict) or not isinstance(new, dict):
        return not isinstance(old, dict) and not isinstance(new, dict)
    has_new, has_old = key in new, key in old
    if has_old and not has_new:
        return False
    if not has_old and not has_new:
        return True
    return _reset(path[1:], old.get(key, _NULL), new[key], old_secret, new_secret)


def reset(path: list[str | int], old: dict, new: dict) -> bool:
    """`PropertyPath.Reset(old, new)` on two input maps; mutates `new`."""
    return _reset(path, old, new, False, False)


def process(inputs: dict, old_inputs: dict, ignore_changes: list[str]) -> tuple[dict, list[str]]:
    """`processIgnoreChanges`: the inputs the engine diffs, and the paths it could not apply (the
    engine says "cannot ignore changes in added or removed elements of the path" and goes on)."""
    ignored = copy.deepcopy(inputs)
    invalid = []
    for text in ignore_changes:
        try:
            path = parse_path(text)
        except PathError:
            continue
        if not reset(path, old_inputs, ignored):
            invalid.append(text)
    return ignored, invalid
