"""ecs-fargate-bootstrap: the AWS identities the repository's GitHub Actions workflows assume.

Run once per AWS account by a human with admin credentials (see README.md). Creates GitHub's
OIDC provider (or uses the account's existing one), a read-only preview role, a release role
and repository, and one deploy role per GitHub environment; exports the GitHub variables to set.
"""

import json
import shlex

import pulumi
import pulumi_aws as aws

import ci_config
from ci_permissions import (
    Account, deploy_policies, github_trust_policy, preview_policy, release_policy, release_repository_policy,
    state_policy,
)

cfg = ci_config.load()

identity = aws.get_caller_identity_output()
partition = aws.get_partition_output().partition
region = aws.get_region_output().region
account = pulumi.Output.all(partition, identity.account_id).apply(lambda values: Account(*values))

tags = {"Project": "ecs-fargate", "Purpose": "github-actions-ci", "ManagedBy": "pulumi",
        "PulumiStack": f"{pulumi.get_project()}/{pulumi.get_stack()}", "GitHubRepository": cfg.github_repository}


def as_json(document: pulumi.Input[dict]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(document).apply(lambda value: json.dumps(value, indent=2))


# -- GitHub's OIDC provider: one per URL per account, so an existing one is reused ----------------
if cfg.existing_oidc_provider_arn:
    provider_arn = pulumi.Output.from_input(cfg.existing_oidc_provider_arn)
else:
    # No thumbprint: IAM verifies GitHub's certificate against its own trusted root CAs and
    # ignores thumbprints for GitHub (IAM API Reference, UpdateOpenIDConnectProviderThumbprint);
    # pulumi-aws 7 leaves thumbprint_lists optional.
    provider_arn = aws.iam.OpenIdConnectProvider(
        "github",
        url=f"https://{ci_config.OIDC_HOST}",
        client_id_lists=["sts.amazonaws.com"],
        tags=tags,
    ).arn


def github_role(purpose: str, subjects: list[str], description: str) -> aws.iam.Role:
    """A role only these GitHub OIDC subjects of the repository can assume."""
    return aws.iam.Role(
        purpose,
        name=cfg.role_name(purpose),
        description=description,
        assume_role_policy=as_json(provider_arn.apply(lambda arn: github_trust_policy(arn, subjects))),
        max_session_duration=cfg.max_session_duration_seconds,
        tags=tags,
    )


# -- the release repository ----------------------------------------------------------------------
repository = aws.ecr.Repository(
    "release",
    name=cfg.release_repository_name,
    image_tag_mutability="IMMUTABLE",
    image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
    encryption_configurations=[
        aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=cfg.release_repository_kms_key_arn)
        if cfg.release_repository_kms_key_arn else aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
    force_delete=False,  # images deployed to prod live here
    tags=tags,
    opts=pulumi.ResourceOptions(protect=True),
)
aws.ecr.LifecyclePolicy(
    "release-lifecycle",
    repository=repository.name,
    policy=json.dumps({"rules": [{
        "rulePriority": 1,
        "description": "Expire untagged images 14 days after push",
        "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
        "action": {"type": "expire"},
    }]}),
)
if cfg.release_pull_account_ids:
    aws.ecr.RepositoryPolicy(
        "release-pull",
        repository=repository.name,
        policy=as_json(partition.apply(lambda p: release_repository_policy(p, list(cfg.release_pull_account_ids)))),
    )

# -- roles -------------------------------------------------------------------------------------------
preview = github_role(
    "preview", [cfg.subject("pull_request"), cfg.default_branch_subject],
    f"Read-only: pull request previews and scheduled drift checks of {cfg.github_repository}")
aws.iam.RolePolicy("preview-read", role=preview.id, policy=json.dumps(preview_policy(), indent=2))
if cfg.state_bucket or cfg.state_kms_key_arn:
    aws.iam.RolePolicy("preview-state", role=preview.id, policy=as_json(partition.apply(
        lambda p: state_policy(p, cfg.state_bucket, cfg.state_kms_key_arn, write=False))))

release = github_role(
    "release", [cfg.default_branch_subject],
    f"Pushes the app image built from {cfg.default_branch} of {cfg.github_repository} to {cfg.release_repository_name}")
aws.iam.RolePolicy("release-push", role=release.id, policy=as_json(repository.arn.apply(release_policy)))

ci_role_arns = pulumi.Output.all(partition, identity.account_id).apply(
    lambda values: [f"arn:{values[0]}:iam::{values[1]}:role/{cfg.role_name(purpose)}" for purpose in cfg.role_purposes])
documents = pulumi.Output.all(account, ci_role_arns, repository.arn).apply(lambda values: deploy_policies(*values))
# Shared by the deploy roles; none without an environment (an account that only holds releases).
deploy_parts = {
    part: documents.apply(lambda parts, part=part: parts[part])
    for part in (("network", "services", "iam") if cfg.environments else ())}
if cfg.environments and (cfg.state_bucket or cfg.state_kms_key_arn):
    deploy_parts["state"] = partition.apply(
        lambda p: state_policy(p, cfg.state_bucket, cfg.state_kms_key_arn, write=True))
deploy_policy_arns = {
    part: aws.iam.Policy(
        f"deploy-{part}",
        name=cfg.role_name(f"deploy-{part}"),
        description=f"What deploying ecs-fargate needs ({part}); shared by the deploy roles",
        policy=as_json(document),
        tags=tags,
    ).arn
    for part, document in deploy_parts.items()
}

deploy_roles = {}
for environment in cfg.environments:
    role = github_role(
        f"deploy-{environment}", [cfg.subject(f"environment:{environment}")],
        f"Deploys ecs-fargate from jobs of {cfg.github_repository} in the GitHub environment {environment}")
    for part, policy_arn in deploy_policy_arns.items():
        aws.iam.RolePolicyAttachment(f"deploy-{environment}-{part}", role=role.name, policy_arn=policy_arn)
    deploy_roles[environment] = role

# -- what to tell GitHub -------------------------------------------------------------------------
repository_variables = {
    "AWS_PREVIEW_ROLE_ARN": preview.arn,
    "AWS_RELEASE_ROLE_ARN": release.arn,
    "AWS_REGION": region,
    "ECR_RELEASE_REPOSITORY": repository.repository_url,
}
environment_variables = {environment: {"AWS_DEPLOY_ROLE_ARN": role.arn} for environment, role in deploy_roles.items()}


def gh_commands(values: list) -> str:
    """`gh variable set` for each variable: repository variables, then each environment's."""
    repository_values, environment_values = values
    target = f"--repo {shlex.quote(cfg.github_repository)}"
    lines = [f"gh variable set {name} {target} --body {shlex.quote(value)}"
             for name, value in repository_values.items()]
    lines += [f"gh variable set {name} {target} --env {shlex.quote(environment)} --body {shlex.quote(value)}"
              for environment, variables in environment_values.items() for name, value in variables.items()]
    return "\n".join(lines)


pulumi.export("oidcProviderArn", provider_arn)
pulumi.export("previewRoleArn", preview.arn)
pulumi.export("releaseRoleArn", release.arn)
pulumi.export("deployRoleArns", {environment: role.arn for environment, role in deploy_roles.items()})
pulumi.export("releaseRepositoryUrl", repository.repository_url)
pulumi.export("githubVariables", {"repository": repository_variables, "environments": environment_variables})
pulumi.export("githubVariablesScript", pulumi.Output.all(repository_variables, environment_variables).apply(gh_commands))
