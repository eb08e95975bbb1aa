"""docs/configuration.md's tables and the stack files' JSON Schema come from settings' declarations,
and the schema never refuses a config the program accepts."""

from __future__ import annotations

import copy
import json
import re

import jsonschema
import pytest

import config_reference
import settings
from components.validation import Constraint as CONSTRAINT_TYPE
import test_settings
import test_settings_deployment
from testkit import ROOT, fixture_stack
from preflight.stack_config import load_stack_config
from settings import SettingsError, parse

SCHEMA = json.loads((ROOT / config_reference.SCHEMA_PATH).read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
STACKS = sorted(path.name.split(".")[1] for path in ROOT.glob("Pulumi.*.yaml"))
MODELINE = f"# yaml-language-server: $schema=./{config_reference.SCHEMA_PATH}"


def stack_file(raw: dict) -> dict:
    return {"config": {"aws:region": "us-east-1", **{f"{settings.NAMESPACE}:{key}": value for key, value in raw.items()}}}


def schema_errors(raw: dict) -> list[str]:
    return [f"{'.'.join(map(str, error.absolute_path))}: {error.message}" for error in VALIDATOR.iter_errors(stack_file(raw))]


# -- Generated files are fresh ------------------------------------------------------------------

def test_the_docs_tables_are_generated_from_the_declarations():
    page = (ROOT / config_reference.DOCS_PATH).read_text()
    assert config_reference.render_page(page) == page, \
        f"{config_reference.DOCS_PATH} is stale: run `{config_reference.REGENERATE}`"


def test_the_schema_is_generated_from_the_declarations():
    assert (ROOT / config_reference.SCHEMA_PATH).read_text() == config_reference.schema_text(), \
        f"{config_reference.SCHEMA_PATH} is stale: run `{config_reference.REGENERATE}`"


def test_every_declared_key_has_a_row_in_the_docs():
    page = (ROOT / config_reference.DOCS_PATH).read_text()
    documented = set(re.findall(r"^\| `([A-Za-z]+)` \|", page, re.MULTILINE))
    tables = settings.TOP_LEVEL + settings.NETWORK + settings.REGISTRY + settings.CLUSTER + settings.LOAD_BALANCER \
        + settings.SERVICE + settings.DEPLOYMENT + settings.HOOK + settings.SCHEDULED_TASK
    assert set(settings.names(tables)) <= documented, set(settings.names(tables)) - documented


# -- One declaration per key ----------------------------------------------------------------------

def _all_keys(keys, seen=None):
    seen = [] if seen is None else seen
    for key in keys:
        seen.append(key)
        _all_keys(key.keys, seen)
    return seen


def test_each_key_of_an_object_is_declared_once_there():
    for key in _all_keys(settings.TOP_LEVEL):
        if key.keys:
            assert len(settings.names(key.keys)) == len(set(settings.names(key.keys))), key.name


def test_the_checker_reads_types_defaults_and_ranges_from_the_declarations():
    """After the declarations, a key is read with c.read(data, declared(...)): no key list,
    default, range or choice of its own (a key's name there is a rule across keys)."""
    source = (ROOT / "settings.py").read_text()
    code = source[source.index("# The sections."):]
    assert not re.search(r"c\.(integer|boolean|string_list|string_map)\(", code)
    # No key is peeked at before it is read as declared (architecture's check against
    # capacityProvider is the service's or the job's, once both are read).
    assert re.findall(r"c\.string\(data, \"(\w+)\"", code) == []
    assert not re.search(r"^_[A-Z_]+_KEYS = ", source, re.MULTILINE)


def test_typed_settings_defaults_are_the_declared_ones():
    web = parse(test_settings.valid(), project="p", stack="s", region="us-east-1").services[0]
    assert web.task == settings.TaskSpec(source=web.task.source)
    assert settings.RegistryArgs(name="r").untagged_expiry_days == settings.declared(settings.REGISTRY,
                                                                                     "untaggedExpiryDays").default


def _key_tables():
    """Each table of keys and the component type whose fields they set (a key's field is its name in
    snake_case)."""
    from components import (
        AutoscalingSpec, ClusterArgs, ContainerHealthCheck, DockerBuild, ImageSource, LoadBalancerSpec, NetworkArgs,
        RegistryArgs, RollbackAlarmSpec, ServiceSpec, TaskSpec,
    )
    from components.deployment import DeploymentSpec, LifecycleHookSpec

    task_keys = tuple(key for key in settings.TASK if key not in settings.IMAGE_SOURCE)
    return [
        (settings.NETWORK, NetworkArgs), (settings.REGISTRY, RegistryArgs), (settings.CLUSTER, ClusterArgs),
        (settings.LOAD_BALANCER, LoadBalancerSpec), (settings.BUILD, DockerBuild),
        (settings.HEALTH_CHECK, ContainerHealthCheck), (settings.AUTOSCALING, AutoscalingSpec),
        (settings.ROLLBACK_ALARM, RollbackAlarmSpec), (settings.IMAGE_SOURCE, ImageSource), (task_keys, TaskSpec),
        (settings.SERVICE_ONLY + settings.WEB_ONLY, ServiceSpec), (settings.JOB_ONLY, settings.ScheduledJobSettings),
        (settings.DEPLOYMENT, DeploymentSpec), (settings.HOOK, LifecycleHookSpec),
    ]


def test_every_key_maps_to_a_component_field_with_its_default_and_constraint():
    """A key's default and what AWS takes for it are declared once, on the component's field: the
    key has the field's static default (one that differs per environment names the field's among
    its values) and exactly the field's constraint."""
    import dataclasses

    from components.validation import CONSTRAINT, default_of

    constraint_fields = [f for f in dataclasses.fields(CONSTRAINT_TYPE) if f.name not in CONSTRAINT_TYPE.NOT_KEYS]
    checked, own = 0, []
    for keys, cls in _key_tables():
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in keys:
            name = settings._snake(key.name)
            assert name in fields, f"{key.name}: no field {cls.__name__}.{name}"
            field_default = default_of(cls, name)
            if isinstance(key.default, settings.ByEnvironment) and field_default is None:
                # The component computes it (desired_count: autoscaling's min_count, else 1); the
                # key's default_text says how, and each environment's value is one the field takes.
                assert key.default_text, key.name
            elif isinstance(key.default, settings.ByEnvironment):
                assert field_default in (key.default.dev, key.default.staging, key.default.prod), key.name
            elif key.default is not None:
                assert key.default == field_default, (key.name, key.default, field_default)
            declared = {f.name: getattr(key, f.name) for f in constraint_fields if getattr(key, f.name) != f.default}
            constraint = fields[name].metadata.get(CONSTRAINT)
            if constraint is None:
                if declared:
                    own.append(key.name)
            else:
                assert constraint.kind == key.kind, key.name
                assert declared == constraint.as_key(), (key.name, declared, constraint.as_key())
            checked += 1
    # ImageSource checks a source as a whole (exactly one of image, imageTag, build): its fields
    # carry no constraint, and the key states the tag's shape for the docs and the schema.
    assert own == ["imageTag"], own
    assert checked >= 77, checked


def test_no_key_declares_a_default_or_a_constraint_of_its_own_where_a_component_field_has_one():
    """In settings.py, the keys of the component tables read defaults and constraints from the
    fields (`default_of`, `_aws`): no literal default outside a per-environment one."""
    import ast

    tree = ast.parse((ROOT / "settings.py").read_text())
    literal = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Key":
            for keyword in node.keywords:
                if keyword.arg == "default" and isinstance(keyword.value, (ast.Constant, ast.Tuple, ast.List)):
                    literal.append(ast.literal_eval(node.args[0]))
    assert literal == [], literal


# -- The schema -----------------------------------------------------------------------------------

def test_the_schema_is_a_valid_draft_07_schema():
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_file_validates_and_names_the_schema(stack):
    path = ROOT / f"Pulumi.{stack}.yaml"
    assert path.read_text().splitlines()[0] == MODELINE, f"{path.name}: the first line is the modeline"
    assert (path.parent / config_reference.SCHEMA_PATH).is_file()
    document = {"config": load_stack_config(ROOT, stack).config}
    assert [error.message for error in VALIDATOR.iter_errors(document)] == []


def test_the_shipped_stack_files_are_all_of_them():
    assert STACKS == ["dev", "prod", "staging"]


@pytest.mark.parametrize("document, where", [
    (stack_file({"environment": "dev", "servics": {}}), "config"),
    ({"config": {"servics": {}}}, "config"),
    (stack_file({"environment": "dev", "services": {"web": {**test_settings.WEB, "cpus": 256}}}),
     "config.ecs-fargate:services"),
    (stack_file({"environment": "dev", "services": {"web": {**test_settings.WEB, "healthCheck": {"comand": ["CMD"]}}}}),
     "config.ecs-fargate:services"),
    (stack_file({"environment": "dev", "network": {"natGateway": "none"}}), "config.ecs-fargate:network"),
    ({"confg": {}}, ""),
], ids=["top-level", "top-level-without-namespace", "service", "nested", "network", "stack-file"])
def test_a_misspelled_key_is_refused(document, where):
    errors = list(VALIDATOR.iter_errors(document))
    assert errors, document
    assert any(".".join(map(str, e.absolute_path)).startswith(where) for e in errors)


@pytest.mark.parametrize("raw", [
    {"environment": "production"},
    {"services": {"web": {**test_settings.WEB, "port": 70000}}},
    {"services": {"web": {**test_settings.WEB, "port": "http"}}},
    {"services": {"web": {**test_settings.WEB, "cpu": 300}}},
    {"registry": {"immutableTags": "yes"}},
    {"registry": {"keepImages": 0}},
    {"network": {"natGateways": "two"}},
    {"services": {"web": {**test_settings.WEB, "command": "python app.py"}}},
    {"services": {"web": None}},
    {"tags": {"team": True}},
])
def test_a_wrong_type_or_value_is_refused(raw):
    raw = {"environment": "dev", "services": {"web": test_settings.WEB}, **raw}
    assert schema_errors(raw)
    with pytest.raises(SettingsError):
        parse(raw, project="ecs-fargate", stack="test", region="us-east-1")


def test_other_namespaces_and_secrets_are_allowed():
    document = stack_file({"environment": "dev", "services": {"web": {**test_settings.WEB,
                                                                      "environment": {"TOKEN": {"secure": "AAAB"}}}},
                           "releaseImage": {"secure": "AAAC"}})
    document["config"].update({"aws:defaultTags": {"tags": {"team": "x"}}, "other:thing": [1, 2]})
    document.update({"secretsprovider": "awskms://alias/x", "encryptedkey": "abc", "encryptionsalt": "v1:x"})
    assert [error.message for error in VALIDATOR.iter_errors(document)] == []


def test_descriptions_defaults_and_choices_reach_the_editor():
    registry = SCHEMA["definitions"]["registry"]["anyOf"][0]["anyOf"][0]["properties"]
    expiry = registry["untaggedExpiryDays"]
    assert expiry["default"] == 14 and "Untagged images expire" in expiry["description"]
    assert expiry["anyOf"][0]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 3650}
    nat = SCHEMA["definitions"]["network"]["anyOf"][0]["anyOf"][0]["properties"]["natGateways"]
    assert nat["anyOf"][0]["enum"] == ["none", "single", "perAz"] and "prod `perAz`" in nat["markdownDescription"]


