"""Shared fixtures: the project's stacks rendered under mocks (tests/../ is the program)."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from preflight.render import Rendering, render  # noqa: E402
from preflight.stack_config import load_stack_config  # noqa: E402


def render_stack(stack: str, overrides: dict | None = None, preview: bool = False) -> Rendering:
    """Render one of our stack files, with `overrides` merged over its config keys."""
    loaded = load_stack_config(ROOT, stack)
    config = copy.deepcopy(loaded.config)
    config.update(overrides or {})
    return render(ROOT, project=loaded.project, stack=stack, config=config,
                  secret_keys=loaded.secret_keys, preview=preview)


def render_config(config: dict, stack: str = "test") -> Rendering:
    """Render the program with exactly this config (keys with their namespace)."""
    return render(ROOT, project="ecs-fargate", stack=stack, config={"aws:region": "us-east-1", **config})


@pytest.fixture(scope="session")
def dev() -> Rendering:
    return render_stack("dev")


@pytest.fixture(scope="session")
def staging() -> Rendering:
    return render_stack("staging")


@pytest.fixture(scope="session")
def prod() -> Rendering:
    return render_stack("prod")


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
