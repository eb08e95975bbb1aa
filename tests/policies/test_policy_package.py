"""The rules as a library: `pip install ./policies`, `build_pack(...)`, and another team's pack.

The fast tests check the package's sources and the `build_pack` API in .venv. The rest install
`./policies` into a fresh virtualenv (once per session, ~10 s with pip's cache) and use it the
way another team would: every module imports there without anything of this repository on the
path, and the pack in tests/fixtures/team-policy-pack - our rules at its own levels next to a
rule of its own - starts as the Pulumi CLI starts a pack and answers over gRPC.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from packaging.requirements import Requirement
from policy_testkit import (
    ECS_SERVICE,
    TASK_DEFINITION,
    RemoteServicer,
    activated_environment,
    analyze,
    configure,
    container,
    pack_process,
    reconcile_config,
    service,
    task_definition,
    urn_for,
)
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from ecs_fargate_rules import (
    ALL_POLICIES,
    PACK_NAME,
    POLICIES_BY_NAME,
    PackConfigError,
    build_pack,
    pack_options,
    pack_version,
)
from preflight.policy_engine import LoadedPack, load_pack

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "policies"
PACKAGE_DIR = PACK_DIR / "ecs_fargate_rules"
TEAM_PACK = ROOT / "tests" / "fixtures" / "team-policy-pack"
PYPROJECT = tomllib.loads((PACK_DIR / "pyproject.toml").read_text())["project"]
TIMEOUT = 30
INSTALL_TIMEOUT = 600

# What a pack's virtualenv must not need: the repository's tools and their dependencies.
DEV_ONLY = ("preflight", "tests", "policy_testkit", "policy_evaluation", "conftest", "settings",
            "components", "jsonschema", "pytest")
# What the package may import besides the standard library and itself.
DEPENDENCIES = {"pulumi_policy": "pulumi-policy", "botocore": "botocore", "yaml": "pyyaml"}


def _owner_tag_policy(name: str = "team-owner-tag") -> ResourceValidationPolicy:
    return ResourceValidationPolicy(name=name, description="ECS services must carry an owner tag.",
                                    validate=lambda args, report: None)


# -- The package -------------------------------------------------------------------------------

def test_the_package_version_is_pulumipolicy_yaml_version():
    assert PYPROJECT["version"] == pack_version(PACK_DIR)


def test_the_packs_pinned_requirements_satisfy_the_packages_dependency_ranges():
    lines = (line.split("#")[0].strip() for line in (PACK_DIR / "requirements.txt").read_text().splitlines())
    pins = {name.strip().lower().replace("_", "-"): version.strip()
            for name, _, version in (line.partition("==") for line in lines if line)}
    requirements = [Requirement(text) for text in PYPROJECT["dependencies"]]
    assert {r.name.lower() for r in requirements} == set(DEPENDENCIES.values())
    for requirement in requirements:
        assert requirement.specifier.contains(pins[requirement.name.lower()]), (requirement, pins)


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("module", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_the_package_imports_only_the_standard_library_and_its_dependencies(module):
    foreign = _imported_roots(module) - set(sys.stdlib_module_names) - set(DEPENDENCIES) - {"ecs_fargate_rules"}
    assert not foreign, f"{module.name} imports {sorted(foreign)}: not a dependency of the package"


def test_the_repositorys_tools_live_outside_the_package():
    assert not (PACKAGE_DIR / "reference.py").exists() and (ROOT / "preflight" / "policy_reference.py").is_file()
    assert not (PACKAGE_DIR / "evaluation.py").exists() and (ROOT / "tests" / "policies" / "policy_evaluation.py").is_file()


def test_the_packs_entry_point_is_one_build_pack_call():
    tree = ast.parse((PACK_DIR / "__main__.py").read_text())
    calls = [node.value.func.id for node in tree.body
             if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)]
    assert calls == ["build_pack"]


# -- pack_options / build_pack -----------------------------------------------------------------

def test_the_defaults_are_this_repositorys_pack():
    options = pack_options()
    assert options == {"name": PACK_NAME, "policies": ALL_POLICIES, "enforcement_level": EnforcementLevel.ADVISORY,
                       "initial_config": None}
    assert options["policies"] is not ALL_POLICIES  # a copy: callers cannot change the library's list


def test_levels_and_config_become_the_initial_config():
    options = pack_options("platform", levels={"all": "mandatory", "ecs-service-min-tasks": EnforcementLevel.ADVISORY,
                                               "alb-deletion-protection": "disabled"},
                           config={"ecs-service-min-tasks": {"minimum": 3},
                                   "logs-retention-set": {"minimumDays": 90}})
    assert options["name"] == "platform"
    assert options["initial_config"] == {
        "all": EnforcementLevel.MANDATORY,
        "ecs-service-min-tasks": {"minimum": 3, "enforcementLevel": EnforcementLevel.ADVISORY},
        "alb-deletion-protection": EnforcementLevel.DISABLED,
        # With config alone, the entry still carries the level ("all"'s here): the engine would
        # read an entry without one as advisory.
        "logs-retention-set": {"minimumDays": 90, "enforcementLevel": EnforcementLevel.MANDATORY},
    }
    assert pack_options(config={"ecs-service-min-tasks": {"minimum": 3}})["initial_config"] == {
        "ecs-service-min-tasks": {"minimum": 3, "enforcementLevel": EnforcementLevel.MANDATORY}}


def test_a_subset_keeps_the_library_order_and_extra_policies_come_last():
    extra = _owner_tag_policy()
    options = pack_options(policies=["logs-retention-set", "ecs-taskdef-no-privileged"], extra_policies=[extra],
                           enforcement_level="mandatory")
    assert [p.name for p in options["policies"]] == ["ecs-taskdef-no-privileged", "logs-retention-set",
                                                      "team-owner-tag"]
    assert options["enforcement_level"] is EnforcementLevel.MANDATORY
    assert pack_options(levels={"team-owner-tag": "advisory"}, extra_policies=[extra])["initial_config"] == {
        "team-owner-tag": EnforcementLevel.ADVISORY}


def test_an_unknown_policy_name_is_refused_naming_the_valid_ones():
    with pytest.raises(PackConfigError) as error:
        pack_options(levels={"ecs-taskdef-no-privilegd": "mandatory"})
    message = str(error.value)
    assert "levels: unknown policy 'ecs-taskdef-no-privilegd' (did you mean 'ecs-taskdef-no-privileged'?)" in message
    assert "valid: all, ecs-taskdef-execution-role-required, " in message
    assert all(name in message for name in POLICIES_BY_NAME)


def test_every_problem_is_reported_at_once():
    with pytest.raises(PackConfigError) as error:
        pack_options(enforcement_level="strict", policies=["ecs-taskdef-no-privileged", "no-such-rule"],
                     levels={"all": "blocking", "logs-retention-set": "mandatory"},
                     config={"ecs-taskdef-no-privileged": {"x": 1}, "ecs-taskdef-awsvpc": {"x": 1},
                             "ecs-service-min-tasks": {"minimun": 3}},
                     extra_policies=[_owner_tag_policy("ecs-taskdef-no-privileged"), "not a policy"])
    lines = str(error.value).splitlines()
    assert lines[0] == "the policy pack cannot be built:"
    problems = [line.strip() for line in lines[1:]]
    assert problems[0] == ("enforcement_level: 'strict' is not an enforcement level "
                           "(valid: advisory, mandatory, remediate, disabled)")
    assert problems[1].startswith("policies: unknown policy 'no-such-rule'; valid: ecs-taskdef-execution-role-required")
    assert problems[2] == ("extra_policies: 'ecs-taskdef-no-privileged' is the name of one of the ecs-fargate rules; "
                           "give yours another name")
    assert problems[3] == "extra_policies: 'not a policy' is not a pulumi_policy Policy"
    assert problems[4].startswith("levels['all']: 'blocking' is not an enforcement level")
    assert problems[5] == "levels: 'logs-retention-set' is not in this pack (policies leaves it out); valid: all, ecs-taskdef-no-privileged"
    assert problems[6] == "config['ecs-taskdef-no-privileged']: ecs-taskdef-no-privileged takes no config (set its level in levels)"
    assert problems[7].startswith("config: 'ecs-taskdef-awsvpc' is not in this pack")
    assert problems[8].startswith("config: 'ecs-service-min-tasks' is not in this pack")
    assert len(problems) == 9


def test_an_unknown_config_property_is_refused_naming_the_valid_ones():
    with pytest.raises(PackConfigError, match=r"config\['ecs-service-min-tasks'\]: unknown property 'minimun' "
                                              r"\(did you mean 'minimum'\?\); valid: minimum"):
        pack_options(config={"ecs-service-min-tasks": {"minimun": 3}})
    with pytest.raises(PackConfigError, match="two policies are named 'mine'"):
        pack_options(extra_policies=[_owner_tag_policy("mine"), _owner_tag_policy("mine")])


def test_one_level_for_everything_is_a_level_not_a_mapping():
    assert pack_options(levels="mandatory")["initial_config"] == {"all": EnforcementLevel.MANDATORY}


@pytest.mark.parametrize("arguments, problem", [
    ({"name": "my pack"}, "name: 'my pack' is not a policy pack name"),
    ({"levels": ["mandatory"]}, "levels: expected a level or {policy name: level}"),
    ({"config": "ecs-service-min-tasks"}, "config: expected {policy name: {property: value}}"),
    ({"extra_policies": "team-owner-tag"}, "extra_policies: expected a list of Policy objects"),
    ({"config": {"ecs-service-min-tasks": {"minimum": "three"}}},
     "config['ecs-service-min-tasks']['minimum']: 'three' is not integer"),
    ({"config": {"ecs-service-min-tasks": {"minimum": True}}},
     "config['ecs-service-min-tasks']['minimum']: True is not integer"),
    ({"config": {"ecs-service-min-tasks": {"minimum": -1}}}, "'minimum']: -1 is out of range (minimum 0)"),
])
def test_arguments_of_the_wrong_shape_are_refused_before_the_engine_sees_them(arguments, problem):
    """A PackConfigError naming the argument, not an AttributeError from inside the SDK, or a
    config value the engine would only refuse when the CLI configures the pack."""
    with pytest.raises(PackConfigError) as error:
        pack_options(**arguments)
    assert problem in str(error.value)


def test_a_single_policy_instead_of_a_list_is_refused():
    with pytest.raises(PackConfigError, match="extra_policies: expected a list of Policy objects"):
        pack_options(extra_policies=_owner_tag_policy())


def test_build_pack_constructs_the_sdks_pack_at_the_version_given(monkeypatch):
    from pulumi_policy import policy as sdk

    built = {}
    monkeypatch.setattr(sdk.PolicyPack, "__init__",
                        lambda self, **options: built.update(options, servicer=sdk._PolicyAnalyzerServicer))
    build_pack("platform", version="2.0.0", levels={"all": "mandatory"})
    assert built["name"] == "platform" and built["initial_config"] == {"all": EnforcementLevel.MANDATORY}
    servicer = built.pop("servicer")("platform", "0.0.1", ALL_POLICIES, EnforcementLevel.ADVISORY)
    assert servicer.GetAnalyzerInfo(None, None).version == "2.0.0"
    assert sdk._PolicyAnalyzerServicer("p", "0.0.1", ALL_POLICIES, EnforcementLevel.ADVISORY) \
        .GetAnalyzerInfo(None, None).version == "0.0.1", "the SDK is left as it was"


# -- Another team's pack, in-process under preflight -------------------------------------------

def test_the_team_pack_under_preflight_gets_its_levels_and_config_file_overrides_them():
    pack = load_pack(TEAM_PACK)
    assert pack.name == "platform-guardrails"
    assert pack.policy_names == [*(p.name for p in ALL_POLICIES), "team-owner-tag"]
    defaults = reconcile_config(pack, {})
    assert defaults["ecs-taskdef-readonly-rootfs"][0] == "mandatory"  # advisory on its own; "all" raised it
    assert defaults["ecs-image-allowed-registries"][0] == "disabled"
    assert defaults["team-owner-tag"][0] == "advisory"
    assert defaults["ecs-service-min-tasks"] == ("mandatory", {"minimum": 3})
    # A --policy-pack-config file still has the last word, as for AWSGuard.
    overridden = reconcile_config(pack, {"ecs-service-min-tasks": ("advisory", {"minimum": 1})})
    assert overridden["ecs-service-min-tasks"] == ("advisory", {"minimum": 1})

    found = analyze([(ECS_SERVICE, "web", service(desiredCount=2))], {}, pack_dir=TEAM_PACK)
    assert {(d.policy, d.enforcement_level) for d in found} == {("ecs-service-min-tasks", "mandatory"),
                                                                ("team-owner-tag", "advisory")}


def test_preflight_reads_an_initial_config_entry_without_a_level_as_the_engine_does():
    """As advisory: the engine converts the entry's proto enum, whose unset value is ADVISORY."""
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    servicer = _PolicyAnalyzerServicer("p", "1.0.0", ALL_POLICIES, EnforcementLevel.ADVISORY,
                                       {"all": EnforcementLevel.MANDATORY, "logs-retention-set": {"minimumDays": 90}})
    info = servicer.GetAnalyzerInfo(None, None)
    reconciled = reconcile_config(LoadedPack(name="p", servicer=servicer, info=info), {})
    assert reconciled["logs-retention-set"] == ("advisory", {"minimumDays": 90})
    assert reconciled["ecs-taskdef-no-privileged"][0] == "mandatory"


