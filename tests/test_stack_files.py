"""Stack files are read as the Pulumi CLI reads them: gopkg.in/yaml.v3 decoding into Go's `any`
(sdk/go/common/encoding/marshal.go), string keys only (workspace.SimplifyMarshalledValue), a
top-level key without a value passed as "" (workspace.checkForEmptyConfig)."""

from __future__ import annotations

import json

import pytest

from testkit import ROOT
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


# -- Tabs, documents, tags and numbers as yaml.v3 and the CLI's JSON re-encoding give them -----

@pytest.mark.parametrize("body, value", [
    ("config:\n  scratch:a: b\t\n", "b"),                      # a trailing tab
    ("config:\n  scratch:a: b\tc\n", "b\tc"),                  # a tab between words is kept
    ("config:\n  scratch:a: b\t# note\n", "b"),                # a tab before a comment
    ("config:\n  scratch:a: [1,\t2]\n", [1, 2]),               # tabs in a flow collection
    ("config:\n  scratch:a: {x:\t1,\ty: 2}\n", {"x": 1, "y": 2}),
    ("config:\n  scratch:a: 'q'\t\n", "q"),
    ("config:\n  scratch:a:\tb\n", "b"),                      # after a simple key's colon
])
def test_tabs_separate_tokens_where_yaml_v3_allows_them(tmp_path, body, value):
    assert stack(tmp_path, body)["scratch:a"] == value


@pytest.mark.parametrize("body", [
    "config:\n\tscratch:a: 1\n",          # indentation
    "config:\n  scratch:a:\n  -\tb\n",    # right after a block sequence's dash
])
def test_tabs_yaml_v3_refuses_are_still_refused(tmp_path, body):
    assert "not valid YAML" in refused(tmp_path, body)


def test_only_the_first_document_counts_as_yaml_v3_unmarshal_reads_it(tmp_path):
    config = stack(tmp_path, "config:\n  scratch:a: 1\n---\nconfig:\n  scratch:a: 2\n---\n\t: [ not yaml\n")
    assert config == {"scratch:a": 1}


@pytest.mark.parametrize("body, where, text, kind", [
    ("config:\n  scratch:x: .inf\n", "config.scratch:x", ".inf", "infinite"),
    ("config:\n  scratch:o:\n    v: -.Inf\n", "config.scratch:o.v", "-.Inf", "infinite"),
    ("config:\n  scratch:o: [1, .NaN]\n", "config.scratch:o[1]", ".NaN", "not a number"),
    ("config:\n  scratch:x: !!float .inf\n", "config.scratch:x", ".inf", "infinite"),
])
def test_infinity_and_nan_fail_as_the_cli_fails_to_store_them_as_json(tmp_path, body, where, text, kind):
    error = refused(tmp_path, body)
    assert f"Pulumi.test.yaml: {where}: {text} is {kind}, and the Pulumi CLI refuses to load the file" in error, error


def test_infinity_outside_config_and_quoted_is_fine(tmp_path):
    config = stack(tmp_path, "config:\n  scratch:x: '.inf'\n",
                   project="name: scratch\nruntime: python\ndescription: .inf\n")
    assert config == {"scratch:x": ".inf"}


def test_project_defaults_are_checked_for_infinity_too(tmp_path):
    error = refused(tmp_path, "config: {}\n",
                    project="name: scratch\nruntime: python\nconfig:\n  scratch:x:\n    default: .inf\n")
    assert "Pulumi.yaml: config.scratch:x.default: .inf is infinite" in error, error


def test_legacy_config_keys_are_read_as_config_parsekey_reads_them(tmp_path):
    config = stack(tmp_path, "config:\n  scratch:config:environment: dev\n  aws:config:region: eu-west-1\n")
    assert config == {"scratch:environment": "dev", "aws:region": "eu-west-1"}


@pytest.mark.parametrize("body, message", [
    ("config:\n  a:b:c: x\n", "config key 'a:b:c' is not <namespace>:<name>"),
    ("config:\n  a:config:b:c: x\n", "config key 'a:config:b:c' is not <namespace>:<name>"),
    ("config:\n  scratch:environment: dev\n  scratch:config:environment: prod\n",
     "config keys 'scratch:environment' and 'scratch:config:environment' both name scratch:environment"),
])
def test_config_keys_the_cli_refuses_or_merges_at_random_are_errors(tmp_path, body, message):
    assert message in refused(tmp_path, body)


