"""Build tags: every input that changes the built image changes the tag."""

from __future__ import annotations

import dataclasses

import pytest

from components.image import build_digest
from components.image import DockerBuild


@pytest.fixture
def context(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY app.txt /\n")
    (tmp_path / "app.txt").write_text("v1")
    return tmp_path


def test_same_inputs_same_tag(context):
    build = DockerBuild(context=str(context))
    assert build_digest(build, "X86_64") == build_digest(build, "X86_64")


@pytest.mark.parametrize("change", [
    lambda ctx, build: ((ctx / "app.txt").write_text("v2"), build)[1],
    lambda ctx, build: ((ctx / "Dockerfile").write_text("FROM scratch\n"), build)[1],
    lambda ctx, build: dataclasses.replace(build, args={"VERSION": "2"}),
    lambda ctx, build: dataclasses.replace(build, target="release"),
], ids=["file", "dockerfile", "build-arg", "target"])
def test_each_input_changes_the_tag(context, change):
    build = DockerBuild(context=str(context))
    before = build_digest(build, "X86_64")
    assert build_digest(change(context, build), "X86_64") != before


def test_platform_changes_the_tag(context):
    build = DockerBuild(context=str(context))
    assert build_digest(build, "X86_64") != build_digest(build, "ARM64")


def test_a_dockerfile_outside_the_context_counts(tmp_path, context):
    outside = tmp_path.parent / f"{tmp_path.name}-Dockerfile"
    outside.write_text("FROM scratch\n")
    build = DockerBuild(context=str(context), dockerfile=f"../{outside.name}")
    before = build_digest(build, "X86_64")
    outside.write_text("FROM scratch\nUSER 1000\n")
    assert build_digest(build, "X86_64") != before


def test_files_dockerignore_excludes_do_not_change_the_tag(context):
    (context / ".dockerignore").write_text("# build only what the image needs\n*\n!Dockerfile\n!app.txt\n")
    build = DockerBuild(context=str(context))
    before = build_digest(build, "X86_64")
    (context / "__pycache__").mkdir()
    (context / "__pycache__" / "x.pyc").write_bytes(b"\0stray")
    (context / ".DS_Store").write_bytes(b"finder")
    assert build_digest(build, "X86_64") == before
    (context / "app.txt").write_text("v2")
    assert build_digest(build, "X86_64") != before, "an included file still counts"


def test_dockerignore_directory_patterns_and_reincludes(context):
    (context / ".dockerignore").write_text("docs\n**/*.log\n!keep.log\n")
    build = DockerBuild(context=str(context))
    before = build_digest(build, "X86_64")
    (context / "docs").mkdir()
    (context / "docs" / "guide.md").write_text("x")
    (context / "sub").mkdir()
    (context / "sub" / "debug.log").write_text("x")
    assert build_digest(build, "X86_64") == before
    (context / "keep.log").write_text("x")
    assert build_digest(build, "X86_64") != before


def test_a_single_star_stays_within_one_directory_as_in_docker(context):
    """`*.md` ignores README.md at the top only; docs/guide.md is sent, so it counts."""
    (context / ".dockerignore").write_text("*.md\n")
    (context / "docs").mkdir()
    (context / "docs" / "guide.md").write_text("v1")
    build = DockerBuild(context=str(context))
    before = build_digest(build, "X86_64")
    (context / "README.md").write_text("ignored")
    assert build_digest(build, "X86_64") == before
    (context / "docs" / "guide.md").write_text("v2")
    assert build_digest(build, "X86_64") != before
