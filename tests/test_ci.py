"""The CI workflow and the Makefile agree with what exists: no command points at nothing."""

from __future__ import annotations

import re

import yaml

from conftest import ROOT

WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "pulumi.yml").read_text())
MAKE_TARGETS = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def steps(job: str) -> list[dict]:
    return WORKFLOW["jobs"][job]["steps"]


def test_ci_runs_the_readme_test_command_and_make_targets_exist():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()
    commands = " ".join(s.get("run", "") for job in WORKFLOW["jobs"] for s in steps(job))
    assert ".ci/run" in commands
    for target in re.findall(r"make ([a-z-]+)", commands):
        assert target in MAKE_TARGETS, f"workflow runs `make {target}`, which the Makefile lacks"


def test_previews_run_the_pack_at_the_stacks_environment_levels():
    [action] = [s for s in steps("preview") if s.get("uses", "").startswith("pulumi/actions@")]
    assert action["with"]["command"] == "preview" and action["with"]["comment-on-pr"] is True
    assert action["with"]["policyPacks"] == "policies"
    assert action["with"]["policyPackConfigs"] == "${{ steps.policy.outputs.config }}"
    assert WORKFLOW["jobs"]["preview"]["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    for stack in ("dev", "prod"):
        assert (ROOT / f"Pulumi.{stack}.yaml").is_file()
    [deploy] = [s for s in steps("deploy-dev") if s.get("uses", "").startswith("pulumi/actions@")]
    assert (ROOT / deploy["with"]["policyPackConfigs"]).is_file()


def test_deploy_targets_explain_a_missing_pulumi_cli(tmp_path):
    """`make up` on a machine without the CLI: a clear message and status 127, not a make error."""
    import shutil
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "sh"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    result = subprocess.run(["make", "-s", "pulumi-cli"], cwd=ROOT, capture_output=True, text=True,
                            env={"PATH": str(bin_dir)}, timeout=60)
    assert result.returncode != 0
    assert "The Pulumi CLI is not installed" in result.stdout + result.stderr
    assert "pulumi login --local" in result.stdout + result.stderr


def test_every_shipped_stack_is_judged_offline_in_ci():
    from conftest import SHIPPED_STACKS

    [step] = [s for s in steps("test") if "make preflight" in s.get("run", "")]
    judged = re.findall(r"make preflight STACK=([a-z0-9-]+)", step["run"])
    assert sorted(judged) == sorted(SHIPPED_STACKS)