# -- The schema and the program agree -------------------------------------------------------------

def _settings_cases() -> list[dict]:
    """Every config test_settings and test_settings_deployment parametrize their tests with, plus
    variations of the shipped stacks and of the strategies fixture stack."""
    cases = []
    functions = [getattr(module, name) for module in (test_settings, test_settings_deployment) for name in dir(module)]
    for function in functions:
        for mark in getattr(function, "pytestmark", []):
            if mark.name != "parametrize":
                continue
            for values in mark.args[1]:
                for value in values if isinstance(values, tuple) else (values,):
                    if isinstance(value, dict) and ("services" in value or "environment" in value):
                        cases.append(value)
                    elif isinstance(value, dict) and value and all(isinstance(v, dict) and "image" in v
                                                                   for v in value.values()):
                        cases.append({"services": value})
                    elif isinstance(value, dict) and "vpcCidr" in value:
                        cases.append({"network": value, "services": {"web": test_settings.WEB}})
                    elif isinstance(value, str) and re.match(r"(cron|rate|at)\(", value):
                        cases.append(test_settings.valid(scheduledTasks={"job": {**test_settings.JOB,
                                                                                 "schedule": value}}))
    loaded = [load_stack_config(ROOT, stack) for stack in STACKS] + [fixture_stack("strategies")]
    for stack in loaded:
        raw = {key.split(":", 1)[1]: value for key, value in stack.config.items()
               if key.startswith(f"{settings.NAMESPACE}:")}
        cases.append(raw)
        for mutate in (lambda r: r["services"][next(iter(r["services"]))].update(cpu="512", memory="1024"),
                       lambda r: r["services"][next(iter(r["services"]))].update(readonlyRootFilesystem="False"),
                       lambda r: r.update(registry=None, network="")):
            changed = copy.deepcopy(raw)
            mutate(changed)
            cases.append(changed)
    return cases