# -- A fresh virtualenv with `pip install ./policies` ------------------------------------------

@pytest.fixture(scope="session")
def team_pack(tmp_path_factory) -> Path:
    """tests/fixtures/team-policy-pack copied out, with the virtualenv its PulumiPolicy.yaml names
    made as a team would: `python -m venv venv`, then `pip install ./policies` (at our pins)."""
    pack = tmp_path_factory.mktemp("team") / "team-policy-pack"
    shutil.copytree(TEAM_PACK, pack)
    venv = pack / yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())["runtime"]["options"]["virtualenv"]
    env = activated_environment(dict(os.environ), venv)
    for command in ([sys.executable, "-m", "venv", str(venv)],
                    [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                     "-c", "policies/requirements.txt", "./policies"]):
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
    return pack


def _venv_python(pack: Path, script: str) -> dict:
    venv = pack / "venv"
    result = subprocess.run([str(venv / "bin" / "python"), "-c", textwrap.dedent(script)], cwd=pack.parent,
                            env=activated_environment(dict(os.environ), venv), capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_installed_package_is_the_rules_and_their_data(team_pack):
    found = _venv_python(team_pack, """
        import json
        from importlib.metadata import distribution
        dist = distribution("ecs-fargate-rules")
        print(json.dumps({"version": dist.version, "requires": dist.requires,
                          "files": [str(f) for f in dist.files if f.parts[0] == "ecs_fargate_rules"
                                    and "__pycache__" not in f.parts]}))
    """)
    assert found["version"] == PYPROJECT["version"]
    assert sorted(Requirement(r).name.lower() for r in found["requires"]) == sorted(DEPENDENCIES.values())
    shipped = sorted(p.relative_to(PACK_DIR).as_posix() for p in PACKAGE_DIR.iterdir() if p.name != "__pycache__")
    assert sorted(found["files"]) == shipped
    assert "ecs_fargate_rules/aws_constraints.json" in shipped


def test_every_module_imports_in_the_fresh_venv_without_the_repositorys_tools(team_pack):
    found = _venv_python(team_pack, f"""
        import importlib, importlib.util, json, pkgutil, sys
        import ecs_fargate_rules
        from pulumi_policy.policy import _PolicyAnalyzerServicer
        modules = [m.name for m in pkgutil.walk_packages(ecs_fargate_rules.__path__, "ecs_fargate_rules.")]
        for name in modules:
            importlib.import_module(name)
        options = ecs_fargate_rules.pack_options("fresh", levels={{"all": "mandatory"}})
        info = _PolicyAnalyzerServicer(options["name"], "1.0.0", options["policies"], options["enforcement_level"],
                                       options["initial_config"]).GetAnalyzerInfo(None, None)
        dev_only = {DEV_ONLY!r}
        print(json.dumps({{
            "file": ecs_fargate_rules.__file__, "modules": modules,
            "loaded": sorted({{m.split(".")[0] for m in sys.modules}} & set(dev_only)),
            "installable": [name for name in dev_only if importlib.util.find_spec(name)],
            "policies": [p.name for p in info.policies], "initial": list(info.initialConfig),
            "constraints": len(ecs_fargate_rules.aws_constraints.CATALOGUE.by_type),
        }}))
    """)
    assert Path(found["file"]).is_relative_to(team_pack / "venv"), found["file"]
    assert sorted(found["modules"]) == sorted(f"ecs_fargate_rules.{p.stem}" for p in PACKAGE_DIR.glob("*.py")
                                              if p.stem != "__init__")
    assert found["installable"] == [], "the fresh venv must not hold the repository's tools"
    assert found["loaded"] == []
    assert found["policies"] == [p.name for p in ALL_POLICIES] and found["initial"] == ["all"]
    assert found["constraints"] > 10, "aws_constraints.json and botocore's models loaded"


@pytest.fixture(scope="module")
def team_analyzer(team_pack):
    env = activated_environment(dict(os.environ), team_pack / "venv")
    env.update(PULUMI_ORGANIZATION="organization", PULUMI_PROJECT="web", PULUMI_STACK="prod", PULUMI_DRY_RUN="true")
    with pack_process(team_pack / "venv", team_pack, env, TIMEOUT) as port, \
            grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=TIMEOUT)
        configure(LoadedPack(name=info.name, servicer=RemoteServicer(stub, TIMEOUT), info=info),
                  reconcile_config(LoadedPack(name=info.name, servicer=None, info=info), {}))
        yield stub, info


