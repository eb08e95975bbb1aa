"""The bootstrap stack's config: every key read and checked at once, before anything registers.

A bad config fails with one message that lists every problem, each under the key to fix and
with what would be valid; nothing is created, and Pulumi prints a RunError without a traceback.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

OIDC_HOST = "token.actions.githubusercontent.com"
DEFAULTS: dict[str, Any] = {
    "githubRepository": None,
    "environments": ["dev", "staging", "prod"],
    "defaultBranch": "main",
    "rolePrefix": "ecs-fargate-ci",
    "stateBucket": None,
    "stateKmsKeyArn": None,
    "existingOidcProviderArn": None,
    "releaseRepositoryName": "ecs-fargate/app",
    "releaseRepositoryKmsKeyArn": None,
    "releasePullAccountIds": [],
    # deploy-stack.yml asks for 2 hours (role-duration-seconds): a traffic-shifting rollout that
    # pulumi up waits for can outlast 1 hour, and expired credentials would fail it half-way.
    "maxSessionDurationSeconds": 7200,
}
MIN_SESSION = 7200  # .github/workflows/deploy-stack.yml role-duration-seconds
ROLE_NAME_LIMIT = 64  # IAM CreateRole RoleName

# GitHub: an owner (user or organisation) is 1-39 letters, digits and single inner hyphens; a
# repository name 1-100 letters, digits, '.', '_' and '-'.
_OWNER = r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}"
_REPOSITORY = re.compile(rf"^(?P<owner>{_OWNER})/(?P<name>[A-Za-z0-9._-]{{1,100}})$")
# Role names may hold [\w+=,.@-]; environment names here are the part both GitHub and IAM take.
_ROLE_PREFIX = re.compile(r"^[A-Za-z0-9+=,.@_-]+$")
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9._-]+$")
_BRANCH_PART = re.compile(r"^[A-Za-z0-9._-]+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(?:mrk-)?[0-9a-f-]{32,36}$")
_OIDC_PROVIDER_ARN = re.compile(rf"^arn:aws[a-z-]*:iam::[0-9]{{12}}:oidc-provider/{re.escape(OIDC_HOST)}$")
# ECR CreateRepository repositoryName.
_ECR_NAME = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")


class BootstrapConfigError(pulumi.RunError):
    """A config the bootstrap cannot deploy; Pulumi prints a RunError without a traceback."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"Invalid bootstrap configuration ({count}); nothing was deployed:\n{lines}")


@dataclass(frozen=True)
class BootstrapConfig:
    github_repository: str
    environments: tuple[str, ...]
    default_branch: str
    role_prefix: str
    state_bucket: str | None
    state_kms_key_arn: str | None
    existing_oidc_provider_arn: str | None
    release_repository_name: str
    release_repository_kms_key_arn: str | None
    release_pull_account_ids: tuple[str, ...]
    max_session_duration_seconds: int

    def subject(self, claim: str) -> str:
        """A GitHub OIDC `sub` claim of this repository, in GitHub's default format."""
        return f"repo:{self.github_repository}:{claim}"

    @property
    def default_branch_subject(self) -> str:
        return self.subject(f"ref:refs/heads/{self.default_branch}")

    def role_name(self, purpose: str) -> str:
        return f"{self.role_prefix}-{purpose}"

    @property
    def role_purposes(self) -> list[str]:
        return ["preview", "release", *(f"deploy-{environment}" for environment in self.environments)]


def _branch_problem(branch: str) -> str | None:
    """Git's ref-name rules (git check-ref-format), for the characters a claim can carry."""
    parts = branch.split("/")
    if (not all(_BRANCH_PART.match(part) for part in parts) or ".." in branch
            or any(part.startswith(".") or part.endswith(".lock") for part in parts) or branch.endswith(".")):
        return ("is not a branch name: letters, digits, '.', '_', '-' in parts separated by single '/', "
                "no part starting with '.' or ending with '.lock', no '..' (and no wildcards: the trust "
                "policy matches the exact branch)")
    return None


def _bucket_problem(bucket: str) -> str | None:
    if bucket.startswith("s3://"):
        return "is a URL: give the bucket's name (the part after s3:// in `pulumi login s3://...`)"
    if "/" in bucket:
        return ("has a '/': the roles cover a backend at the bucket's root (pulumi login s3://BUCKET), "
                "give just the bucket's name")
    try:
        ipaddress.IPv4Address(bucket)
        is_ip = True
    except ValueError:
        is_ip = False
    if not _BUCKET.match(bucket) or ".." in bucket or is_ip:
        return ("is not an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-', starting and "
                "ending with a letter or digit")
    return None