CASES = _settings_cases()


def _json_safe(raw) -> bool:
    try:
        return json.loads(json.dumps(raw)) == raw
    except (TypeError, ValueError):
        return False


def test_the_schema_never_refuses_what_the_program_accepts():
    accepted = refused_by_both = refused_by_program_only = 0
    for raw in CASES:
        if not _json_safe(raw):
            continue  # a key that is not a string cannot be in a stack file
        raw = {"environment": "dev", **raw}
        try:
            parse(raw, project="ecs-fargate", stack="test", region="us-east-1")
            program_accepts = True
        except SettingsError:
            program_accepts = False
        errors = schema_errors(raw)
        if program_accepts:
            assert errors == [], (raw, errors)
            accepted += 1
        elif errors:
            refused_by_both += 1
        else:
            refused_by_program_only += 1
    assert accepted >= 70 and refused_by_both >= 80, (accepted, refused_by_both, refused_by_program_only)


def test_an_object_given_as_json_text_is_accepted_as_the_program_accepts_it():
    """`pulumi config set ecs-fargate:tags '{"team": "x"}'` (no --path) stores JSON text."""
    from testkit import render_config

    config = {"ecs-fargate:environment": "dev", "ecs-fargate:tags": '{"team": "x"}',
              "ecs-fargate:services": json.dumps({"web": {"image": "public.ecr.aws/nginx/nginx:1.27", "port": 80,
                                                          "healthCheckPath": "/"}})}
    assert VALIDATOR.is_valid({"config": config})
    rendering = render_config(config)
    assert rendering.of_type("aws:ecs/service:Service")


