"""The delivery pipeline as GitHub, zizmor and the pinned actions read it (tests/workflow_checks.py
holds the contract; test_ci_mutations.py breaks it on purpose)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

import workflow_checks
from testkit import ROOT, SHIPPED_STACKS

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A checker installed with the test dependencies (requirements-dev.txt)."""
    path = BIN / name
    assert path.exists(), f"{name} is not installed in {BIN}; run make setup"
    return str(path)


def test_workflows_meet_the_pipeline_contract():
    assert workflow_checks.problems(ROOT) == []


def test_zizmor_finds_nothing_offline():
    result = subprocess.run([tool("zizmor"), "--offline", "--no-progress", ".github/workflows"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_relaxes_only_rules_it_explains():
    config = (ROOT / ".github" / "zizmor.yml").read_text()
    rules = yaml.safe_load(config)["rules"]
    for rule in rules:
        block = config[config.index(f"  {rule}:"):]
        assert block.splitlines()[1].strip().startswith("#"), f"{rule} is relaxed without a reason"


def test_workflows_validate_against_githubs_workflow_schema():
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                             *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_on_stays_a_key_when_workflows_are_read():
    """PyYAML's default resolver reads `on:` as True; the checks would never see the triggers."""
    assert True in yaml.safe_load((ROOT / ".github/workflows/drift.yml").read_text())
    flow = workflow_checks.load(ROOT / ".github/workflows/drift.yml")
    assert "on" in flow and True not in flow
    assert set(flow["on"]) == {"schedule", "workflow_dispatch"}


def test_every_pinned_action_has_its_action_yml_beside_the_pin():
    pins = json.loads((ROOT / ".github" / "pinned-actions.json").read_text())
    used = {workflow_checks.action(step) for *_, step in workflow_checks.all_steps(workflow_checks.workflows(ROOT))}
    assert used - {""} == set(pins), "pinned-actions.json lists exactly the actions the workflows use"
    for name, pin in pins.items():
        declared = workflow_checks.load(ROOT / ".github" / pin["action_yml"])
        assert "runs" in declared and isinstance(declared.get("inputs", {}), dict), name
        assert len(pin["sha"]) == 40 and pin["version"].startswith("v"), name


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()


def test_every_shipped_stack_is_judged_and_previewed():
    """The PR report, the preview matrix, the drift matrix: all from `pipeline.py stacks`."""
    listed = subprocess.run([sys.executable, ".ci/pipeline.py", "stacks"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    assert json.loads(listed) == list(SHIPPED_STACKS)


def test_deploy_targets_explain_a_missing_pulumi_cli(tmp_path):
    """`make up` on a machine without the CLI: a clear message and status 127, not a make error."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("make", "sh"):
        (bin_dir / name).symlink_to(shutil.which(name))
    result = subprocess.run(["make", "-s", "pulumi-cli"], cwd=ROOT, capture_output=True, text=True,
                            env={"PATH": str(bin_dir)}, timeout=60)
    assert result.returncode != 0
    assert "The Pulumi CLI is not installed" in result.stdout + result.stderr
    assert "pulumi login --local" in result.stdout + result.stderr



def test_credentials_the_workflows_ask_for_fit_the_roles_bootstrap_creates():
    """AssumeRoleWithWebIdentity refuses a duration above the role's maximum session."""
    from bootstrap.ci_config import DEFAULTS, MIN_SESSION

    for file, job_id, _, step in workflow_checks.all_steps(workflow_checks.workflows(ROOT)):
        if workflow_checks.action(step) == workflow_checks.AWS_CREDENTIALS:
            asked = int(step["with"].get("role-duration-seconds", 3600))  # the action's default
            assert asked <= MIN_SESSION <= DEFAULTS["maxSessionDurationSeconds"], f"{file} {job_id}"


def test_every_variable_the_workflows_read_is_exported_by_bootstrap_or_documented():
    used = set()
    for path in WORKFLOWS:
        used |= set(re.findall(r"vars\.([A-Z0-9_]+)", path.read_text()))
    source = (ROOT / "bootstrap" / "__main__.py").read_text()
    exported = set(re.findall(r'"([A-Z][A-Z0-9_]+)": ', source))
    assert {"AWS_PREVIEW_ROLE_ARN", "AWS_RELEASE_ROLE_ARN", "AWS_DEPLOY_ROLE_ARN", "ECR_RELEASE_REPOSITORY"} <= exported
    guide = (ROOT / "docs" / "ci-cd.md").read_text()
    for name in sorted(used):
        assert name in exported or f"`{name}" in guide, f"vars.{name}: nobody says how to set it"
    assert exported <= used, f"bootstrap exports variables no workflow reads: {sorted(exported - used)}"
