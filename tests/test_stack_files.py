"""Stack files are read as the Pulumi CLI reads them: gopkg.in/yaml.v3 decoding into Go's `any`
(sdk/go/common/encoding/marshal.go), string keys only (workspace.SimplifyMarshalledValue), a
top-level key without a value passed as "" (workspace.checkForEmptyConfig)."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from preflight.__main__ import main
from preflight.stack_config import StackConfigError, load_stack_config


def stack(tmp_path, body: str, project: str = "name: scratch\nruntime: python\n") -> dict:
    (tmp_path / "Pulumi.yaml").write_text(project)
    (tmp_path / "Pulumi.test.yaml").write_text(body)
    return load_stack_config(tmp_path, "test").config


def refused(tmp_path, body: str, project: str = "name: scratch\nruntime: python\n") -> str:
    with pytest.raises(StackConfigError) as caught:
        stack(tmp_path, body, project)
    return str(caught.value)


@pytest.mark.parametrize("text", ["yes", "no", "on", "off", "y", "n", "Yes", "OFF", "tRUE"])
def test_yaml_1_1_booleans_stay_strings(tmp_path, text):
    config = stack(tmp_path, f"config:\n  scratch:flag: {text}\n  scratch:obj:\n    nested: {text}\n")
    assert config["scratch:flag"] == text and config["scratch:obj"] == {"nested": text}


@pytest.mark.parametrize("text, value", [
    ("true", True), ("True", True), ("FALSE", False), ("~", None), ("null", None), ("", None),
    ("12", 12), ("-7", -7), ("+7", 7), ("0x1F", 31), ("0o17", 15), ("0b101", 5), ("1_000", 1000),
    ("0777", 511), ("08", 8), ("1.5", 1.5), (".5", 0.5), ("1e3", 1000), ("2.0", 2),
    ("1:30", "1:30"), ("0x", "0x"), ("12abc", "12abc"), ("'12'", "12"), ('"true"', "true"),
    ("9223372036854775807", 9223372036854775807), ("18446744073709551615", 18446744073709551615),
    ("2030-01-01", "2030-01-01 00:00:00 +0000 UTC"), ("2030-1-2T03:04:05Z", "2030-01-02 03:04:05 +0000 UTC"),
    ("2030-01-02 03:04:05.250", "2030-01-02 03:04:05.25 +0000 UTC"),
    ("2030-01-02T03:04:05+02:00", "2030-01-02 03:04:05 +0200 +0200"), ("2030-02-30", "2030-02-30"),
])
def test_scalars_resolve_as_go_yaml_v3_and_reach_the_program_as_json_would(tmp_path, text, value):
    config = stack(tmp_path, f"config:\n  scratch:obj:\n    v: {text}\n")
    assert config["scratch:obj"] == {"v": value}
    assert type(config["scratch:obj"]["v"]) is type(value)
    json.dumps(config, sort_keys=True)  # what preflight hands the program


def test_a_top_level_key_without_a_value_is_an_empty_string(tmp_path):
    config = stack(tmp_path, "config:\n  scratch:services:\n  scratch:other: x\n")
    assert config["scratch:services"] == ""


@pytest.mark.parametrize("body, message", [
    ("config:\n  scratch:a: 1\n  scratch:a: 2\n", 'line 3: mapping key "scratch:a" already defined at line 2'),
    ("config:\n  scratch:services:\n    web:\n      port: 80\n    web:\n      port: 81\n",
     'line 5: mapping key "web" already defined at line 3'),
    ("config:\n  scratch:o:\n    'a': 1\n    a: 2\n", 'line 4: mapping key "a" already defined at line 3'),
])
def test_duplicate_keys_are_refused_as_the_cli_refuses_them(tmp_path, body, message):
    error = refused(tmp_path, body)
    assert "Pulumi.test.yaml: " in error and message in error and "duplicate keys" in error, error


@pytest.mark.parametrize("body, path, shown", [
    ("config:\n  scratch:services:\n    1:\n      port: 80\n", "config.scratch:services.1", "1"),
    ("config:\n  scratch:codes:\n    200: ok\n", "config.scratch:codes.200", "200"),
    ("config:\n  scratch:flags:\n    true: x\n", "config.scratch:flags.true", "true"),
    ("config:\n  scratch:flags:\n    ~: x\n", "config.scratch:flags.~", "~"),
    ("config:\n  scratch:dates:\n    2030-01-01: x\n", "config.scratch:dates.2030-01-01", "2030-01-01"),
    ("config:\n  scratch:list:\n    - 3: x\n", "config.scratch:list[0].3", "3"),
])
def test_non_string_keys_are_refused_naming_the_key(tmp_path, body, path, shown):
    error = refused(tmp_path, body)
    assert f"Pulumi.test.yaml: {path}: the key {shown} is not a string" in error, error
    assert f"quote it: '{shown}'" in error


def test_the_project_file_is_read_the_same_way(tmp_path):
    error = refused(tmp_path, "config: {}\n", project="name: scratch\nname: other\nruntime: python\n")
    assert "Pulumi.yaml: line 2: mapping key \"name\" already defined at line 1" in error


def test_merge_keys_and_anchors_still_work(tmp_path):
    config = stack(tmp_path, "config:\n  scratch:a: &base\n    x: 1\n    y: on\n  scratch:b:\n    <<: *base\n    x: 2\n")
    assert config["scratch:b"] == {"x": 2, "y": "on"}


def preflight_dev_with(tmp_path, replace: tuple[str, str]) -> tuple[int, str]:
    import shutil

    for name in ("Pulumi.yaml", "__main__.py", "settings.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    for directory in ("components", "app"):
        shutil.copytree(ROOT / directory, tmp_path / directory, ignore=shutil.ignore_patterns("__pycache__"))
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    assert replace[0] in text
    (tmp_path / "Pulumi.dev.yaml").write_text(text.replace(*replace, 1))
    return main(["--stack", "dev", "--cwd", str(tmp_path)]), ""


def test_preflight_judges_yes_as_the_program_would_see_it(tmp_path, capsys):
    """PyYAML would read `yes` as true and pass; under `pulumi up` the program gets "yes"."""
    code, _ = preflight_dev_with(tmp_path, ("  ecs-fargate:network:\n", "  ecs-fargate:registry:\n    scanOnPush: yes\n"
                                                                         "  ecs-fargate:network:\n"))
    err = capsys.readouterr().err
    assert code == 2 and "registry.scanOnPush: expected true or false, got 'yes'" in err, err


def test_preflight_refuses_a_numeric_service_name_as_the_cli_would(tmp_path, capsys):
    code, _ = preflight_dev_with(tmp_path, ("    web:\n", "    200:\n"))
    err = capsys.readouterr().err
    assert code == 2 and "Pulumi.dev.yaml: config.ecs-fargate:services.200: the key 200 is not a string" in err, err
    assert "Traceback" not in err