def parse(raw: Mapping[str, Any]) -> BootstrapConfig:
    """Check every key of `raw` (config keys without the namespace, values decoded from JSON
    where they are lists or numbers) and return the config, or raise one error naming all problems."""
    problems: list[str] = []

    def fail(key: str, message: str) -> None:
        problems.append(f"{key}: {message}")

    for key in raw:
        if key not in DEFAULTS:
            hint = difflib.get_close_matches(key, DEFAULTS, n=1)
            fail(key, "is not a setting of the bootstrap" + (f"; did you mean '{hint[0]}'?" if hint else
                                                              f" (settings: {', '.join(DEFAULTS)})"))
    values = {key: raw.get(key, default) for key, default in DEFAULTS.items()}

    def text(key: str) -> str | None:
        value = values[key]
        if value is None or isinstance(value, str):
            return value or None
        fail(key, f"expected a string, got {type(value).__name__} {json.dumps(value)}")
        return None

    def strings(key: str, what: str) -> list[str]:
        value = values[key]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        fail(key, f"expected a list of {what}, as in `pulumi config set --path '{key}[0]' VALUE`")
        return []

    repository = text("githubRepository")
    if repository is None:
        fail("githubRepository", "required: the GitHub repository whose workflows assume the roles, as "
             "OWNER/REPO (pulumi config set githubRepository OWNER/REPO)")
    elif not _REPOSITORY.match(repository) or repository.split("/")[1] in (".", ".."):
        fail("githubRepository", f"'{repository}' is not OWNER/REPO: the owner is 1 to 39 letters, digits or "
             "single hyphens, not at either end; the repository 1 to 100 letters, digits, '.', '_' or '-'")

    prefix = text("rolePrefix") or ""
    if not _ROLE_PREFIX.match(prefix):
        fail("rolePrefix", f"'{prefix}' is not the start of an IAM role name: letters, digits and +=,.@_-")

    environments = strings("environments", "GitHub environment names")
    seen: dict[str, str] = {}
    for environment in environments:
        if not _ENVIRONMENT.match(environment):
            fail("environments", f"'{environment}' is not an environment name the roles can use: letters, "
                 "digits, '.', '_' and '-' (it becomes part of a role name and of the trust policy's subject)")
        elif environment.lower() in seen:
            fail("environments", f"'{environment}' and '{seen[environment.lower()]}' are one environment: "
                 "GitHub environment names and IAM role names ignore case")
        seen.setdefault(environment.lower(), environment)
    longest = max(["preview", "release", *(f"deploy-{e}" for e in environments)], key=len)
    if prefix and len(f"{prefix}-{longest}") > ROLE_NAME_LIMIT:
        fail("rolePrefix", f"'{prefix}' is too long for role names of at most {ROLE_NAME_LIMIT} characters "
             f"({prefix}-{longest} has {len(f'{prefix}-{longest}')}); shorten it or the environment names")

    branch = text("defaultBranch")
    if branch is None:
        fail("defaultBranch", "must not be empty")
    elif (problem := _branch_problem(branch)) is not None:
        fail("defaultBranch", f"'{branch}' {problem}")

    bucket = text("stateBucket")
    if bucket is not None and (problem := _bucket_problem(bucket)) is not None:
        fail("stateBucket", f"'{bucket}' {problem}")

    for key in ("stateKmsKeyArn", "releaseRepositoryKmsKeyArn"):
        arn = text(key)
        if arn is not None and not _KMS_KEY_ARN.match(arn):
            fail(key, f"'{arn}' is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID); an alias will "
                 "not do: IAM matches KMS actions against the key's own ARN")

    provider = text("existingOidcProviderArn")
    if provider is not None and not _OIDC_PROVIDER_ARN.match(provider):
        fail("existingOidcProviderArn", f"'{provider}' is not the ARN of GitHub's OIDC provider "
             f"(arn:aws:iam::ACCOUNT:oidc-provider/{OIDC_HOST})")

    repository_name = text("releaseRepositoryName") or ""
    if not (2 <= len(repository_name) <= 256 and _ECR_NAME.match(repository_name)):
        fail("releaseRepositoryName", f"'{repository_name}' is not an ECR repository name: 2 to 256 lowercase "
             "letters and digits, with single '.', '_' or '-' between them and '/' between parts")

    accounts = values["releasePullAccountIds"]
    if isinstance(accounts, list) and any(isinstance(account, int) for account in accounts):
        fail("releasePullAccountIds", "quote the account ids ('012345678901'): YAML reads an unquoted number "
             "as a number and drops its leading zeros")
        accounts = []
    else:
        accounts = strings("releasePullAccountIds", "12-digit AWS account ids")
    for account in accounts:
        if not _ACCOUNT_ID.match(account):
            fail("releasePullAccountIds", f"'{account}' is not a 12-digit AWS account id")

    duration = values["maxSessionDurationSeconds"]
    if isinstance(duration, bool) or not isinstance(duration, int) or not MIN_SESSION <= duration <= 43200:
        fail("maxSessionDurationSeconds", f"expected a whole number of seconds from {MIN_SESSION} (what "
             "deploy-stack.yml asks for, so a long rollout keeps its credentials) to 43200 (IAM's maximum)")

    if problems:
        raise BootstrapConfigError(problems)
    return BootstrapConfig(
        github_repository=repository, environments=tuple(environments), default_branch=branch,
        role_prefix=prefix, state_bucket=bucket, state_kms_key_arn=text("stateKmsKeyArn"),
        existing_oidc_provider_arn=provider, release_repository_name=repository_name,
        release_repository_kms_key_arn=text("releaseRepositoryKmsKeyArn"),
        release_pull_account_ids=tuple(accounts), max_session_duration_seconds=duration)


def _namespace_config(namespace: str) -> dict[str, Any]:
    """Every `NAMESPACE:*` key the engine passed; lists and numbers decoded (they arrive as JSON)."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{namespace}:"
    result: dict[str, Any] = {}
    for key in sorted(keys):
        if not key.startswith(prefix):
            continue
        short, value = key[len(prefix):], runtime_config.get_config(key)
        if isinstance(value, str) and not isinstance(DEFAULTS.get(short), str | None):
            try:
                value = json.loads(value)
            except ValueError:
                pass  # left as text; the key's check says what it expected
        result[short] = value
    return result


def load() -> BootstrapConfig:
    return parse(_namespace_config(pulumi.get_project()))
