"""Where a task's image comes from: a full reference, a tag in our ECR repository, or a build."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from settings import BuildSettings, ImageSource

_PLATFORMS = {"X86_64": docker_build.Platform.LINUX_AMD64, "ARM64": docker_build.Platform.LINUX_ARM64}


def build_digest(build: BuildSettings, architecture: str) -> str:
    """A hash of everything that shapes the image: context files, Dockerfile, target, args,
    platform. Every different build gets its own tag, which keeps builds working with immutable
    tags and keeps each build tagged (out of reach of the untagged-image expiry rule).
    """
    digest = hashlib.sha256()
    dockerfile = Path(build.context, build.dockerfile or "Dockerfile")
    digest.update(json.dumps({"target": build.target, "args": dict(build.args), "platform": architecture,
                              "dockerfile": dockerfile.read_text()}, sort_keys=True).encode())
    root = Path(build.context)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode())
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
