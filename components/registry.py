"""Registry: the stack's private ECR repository, with scanning, lifecycle and safe deletion."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._aws import TOKEN_PREFIX, aws_context


@dataclass
class RegistryArgs:
    name: str
    """Repository name, unique in the account and region (e.g. PROJECT-STACK)."""
    scan_on_push: bool = True
    """Scan every pushed image for CVEs."""
    immutable_tags: bool = False
    """Refuse to overwrite a pushed tag (on by default in prod)."""
    untagged_expiry_days: int = 14
    """Expire untagged images this many days after push."""
    keep_images: int = 50
    """Keep at most this many images; older ones expire."""
    kms_key_arn: str | None = None
    """Encrypt with this KMS key; AES-256 otherwise."""
    protect: bool = False
    """Protect the repository from `pulumi destroy` and never force-delete its images (prod)."""


def lifecycle_policy(untagged_expiry_days: int, keep_images: int) -> str:
    """The lifecycle policy JSON: untagged images first, then a cap on all images.

    ECR evaluates rules by priority and a `tagStatus: any` rule must come last.
    """
    return json.dumps({"rules": [
        {
            "rulePriority": 1,
            "description": f"Expire untagged images after {untagged_expiry_days} days",
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                          "countUnit": "days", "countNumber": untagged_expiry_days},
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"Keep the last {keep_images} images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                          "countNumber": keep_images},
            "action": {"type": "expire"},
        },
    ]}, sort_keys=True)


class Registry(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    """`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`: push here, and reference images from here.

    Built from the account, region and the fixed name, so it is known even in the first preview
    and policies can check image tags before anything exists. Pushes still wait for the
    repository: they log in with `registry_id`, which only the created repository has.
    """
    repository_name: pulumi.Output[str]
    registry_id: pulumi.Output[str]
    """The account id of the registry (for `aws ecr get-login-password`)."""

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{TOKEN_PREFIX}Registry", name, None, opts)
        encryption = (
            aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=args.kms_key_arn)
            if args.kms_key_arn
            else aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
        )
        repository = aws.ecr.Repository(
            f"{name}-repo",
            name=args.name,
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=args.scan_on_push),
            image_tag_mutability="IMMUTABLE" if args.immutable_tags else "MUTABLE",
            encryption_configurations=[encryption],
            force_delete=not args.protect,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=lifecycle_policy(args.untagged_expiry_days, args.keep_images),
            opts=pulumi.ResourceOptions(parent=self),
        )
        ctx = aws_context(self)
        self.repository_url = pulumi.Output.concat(
            ctx.account_id, ".dkr.ecr.", ctx.region, ".", ctx.dns_suffix, "/", args.name)
        self.repository_name = repository.name
        self.registry_id = repository.registry_id
        self.register_outputs({
            "repositoryUrl": self.repository_url,
            "repositoryName": self.repository_name,
            "registryId": self.registry_id,
        })