@pytest.mark.parametrize("declarations, expected", [
    ("  aws:region:\n    value: eu-west-1\n", {"aws:region": "eu-west-1"}),
    ("  aws:region: eu-west-2\n", {"aws:region": "eu-west-2"}),
    ("  scratch:size:\n    value: 3\n", {"scratch:size": 3}),
    ("  size:\n    type: integer\n    default: 4\n", {"scratch:size": 4}),
    ("  scratch:zones: [a, b]\n", {"scratch:zones": ["a", "b"]}),
    ("  scratch:required:\n    type: string\n", {}),
])
def test_project_config_gives_its_default_or_value_as_the_cli_applies_them(tmp_path, declarations, expected):
    assert stack(tmp_path, "config: {}\n", project=f"name: scratch\nruntime: python\nconfig:\n{declarations}") == expected


@pytest.mark.parametrize("declarations, message", [
    ("  scratch:x:\n    default: 1\n    value: 2\n", "config 'scratch:x' has both a default and a value"),
    ("  aws:region:\n    default: eu-west-1\n", "config 'aws:region' is not in the project's namespace, so the Pulumi "
                                               "CLI refuses a default for it: write value: instead"),
    ("  aws:region:\n    description: x\n", "config 'aws:region' is not in the project's namespace and needs a value:"),
])
def test_project_config_the_cli_refuses_is_refused(tmp_path, declarations, message):
    assert message in refused(tmp_path, "config: {}\n", project=f"name: scratch\nruntime: python\nconfig:\n{declarations}")


def test_a_stack_value_wins_over_the_projects_value(tmp_path):
    config = stack(tmp_path, "config:\n  aws:region: us-west-2\n",
                   project="name: scratch\nruntime: python\nconfig:\n  aws:region:\n    value: eu-west-1\n")
    assert config == {"aws:region": "us-west-2"}


@pytest.mark.parametrize("value, text", [
    (1e-05, "0.00001"), (1e-06, "0.000001"), (1e-07, "1e-7"), (1.5e-10, "1.5e-10"), (-2.5e-7, "-2.5e-7"),
    (0.1, "0.1"), (123456.789, "123456.789"), (1e16, "10000000000000000"), (1e21, "1e+21"),
    (1.2345e22, "1.2345e+22"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (-0.0, "-0"), (2.5, "2.5"),
])
def test_floats_are_written_as_go_encoding_json_writes_them(value, text):
    from preflight.stack_config import _go_json_float

    assert _go_json_float(value) == text
    assert float(text) == value


def test_a_top_level_float_reaches_the_program_as_the_clis_text(tmp_path):
    config = stack(tmp_path, "config:\n  scratch:small: 0.00001\n  scratch:big: 1.5e21\n  scratch:o:\n    v: 0.00001\n",
                   project="name: scratch\nruntime: python\nconfig:\n  scratch:d:\n    default: 0.0000025\n")
    assert (config["scratch:small"], config["scratch:big"], config["scratch:d"]) == ("0.00001", "1.5e+21", "0.0000025")
    assert config["scratch:o"] == {"v": 1e-05}  # inside an object the program decodes the same number


@pytest.mark.parametrize("text, value", [
    ("!!binary aGVsbG8=", "hello"),
    ("!!binary |\n      aGVs\n      bG8=", "hello"),
    ("!!binary /w==", "\ufffd"),                 # not UTF-8: Go's JSON writes U+FFFD for the byte
    ("!Foo x", "x"),                             # a tag yaml.v3 does not know: the plain value
    ("!Foo {a: 1}", {"a": 1}),
    ("!Foo [1, 2]", [1, 2]),
    ("!!set {a, b}", {"a": None, "b": None}),
    ("{!Foo k: v}", {"k": "v"}),
])
def test_binary_and_unknown_tags_decode_as_yaml_v3_decodes_them_into_any(tmp_path, text, value):
    config = stack(tmp_path, f"config:\n  scratch:obj:\n    v: {text}\n")
    assert config["scratch:obj"] == {"v": value}
    json.dumps(config)


def test_invalid_binary_is_refused_as_yaml_v3_refuses_it(tmp_path):
    assert "!!binary value contains invalid base64 data" in refused(tmp_path, "config:\n  scratch:b: !!binary 'a*'\n")