def test_one_key_in_two_spellings_is_refused():
    """Pulumi merges `services`, `ecs-fargate:services` and `ecs-fargate:config:services`; with two
    of them in one file the value that wins depends on map order."""
    for pair in (("services", "ecs-fargate:services"), ("ecs-fargate:config:tags", "tags")):
        assert not VALIDATOR.is_valid({"config": {pair[0]: {}, pair[1]: {}}}), pair
    assert VALIDATOR.is_valid({"config": {"ecs-fargate:config:tags": {"team": "x"}}})
    assert not VALIDATOR.is_valid({"config": {"ecs-fargate:config:servics": {}}})


def test_patterns_escape_only_regex_metacharacters():
    """Engines that compile patterns in Unicode mode (JavaScript's `u` flag, Ajv) refuse an escape
    of an ordinary character such as `\\-`."""
    patterns = []

    def collect(node):
        if isinstance(node, dict):
            patterns.extend(value for key, value in node.items() if key == "pattern")
            patterns.extend(node.get("patternProperties", {}))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)
    collect(SCHEMA)
    assert patterns
    for pattern in patterns:
        for escaped in re.findall(r"\\(.)", pattern):
            assert escaped in ".^$*+?()[]{}|\\/-dDwWsSbBnrtfv0123456789", (pattern, escaped)
            if escaped == "-":  # inside a character class only
                assert re.search(r"\[[^\]]*\\-", pattern), pattern
