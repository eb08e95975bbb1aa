"""Fixtures: the shipped stacks rendered once per session (helpers live in testkit.py)."""

from __future__ import annotations

import pytest

from preflight.render import Rendering
from testkit import render_stack


@pytest.fixture(scope="session")
def dev() -> Rendering:
    return render_stack("dev")


@pytest.fixture(scope="session")
def staging() -> Rendering:
    return render_stack("staging")


@pytest.fixture(scope="session")
def prod() -> Rendering:
    return render_stack("prod")
