"""What tests share: the repository root, the shipped stacks, rendering them under mocks.

Imported by test modules (`from testkit import ...`); `tests/conftest.py` holds only fixtures.
The import path (the repository root, `tests/`, `policies/`, `.ci/`) is `pythonpath` in pytest.ini.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path

from preflight.render import Rendering, render
from preflight.stack_config import StackConfig, load_stack_config

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_STACKS = ROOT / "tests" / "fixtures" / "stacks"
"""Stack files for tests only (Pulumi.<name>.yaml), read with the project's Pulumi.yaml."""


def render_stack(stack: str, overrides: dict | None = None, preview: bool = False) -> Rendering:
    """Render one of our stack files, with `overrides` merged over its config keys."""
    loaded = load_stack_config(ROOT, stack)
    config = copy.deepcopy(loaded.config)
    config.update(overrides or {})
    return render(ROOT, project=loaded.project, stack=stack, config=config,
                  secret_keys=loaded.secret_keys, preview=preview)


def fixture_stack(name: str) -> StackConfig:
    """tests/fixtures/stacks/Pulumi.<name>.yaml read as the CLI reads it, next to the project's
    Pulumi.yaml (its defaults and declarations apply)."""
    with tempfile.TemporaryDirectory() as directory:
        shutil.copy(ROOT / "Pulumi.yaml", directory)
        shutil.copy(FIXTURE_STACKS / f"Pulumi.{name}.yaml", directory)
        return load_stack_config(directory, name)


def render_fixture_stack(name: str, preview: bool = False) -> Rendering:
    """The program rendered with a fixture stack's config."""
    loaded = fixture_stack(name)
    return render(ROOT, project=loaded.project, stack=name, config=loaded.config, secret_keys=loaded.secret_keys,
                  preview=preview)


def render_config(config: dict, stack: str = "test") -> Rendering:
    """Render the program with exactly this config (keys with their namespace)."""
    return render(ROOT, project="ecs-fargate", stack=stack, config={"aws:region": "us-east-1", **config})


SHIPPED_STACKS = ("dev", "staging", "prod")
"""Every Pulumi.<stack>.yaml of the repository (a test keeps this list complete)."""


def container(task_definition) -> dict:
    """The single container of a rendered task definition."""
    containers = json.loads(task_definition.inputs["containerDefinitions"])
    assert len(containers) == 1, task_definition.urn
    return containers[0]


def children_of_type(rendering: Rendering, component_name: str, typ: str) -> list:
    """Resources of `typ` anywhere below the component named `component_name`."""
    roots = {r.urn for r in rendering.resources if r.name == component_name and not r.custom}
    found = []
    for resource in rendering.resources:
        parent = resource.parent
        while parent and parent not in roots:
            parent = next((r.parent for r in rendering.resources if r.urn == parent), None)
        if parent and resource.type == typ:
            found.append(resource)
    return found
