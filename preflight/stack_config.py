"""A stack's config as `pulumi up` would hand it to the program: project defaults + stack file.

`secure:` values are encrypted with the stack's secrets provider, which is not available
offline; they are passed as a visible placeholder and marked secret, so a program that only
forwards them still renders, and one that parses them fails loudly.
"""

from __future__ import annotations

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


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise StackConfigError(f"{path}: not found") from None
    except yaml.YAMLError as error:
        raise StackConfigError(f"{path}: not valid YAML: {error}") from None
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
        value, secret = _without_secure(value)
        if secret:
            secret_keys.append(full)
        config[full] = value
    return StackConfig(project=project, stack=stack, config=config, secret_keys=tuple(secret_keys))
