"""Build tags: every input that changes the built image changes the tag."""

from __future__ import annotations

import dataclasses

import pytest

from components.image import build_digest
from settings import BuildSettings


@pytest.fixture
def context(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY app.txt /\n")
    (tmp_path / "app.txt").write_text("v1")
    return tmp_path


def test_same_inputs_same_tag(context):
    build = BuildSettings(context=str(context))
    assert build_digest(build, "X86_64") == build_digest(build, "X86_64")


@pytest.mark.parametrize("change", [
    lambda ctx, build: ((ctx / "app.txt").write_text("v2"), build)[1],
    lambda ctx, build: ((ctx / "Dockerfile").write_text("FROM scratch\n"), build)[1],
    lambda ctx, build: dataclasses.replace(build, args={"VERSION": "2"}),
    lambda ctx, build: dataclasses.replace(build, target="release"),
], ids=["file", "dockerfile", "build-arg", "target"])
def test_each_input_changes_the_tag(context, change):
    build = BuildSettings(context=str(context))
    before = build_digest(build, "X86_64")
    assert build_digest(change(context, build), "X86_64") != before


def test_platform_changes_the_tag(context):
    build = BuildSettings(context=str(context))
    assert build_digest(build, "X86_64") != build_digest(build, "ARM64")


def test_a_dockerfile_outside_the_context_counts(tmp_path, context):
    outside = tmp_path.parent / f"{tmp_path.name}-Dockerfile"
    outside.write_text("FROM scratch\n")
    build = BuildSettings(context=str(context), dockerfile=f"../{outside.name}")
    before = build_digest(build, "X86_64")
    outside.write_text("FROM scratch\nUSER 1000\n")
    assert build_digest(build, "X86_64") != before
