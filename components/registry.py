"""Registry: the stack's private ECR repository, with scanning, lifecycle and safe deletion."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._aws import TOKEN_PREFIX, aws_context
from components.validation import Invalid, Problems, check_fields, constrained, raise_problems

# ECR CreateRepository repositoryName: 2 to 256 characters, path components of lowercase letters and
# digits with single ._- between them.
_REPOSITORY_NAME = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")


def repository_name_error(value: str) -> Invalid | None:
    if not 2 <= len(value) <= 256 or not _REPOSITORY_NAME.match(value):
        return Invalid("is not an ECR repository name: 2 to 256 lowercase letters, digits and single ._- between "
                       "them, / between path components")
    return None


@dataclass(frozen=True)
class RegistryArgs:
    name: str = constrained(kind="string", check=repository_name_error)
    """Repository name, unique in the account and region."""
    scan_on_push: bool = constrained(True, kind="bool")
    """Scan every pushed image for CVEs."""
    immutable_tags: bool = constrained(False, kind="bool")
    """Refuse to overwrite a pushed tag (on by default in prod)."""
    untagged_expiry_days: int = constrained(14, kind="int", low=1, high=3650)
    """Expire untagged images this many days after push."""
    keep_images: int = constrained(50, kind="int", low=1, high=10000)
    """Keep at most this many images; older ones expire, tagged or not."""
    kms_key_arn: pulumi.Input[str] | None = constrained(None, kind="string", pattern=r"^arn:aws[a-z-]*:kms:", deploy_time=True,
                                          expected="a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)")
    """Encrypt with this KMS key; AES-256 otherwise."""
    protect: bool = constrained(False, kind="bool")
    """Protect the repository from `pulumi destroy` and never force-delete its images (prod)."""


def check_registry(p: Problems, args: RegistryArgs, path: str) -> None:
    """Everything AWS would refuse in a registry (each field on its own: there is no check across them)."""
    check_fields(p, args, path)


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
        problems = Problems()
        check_registry(problems, args, "")
        raise_problems(f"Registry {name}", problems)
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
