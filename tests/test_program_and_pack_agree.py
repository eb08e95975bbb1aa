"""The program and the pack keep their own copies of AWS facts (the pack must not import the
program: teams apply it to every stack). These tests stop the copies from drifting apart."""

from __future__ import annotations

import sys

from conftest import ROOT

import settings

sys.path.insert(0, str(ROOT / "policies"))
from ecs_fargate_rules import alb, ecs_task  # noqa: E402


def test_fargate_sizes_agree():
    assert settings.FARGATE_SIZES == ecs_task.FARGATE_SIZES


def test_every_tls_policy_the_program_offers_passes_the_pack():
    assert set(settings.TLS_POLICIES) <= set(alb.ALLOWED_TLS_POLICIES)