def _analyze(stub, resource_type: str, props: dict, name: str) -> dict[str, tuple[int, str]]:
    properties = struct_pb2.Struct()
    properties.update(props)
    response = stub.Analyze(analyzer_pb2.AnalyzeRequest(type=resource_type, name=name, properties=properties,
                                                        urn=urn_for(resource_type, name, stack="prod")),
                            timeout=TIMEOUT)
    return {d.policyName: (d.enforcementLevel, d.message) for d in response.diagnostics}


def test_the_team_pack_starts_from_its_venv_as_the_cli_starts_it(team_analyzer):
    _stub, info = team_analyzer
    assert info.name == "platform-guardrails"
    assert info.version == "1.2.0", "PulumiPolicy.yaml's version, through pack_version()"
    assert [p.name for p in info.policies] == [*(p.name for p in ALL_POLICIES), "team-owner-tag"]
    assert set(info.initialConfig) == {"all", "ecs-image-allowed-registries", "team-owner-tag", "ecs-service-min-tasks"}


def test_the_team_pack_enforces_our_rules_at_its_levels_and_its_own_rule(team_analyzer):
    stub, _info = team_analyzer
    found = _analyze(stub, ECS_SERVICE, service(desiredCount=2), "web")
    assert set(found) == {"team-owner-tag"}
    # ecs-service-min-tasks (minimum 3 in this pack) is a stack rule: an autoscaling target can set the
    # minimum; pack_options' tests cover the config it gets.
    assert found["team-owner-tag"][0] == analyzer_pb2.ADVISORY
    assert found["team-owner-tag"][1].endswith("ECS services must carry an 'owner' tag.")
    assert _analyze(stub, ECS_SERVICE, service(desiredCount=3, tags={"owner": "team"}), "owned") == {}

    privileged = _analyze(stub, TASK_DEFINITION, task_definition(containers=[container(privileged=True)]), "task")
    assert privileged["ecs-taskdef-no-privileged"][0] == analyzer_pb2.MANDATORY
    # Advisory on its own, mandatory in this pack ("all").
    assert _analyze(stub, TASK_DEFINITION, task_definition(containers=[container(readonlyRootFilesystem=False)]),
                    "writable")["ecs-taskdef-readonly-rootfs"][0] == analyzer_pb2.MANDATORY


def test_our_pack_runs_its_own_rules_even_where_an_installed_copy_exists(team_pack, tmp_path):
    """`pulumi install` in policies/ (CLI 3.209+) also pip-installs the package into the pack's
    virtualenv; the engine must still run the rules beside PulumiPolicy.yaml, not that copy."""
    pack = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", pack, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    marker = tmp_path / "imported-from"
    init = pack / "ecs_fargate_rules" / "__init__.py"
    init.write_text(init.read_text() + f"\nopen({str(marker)!r}, 'w').write(__file__)\n")
    venv = team_pack / "venv"  # has ecs_fargate_rules installed in site-packages
    with pack_process(venv, pack, activated_environment(dict(os.environ), venv)):
        pass
    assert Path(marker.read_text()).resolve() == init.resolve()
