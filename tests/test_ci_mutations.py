"""Break the pipeline on purpose, one way at a time: each breakage must fail a check.

A mutation is a text edit of one file of a copy of the repository's CI files. The verdict is
what `make test` runs on the workflows: the contract (workflow_checks.problems), zizmor and
GitHub's workflow schema. `python -m pytest tests/test_ci_mutations.py -q -rA` lists them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import workflow_checks
from testkit import ROOT
from test_ci import tool

PR, MAIN, DEPLOY, DRIFT = (f".github/workflows/{name}.yml" for name in ("pull-request", "main", "deploy-stack",
                                                                          "drift"))
UP = ("          command: up\n          stack-name: ${{ inputs.stack }}\n          pulumi-version: 3.272.0\n"
      "          cloud-url: ${{ vars.PULUMI_BACKEND_URL }}\n")
CHECKOUT_PIN = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"

# (id, file, text to replace, replacement). Each must apply to today's files.
MUTATIONS = [
    # The five the pipeline issue names.
    ("deploy without the policy pack", DEPLOY, UP + "          policyPacks: policies\n", UP),
    ("misspelled stack-name", DEPLOY, UP, UP.replace("stack-name", "stack_name")),
    ("deploy job without id-token", DEPLOY, "      id-token: write # OIDC: this environment's deploy role and Pulumi Cloud token\n", ""),
    ("pull_request_target with the PR head checked out", PR, "on:\n  pull_request:\n",
     "on:\n  pull_request_target:\n"),
    ("the PR head checked out (with pull_request_target, the pwn request)", PR,
     "          persist-credentials: false\n          # `preflight diff`",
     "          persist-credentials: false\n          ref: ${{ github.event.pull_request.head.sha }}\n          # `preflight diff`"),
    ("deploy turned into preview", DEPLOY, "          command: up\n", "          command: preview\n"),
    ("deploy without the preview gate", DEPLOY, "          command: preview\n", "          command: refresh\n"),
    ("preview gate without the policy pack", DEPLOY, "          policyPacks: policies\n          policyPackConfigs: ${{ steps.stack.outputs.policy-config }}\n          config-map: ${{ steps.stack.outputs.config-map }}\n          diff: true",
     "          config-map: ${{ steps.stack.outputs.config-map }}\n          diff: true"),
    # Pins and inputs.
    ("action pinned to a tag", PR, CHECKOUT_PIN, "actions/checkout@v7"),
    ("version comment not the pinned one", MAIN, CHECKOUT_PIN, CHECKOUT_PIN.replace("v7.0.1", "v7.0.0")),
    ("input the pinned action lacks", DEPLOY, "          policyPackConfigs:", "          policyPackConfig:"),
    ("Pulumi CLI unpinned", DEPLOY, "          pulumi-version: 3.272.0\n", ""),
    ("Pulumi CLI not the SDK's version", PR, "          pulumi-version: 3.272.0\n          cloud-url: ${{ vars.PULUMI_BACKEND_URL }}\n          diff: true",
     "          pulumi-version: 3.200.0\n          cloud-url: ${{ vars.PULUMI_BACKEND_URL }}\n          diff: true"),
    # Hygiene.
    ("checkout keeps credentials", MAIN, "          persist-credentials: false", "          persist-credentials: true"),
    ("no timeout", PR, "    timeout-minutes: 30\n    permissions:\n      contents: read\n    outputs:",
     "    permissions:\n      contents: read\n    outputs:"),
    ("write-all at the top", DRIFT, "permissions: {}", "permissions: write-all"),
    ("preview may push code", PR, "      contents: read\n      id-token: write # OIDC: the read-only",
     "      contents: write\n      id-token: write # OIDC: the read-only"),
    ("no pip cache on pull requests", PR, "          cache: pip\n", ""),
    ("no pip cache in deploys", DEPLOY, "          cache: pip\n", ""),
    ("secret in a pull-request job", PR, "          GH_TOKEN: ${{ github.token }}", "          GH_TOKEN: ${{ secrets.ADMIN_TOKEN }}"),
    ("untrusted PR title in a shell", PR, "      - name: Why a fork gets no cloud preview\n",
     "      - run: echo \"${{ github.event.pull_request.title }}\"\n      - name: Why a fork gets no cloud preview\n"),
    # Pull requests.
    ("forks sent to the cloud preview", PR, "    if: github.event.pull_request.head.repo.full_name == github.repository\n    needs: checks",
     "    needs: checks"),
    ("preview with the deploy role", PR, "vars.AWS_PREVIEW_ROLE_ARN", "vars.AWS_DEPLOY_ROLE_ARN"),
    ("preview matrix not every stack", PR, "stack: ${{ fromJSON(needs.checks.outputs.stacks) }}", "stack: [dev, prod]"),
    ("no PR comment", PR, "          comment-on-pr: true\n", ""),
    ("failed preview leaves the old comment", PR, "        if: failure()\n        env:\n          GH_TOKEN", "        env:\n          GH_TOKEN"),
    ("offline reports not in the summary", PR, '--summary "$GITHUB_STEP_SUMMARY"', ""),
    ("policy config fixed to dev", PR, "policyPackConfigs: ${{ steps.policy.outputs.config }}", "policyPackConfigs: policies/config/dev.json"),
    # Main.
    ("deploys from every branch", MAIN, "    branches: [main]", "    branches: ['**']"),
    ("prod gets another image", MAIN, "      stack: prod\n      image: ${{ needs.release.outputs.image }}",
     "      stack: prod\n      image: ${{ vars.PROD_IMAGE }}"),
    ("prod does not wait for dev", MAIN, "    needs: [release, deploy-dev, deploy-staging]", "    needs: [release]"),
    ("prod deploys after a failed dev", MAIN, "!cancelled() && needs.deploy-dev.result == 'success'", "always()"),
    ("image built but not pushed", MAIN, '--tag "$REPOSITORY:$TAG-$arch" --push', '--tag "$REPOSITORY:$TAG-$arch"'),
    ("index not tagged with the git SHA", MAIN, '--tag "$REPOSITORY:$GITHUB_SHA"', ""),
    ("deploys cancel each other", DEPLOY, "      cancel-in-progress: false", "      cancel-in-progress: true"),
    ("one concurrency group for every stack", DEPLOY, "      group: deploy-${{ inputs.stack }}", "      group: deploy"),
    ("no GitHub environment", DEPLOY, "    environment:\n      name: ${{ inputs.stack }}\n      url: ${{ steps.up.outputs.url }}\n", ""),
    ("a rollback goes unnoticed", DEPLOY, "        run: .venv/bin/python .ci/pipeline.py verify-rollout", "        run: echo skipped verify-rollout"),
    ("release image not passed to the stack", DEPLOY, "          config-map: ${{ steps.stack.outputs.config-map }}\n", ""),
    ("deploy with the preview role", DEPLOY, "vars.AWS_DEPLOY_ROLE_ARN", "vars.AWS_PREVIEW_ROLE_ARN"),
    # What an adversarial review found passing the first version of the checks.
    ("deploys of one stack run at once", DEPLOY, "      group: deploy-${{ inputs.stack }}", "      group: deploy-${{ inputs.stack }}-${{ github.run_id }}"),
    ("rollback check reads a missing output", DEPLOY, "SERVICES: ${{ steps.up.outputs.services }}", "SERVICES: ${{ steps.up.outputs.service }}"),
    ("release output from a step that never writes it", MAIN, "      image: ${{ steps.image.outputs.image }}", "      image: ${{ steps.build.outputs.image }}"),
    ("attestations in the per-arch images", MAIN, " --provenance=false --sbom=false", ""),
    ("prod waits on staging's implicit success", MAIN, "      !cancelled() && needs.deploy-dev.result == 'success'", "      needs.deploy-dev.result == 'success'"),
    ("prod after a cancelled staging", MAIN, "contains(fromJSON('[\"success\", \"skipped\"]'), needs.deploy-staging.result)", "needs.deploy-staging.result != 'failure'"),
    ("credentials shorter than the deploy", DEPLOY, "          role-duration-seconds: 7200\n", ""),
    ("Pulumi token shorter than the deploy", DEPLOY, "          token-expiration: 7200\n", ""),
    ("one step logs in to Pulumi Cloud on an S3 backend", DRIFT, "          cloud-url: ${{ vars.PULUMI_BACKEND_URL }}\n          config-map", "          config-map"),
    ("drift previewed against the stack file's image", DRIFT, "          config-map: ${{ steps.config.outputs.config-map }}\n", ""),
    ("previews only when a PR is opened", PR, "on:\n  pull_request:\n", "on:\n  pull_request:\n    types: [opened]\n"),
    ("no history for the offline diff", PR, "          fetch-depth: 0\n", ""),
    ("no QEMU for the arm64 build", MAIN, "          platforms: arm64\n", "          platforms: riscv64\n"),
    ("a failing up that passes", DEPLOY, "      - id: up\n        if:", "      - id: up\n        continue-on-error: true\n        if:"),
    ("an output written from a command that may fail", DEPLOY, '          echo "policy-config=$policy" >> "$GITHUB_OUTPUT"', '          echo "policy-config=$(.venv/bin/python -m preflight --print-policy-config)" >> "$GITHUB_OUTPUT"'),
    ("a deploy without the release image", DEPLOY, ' --release-image "$IMAGE" --require)', ' --release-image "$IMAGE")'),
    ("older commits deploy over newer ones", DEPLOY, "      - id: up\n        if: steps.order.outputs.deploy == 'true'\n", "      - id: up\n"),
    ("reuse not keyed on the base images", MAIN, "tag=$(python3 .ci/pipeline.py release-tag --context app)", "tag=app-$(git rev-parse HEAD:app)"),
    ("the always-reporting check dropped", PR, "    if: always()\n    needs: [checks, preview]", "    needs: [checks, preview]"),
    ("stack names resolved in a personal account", PR, "      PULUMI_DEFAULT_ORGANIZATION: ${{ vars.PULUMI_ORG }}\n", ""),
    ("release output by tag, not digest", MAIN, 'echo "image=$REPOSITORY@$DIGEST"', 'echo "image=$REPOSITORY:$GITHUB_SHA"'),
    ("policy config that falls back to dev's", DEPLOY, '--print-policy-config)\n', '--print-policy-config 2>/dev/null || echo policies/config/dev.json)\n'),
    # Drift.
    ("drift check accepts changes", DRIFT, "          expect-no-changes: true", "          expect-no-changes: false"),
    ("drift check without refresh", DRIFT, "          refresh: true\n", ""),
    ("drift check never scheduled", DRIFT, "  schedule:\n    - cron: \"17 4 * * *\"\n", ""),
    ("drift not reported", DRIFT, "pipeline.py drift-report", "pipeline.py drift-reprot"),
    # Commands that exist.
    ("make target that does not exist", PR, "        run: make setup", "        run: make setpu"),
    ("timeout not a number (schema)", DRIFT, "    timeout-minutes: 5", "    timeout-minutes: five"),
]


def verdict(root: Path) -> list[str]:
    """What `make test` would report on these workflows (cheapest check first)."""
    found = workflow_checks.problems(root)
    if found:
        return found
    zizmor = subprocess.run([tool("zizmor"), "--offline", "--no-progress", ".github/workflows"], cwd=root,
                            capture_output=True, text=True, timeout=120)
    if zizmor.returncode:
        return [zizmor.stdout]
    schema = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                             *map(str, sorted((root / ".github" / "workflows").glob("*.yml")))],
                            capture_output=True, text=True, timeout=120)
    return [schema.stdout] if schema.returncode else []


@pytest.fixture
def ci_copy(tmp_path) -> Path:
    for relative in (".github", ".ci"):
        shutil.copytree(ROOT / relative, tmp_path / relative)
    for relative in ("Makefile", "requirements.txt", "__main__.py"):
        shutil.copy(ROOT / relative, tmp_path / relative)
    return tmp_path


def test_the_unbroken_copy_passes(ci_copy):
    assert verdict(ci_copy) == []


@pytest.mark.parametrize("file, old, new", [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_each_breakage_fails_a_check(ci_copy, file, old, new):
    path = ci_copy / file
    text = path.read_text()
    assert old in text, "the mutation no longer applies: update it to today's workflow"
    path.write_text(text.replace(old, new, 1))
    assert verdict(ci_copy), "this breakage of the pipeline passes every check"


def test_the_guide_counts_the_breakages():
    assert f"{len(MUTATIONS)} deliberate breakages" in (ROOT / "docs" / "ci-cd.md").read_text()
