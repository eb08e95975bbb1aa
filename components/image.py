"""Where a task's image comes from: a full reference, a tag in our ECR repository, or a build."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from components.validation import IMAGE, TAG, Invalid, Problems, is_unknown, join


@dataclass(frozen=True)
class DockerBuild:
    """A Docker build context, built and pushed to the stack's ECR repository."""

    context: str
    """The build context directory, relative to the program's directory."""
    dockerfile: str | None = None
    """The Dockerfile, relative to the context (default `Dockerfile`); it must exist."""
    target: str | None = None
    """The build stage to build."""
    args: Mapping[str, str] = field(default_factory=dict)
    """Build arguments."""


@dataclass(frozen=True)
class ImageSource:
    """Exactly one of a full reference, a tag in the stack's ECR repository, or a build.
"""

    image: pulumi.Input[str] | None = None
    """An image from any registry: `[registry/]name[:tag][@sha256:<64 hex>]`."""
    image_tag: str | None = None
    """A tag in the stack's ECR repository (`Placement.repository_url`)."""
    build: DockerBuild | None = None
    """Build the image here and push it to the stack's ECR repository, tagged by its inputs."""


EXACTLY_ONE_SOURCE = ("set exactly one of image (a full image reference), {image_tag} (a tag in this stack's ECR "
                      "repository) or build (a Docker build context); {found}")
NOT_AN_IMAGE = "is not an image reference like registry/name:tag or registry/name@sha256:<64 hex>"
NOT_A_TAG = "an image tag (letters, digits, _ . -, at most 128 characters)"


def check_image_source(p: Problems, source: ImageSource, path: str) -> None:
    """What ECS would fail to pull, and a build whose context or Dockerfile is missing."""
    given = [p.key(name) for name in ("image", "image_tag", "build") if getattr(source, name) is not None]
    if len(given) != 1:
        found = f"found {', '.join(given)}" if given else "found none"
        p.fail(path, EXACTLY_ONE_SOURCE.format(image_tag=p.key("image_tag"), found=found))
        return
    if source.image is not None:
        if not is_unknown(source.image) and not (isinstance(source.image, str) and IMAGE.match(source.image)):
            p.reject(p.at(path, "image"), source.image, Invalid(NOT_AN_IMAGE))
    elif source.image_tag is not None:
        if not (isinstance(source.image_tag, str) and TAG.match(source.image_tag)):
            where = p.at(path, "image_tag")
            p.fail(where, f"{p.show(where, source.image_tag)} is not {NOT_A_TAG}")
    else:
        where = p.at(path, "build")
        context = source.build.context
        if not os.path.isdir(context):
            p.reject(join(where, "context"), context,
                     Invalid("is not a directory (paths are relative to the project directory)"))
        elif not os.path.isfile(os.path.join(context, source.build.dockerfile or "Dockerfile")):
            p.fail(join(where, "dockerfile"), f"no {p.show(where, source.build.dockerfile or 'Dockerfile')} in "
                                              f"{p.show(where, context)}")


_PLATFORMS = {"X86_64": docker_build.Platform.LINUX_AMD64, "ARM64": docker_build.Platform.LINUX_ARM64}


def _docker_pattern(pattern: str) -> re.Pattern:
    """A .dockerignore pattern as a regex: `*` and `?` stay within one path segment, `**`
    spans any number of them (Go's filepath.Match plus Docker's `**`)."""
    regex, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif pattern[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif pattern[index] == "?":
            regex, index = regex + "[^/]", index + 1
        else:
            regex, index = regex + re.escape(pattern[index]), index + 1
    return re.compile(regex + r"\Z")


def _dockerignore(root: Path) -> Callable[[str], bool]:
    """Whether `.dockerignore` keeps a context path out of the build (last matching line wins,
    `!` re-includes, a pattern also covers everything below a matching directory)."""
    ignore_file = root / ".dockerignore"
    lines = ignore_file.read_text().splitlines() if ignore_file.is_file() else []
    rules = [(line.startswith("!"), _docker_pattern(line.lstrip("!").strip().strip("/")))
             for line in (raw.strip() for raw in lines) if line and not line.startswith("#")]

    def ignored(relative: str) -> bool:
        parts = relative.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        verdict = ".git" in parts
        for include, pattern in rules:
            if any(pattern.match(prefix) for prefix in prefixes):
                verdict = not include
        return verdict

    return ignored


def build_digest(build: DockerBuild, architecture: str) -> str:
    """A hash of everything that shapes the image: the context files Docker would send (not
    those `.dockerignore` excludes), Dockerfile, target, args, platform. Every different build gets its own tag, which keeps builds working with immutable
    tags and keeps each build tagged (out of reach of the untagged-image expiry rule).
    """
    digest = hashlib.sha256()
    dockerfile = Path(build.context, build.dockerfile or "Dockerfile")
    digest.update(json.dumps({"target": build.target, "args": dict(build.args), "platform": architecture,
                              "dockerfile": dockerfile.read_text()}, sort_keys=True).encode())
    root = Path(build.context)
    ignored = _dockerignore(root)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if ignored(relative):
            continue  # Docker never sends it: a stray __pycache__ must not make a new image tag
        digest.update(relative.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def container_image(name: str, source: ImageSource, repository_url: pulumi.Input[str],
                    registry_id: pulumi.Input[str], architecture: str,
                    parent: pulumi.Resource) -> pulumi.Output[str]:
    """The image reference for a task definition; builds and pushes when the source is a build."""
    if source.image:
        return pulumi.Output.from_input(source.image)
    if source.image_tag:
        return pulumi.Output.concat(repository_url, ":", source.image_tag)
    build = source.build
    token = aws.ecr.get_authorization_token_output(
        registry_id=registry_id, opts=pulumi.InvokeOutputOptions(parent=parent))
    tag = f"{name}-{build_digest(build, architecture)[:16]}"
    image = docker_build.Image(
        f"{name}-image",
        context=docker_build.BuildContextArgs(location=build.context),
        dockerfile=docker_build.DockerfileArgs(
            location=os.path.join(build.context, build.dockerfile or "Dockerfile")),
        target=build.target,
        build_args=dict(build.args) or None,
        platforms=[_PLATFORMS[architecture]],
        push=True,
        tags=[pulumi.Output.concat(repository_url, ":", tag)],
        registries=[docker_build.RegistryArgs(
            address=repository_url, username=token.user_name, password=token.password)],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    # By digest: ECS pulls exactly the bytes that were built, whatever happens to the tag later.
    return pulumi.Output.concat(repository_url, "@", image.digest)
