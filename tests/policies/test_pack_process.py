"""The pack as `pulumi preview/up --policy-pack policies` runs it: a process from policies/venv.

What the CLI does, in pulumi/pulumi:
- pkg/resource/plugin/analyzer_plugin.go (NewPolicyAnalyzer) loads PulumiPolicy.yaml; with the
  `python` language plugin present it launches the pack through the language host (RunPlugin)
  with the engine's address as the only argument, root and program directory both the pack.
- sdk/python/cmd/pulumi-language-python/main.go (RunPlugin, parseOptions) and
  sdk/python/toolchain/pip.go (resolveVirtualEnvironmentPath, Command): the interpreter is
  `<pack>/<runtime.options.virtualenv>/bin/python`, run as `python -u -m pulumi.policy ENGINE
  PACK_DIR` in the pack directory, with the virtualenv activated in the environment
  (toolchain.go ActivateVirtualEnv) and PULUMI_ORGANIZATION/PROJECT/STACK/DRY_RUN/CONFIG from the
  engine's ConfigureStack. Nothing on that path creates or fills the virtualenv.
- sdk/policy_proxy.go: the language host reads the port the pack prints, forwards the engine's
  ConfigureStack to it, then relays GetAnalyzerInfo, GetPluginInfo, Configure and Analyze.

`pulumi.policy` parses the engine address but never dials it (pulumi_policy logs through
pulumi.log, which writes to stderr when no engine is configured), so no engine is served here.
The existing tests/policies/test_policy_pack.py starts the pack with .venv's interpreter; this
module checks the virtualenv `make setup` builds from policies/requirements.txt, and the Makefile
targets that hand the pack to the CLI.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from policy_testkit import (
    TASK_DEFINITION,
    RemoteServicer,
    activated_environment,
    configure,
    container,
    environment_config,
    pack_process,
    reconcile_config,
    task_definition,
    urn_for,
)
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from ecs_fargate_rules import ALL_POLICIES, PACK_NAME
from policy_evaluation import UNKNOWN
from preflight.policy_engine import LoadedPack
from preflight.render import encode_config
from preflight.stack_config import load_stack_config

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "policies"
PACK_PROJECT = yaml.load((PACK_DIR / "PulumiPolicy.yaml").read_text(), Loader=yaml.BaseLoader)
PACK_VENV = PACK_DIR / PACK_PROJECT["runtime"]["options"]["virtualenv"]
STACK = "prod"
TIMEOUT = 30


def _pins() -> dict[str, str]:
    """policies/requirements.txt as {name: version}."""
    lines = (line.split("#")[0].strip() for line in (PACK_DIR / "requirements.txt").read_text().splitlines())
    return {name.strip().lower(): version.strip()
            for name, _, version in (line.partition("==") for line in lines if line)}


def _pack_python() -> Path:
    python = PACK_VENV / "bin" / "python"
    if not python.is_file():
        pytest.fail(f"{python} does not exist: the Pulumi CLI runs the pack from the virtualenv "
                    f"PulumiPolicy.yaml names, and `make setup` (run by `make test`) creates it from "
                    f"policies/requirements.txt", pytrace=False)
    return python


def _stack_config() -> dict[str, str]:
    """Stack config as the engine sends it: every value a string, objects as JSON."""
    return encode_config(load_stack_config(ROOT, STACK).config)


@pytest.fixture(scope="module")
def analyzer():
    _pack_python()
    config = _stack_config()
    env = activated_environment(dict(os.environ), PACK_VENV)
    env.update(PULUMI_ORGANIZATION="organization", PULUMI_PROJECT="ecs-fargate", PULUMI_STACK=STACK,
               PULUMI_DRY_RUN="true", PULUMI_CONFIG=json.dumps(config))
    with pack_process(PACK_VENV, PACK_DIR, env, TIMEOUT) as port, \
            grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        stub.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=STACK, project="ecs-fargate", organization="organization", dry_run=True, config=config),
            timeout=TIMEOUT)
        yield stub


@pytest.fixture(scope="module")
def info(analyzer) -> analyzer_pb2.AnalyzerInfo:
    return analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=TIMEOUT)


@pytest.fixture(scope="module")
def configured(analyzer, info):
    pack = LoadedPack(name=info.name, servicer=RemoteServicer(analyzer, TIMEOUT), info=info)
    configure(pack, reconcile_config(pack, environment_config(STACK)))
    return analyzer


def _analyze(stub, props: dict, name: str) -> list[analyzer_pb2.AnalyzeDiagnostic]:
    properties = struct_pb2.Struct()
    properties.update(props)
    urn = urn_for(TASK_DEFINITION, name, stack=STACK)
    response = stub.Analyze(analyzer_pb2.AnalyzeRequest(
        type=TASK_DEFINITION, name=name, urn=urn, properties=properties), timeout=TIMEOUT)
    return list(response.diagnostics)


def test_the_venv_holds_exactly_the_pinned_requirements():
    pins = _pins()
    script = ("import json, sys; from importlib.metadata import version; "
              "print(json.dumps({name: version(name) for name in sys.argv[1:]}))")
    result = subprocess.run([str(_pack_python()), "-c", script, *pins], cwd=PACK_DIR,
                            env=activated_environment(dict(os.environ), PACK_VENV), capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 0, f"{PACK_VENV} lacks a requirement; run `make setup`: {result.stderr}"
    assert json.loads(result.stdout) == pins, "policies/requirements.txt changed; run `make setup`"


def test_analyzer_info_names_the_pack_its_policies_and_pulumipolicy_yaml_version(info):
    assert info.name == PACK_NAME == "ecs-fargate"
    assert [p.name for p in info.policies] == [p.name for p in ALL_POLICIES]
    assert info.version == PACK_PROJECT["version"], "the CLI shows PulumiPolicy.yaml's version"
    assert info.supportsConfig


def test_plugin_info_is_the_sdk_version(analyzer):
    plugin = analyzer.GetPluginInfo(empty_pb2.Empty(), timeout=TIMEOUT)
    assert plugin.version == _pins()["pulumi-policy"]


def test_a_privileged_container_is_a_mandatory_violation_at_the_prod_levels(configured):
    props = task_definition(containers=[container(privileged=True)])
    found = [d for d in _analyze(configured, props, "privileged") if d.policyName == "ecs-taskdef-no-privileged"]
    assert len(found) == 1, found
    assert found[0].enforcementLevel == analyzer_pb2.MANDATORY
    assert (found[0].policyPackName, found[0].policyPackVersion) == (PACK_NAME, PACK_PROJECT["version"])


def test_a_compliant_task_definition_gets_no_diagnostics(configured):
    assert _analyze(configured, task_definition(), "compliant") == []


def test_a_rule_that_cannot_run_in_a_preview_names_the_pack_at_its_version(configured):
    diagnostics = _analyze(configured, task_definition(containerDefinitions=UNKNOWN), "unknown")
    skipped = [d for d in diagnostics if d.policyName == "ecs-taskdef-no-privileged"]
    assert len(skipped) == 1, diagnostics
    assert skipped[0].message.startswith(
        f"can't run policy 'ecs-taskdef-no-privileged' from policy pack "
        f"'{PACK_NAME}@v{PACK_PROJECT['version']}' during preview: ")


# -- The Makefile hands the pack to the CLI ----------------------------------------------------

def _make_dry_run(*args: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    result = subprocess.run(["make", "--no-print-directory", "-n", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def _value(command: list[str], flag: str) -> str:
    assert command.count(flag) == 1, f"{flag} once in {command}"
    return command[command.index(flag) + 1]


@pytest.mark.parametrize("target", ["up", "preview"])
def test_deploy_targets_pass_the_pack_and_the_stacks_environment_config(target):
    [command] = [shlex.split(line) for line in _make_dry_run(target, f"STACK={STACK}")
                 if line.startswith(f"pulumi {target} ")]
    assert _value(command, "--stack") == STACK
    assert (ROOT / _value(command, "--policy-pack")).resolve() == PACK_DIR, command
    config = ROOT / _value(command, "--policy-pack-config")
    assert config.resolve() == PACK_DIR / "config" / "prod.json", command
    assert config.is_file()


def test_setup_builds_the_virtualenv_pulumipolicy_yaml_names_from_the_packs_requirements():
    # -W: as if policies/requirements.txt had just changed.
    lines = _make_dry_run("-W", "policies/requirements.txt", "setup")
    venv = PACK_VENV.relative_to(ROOT)
    assert any(line.endswith(f"-m venv --clear {venv}") for line in lines), lines
    assert any(line.startswith(f"{venv}/bin/pip install ") and line.endswith("-r policies/requirements.txt")
               for line in lines), lines
