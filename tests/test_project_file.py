"""Pulumi.yaml against Pulumi's official project schema (a copy in tests/schemas, from the
team's shared folder, so a clean clone can check it offline)."""

from __future__ import annotations

import json

import jsonschema
import yaml

from testkit import ROOT

SCHEMA = json.loads((ROOT / "tests" / "schemas" / "pulumi-project.schema.json").read_text())
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def test_pulumi_yaml_validates_against_the_official_schema():
    jsonschema.validate(PROJECT, SCHEMA)


def test_the_schema_copy_catches_a_bad_declaration():
    """The check itself: an object-typed config declaration is not allowed by the schema."""
    broken = {**PROJECT, "config": {"ecs-fargate:network": {"type": "object"}}}
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(broken))
    assert errors


def test_project_declares_the_environment_and_a_python_venv():
    assert PROJECT["name"] == "ecs-fargate"
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert PROJECT["config"]["ecs-fargate:environment"]["type"] == "string"
