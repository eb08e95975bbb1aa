"""The program and the pack keep their own copies of AWS facts (the pack must not import the
program: teams apply it to every stack). These tests stop the copies from drifting apart."""

from __future__ import annotations

import pytest

import settings
from components.scheduled_task import schedule_error
from ecs_fargate_rules import alb, aws_constraints, ecs_task


def test_fargate_sizes_agree():
    assert settings.FARGATE_SIZES == ecs_task.FARGATE_SIZES


def test_every_tls_policy_the_program_offers_passes_the_pack():
    offered = settings.declared(settings.LOAD_BALANCER, "sslPolicy").choices
    assert offered and set(offered) <= set(alb.ALLOWED_TLS_POLICIES)


SCHEDULES = [
    "cron(0 3 * * ? *)", "cron(15 12 ? * MON-FRI *)", "cron(0 9 ? * mon-fri *)", "cron(0/15 * * * ? 2030)",
    "cron(0 8 L * ? *)", "cron(0 9 ? * 3#2 *)", "cron(0 0 1,15 JAN,JUL ? 2026-2028)", "cron(0 3 15W * ? *)",
    "rate(1 minute)", "rate(1 minutes)", "rate(5 hour)", "rate(12 hours)", "rate(1 day)",
    "at(2030-01-31T23:59:00)",
    "cron(0 3 * * *)", "cron(0 3 * * * *)", "cron(0 3 ? * ? *)", "cron(60 3 * * ? *)", "cron(0 24 * * ? *)",
    "cron(0 3 * 13 ? *)", "cron(0 3 ? * 8 *)", "cron(0 3 * * ? 1969)", "cron(0 12 ? * 6#6 *)",
    "rate(0 minutes)", "rate(1 week)", "rate(5 minutess)", "at(2030-02-30T00:00:00)", "at(2030-1-1T00:00:00)",
    "every 5 minutes", "cron(0 ³ * * ? *)", "cron(0 ٣ * * ? *)",
    # Day-of-week takes no / (Scheduler's cron table: , - * ? L #); digits and names are ASCII.
    "cron(0 3 ? * */2 *)", "cron(0 3 ? * MON-FRI/2 *)", "cron(0 3 ? * 2/2 *)", "cron(0 3 ? * ſun *)",
    "rate(٣ hours)", "at(٢٠٣٠-01-01T00:00:00)",
]


@pytest.mark.parametrize("expression", SCHEDULES)
def test_program_and_pack_judge_schedule_expressions_alike(expression):
    """The stack's config and the pack's aws-api-constraints apply one Scheduler grammar."""
    program_accepts = schedule_error(expression) is None
    pack_accepts = not list(aws_constraints.grammar_schedule_expression(expression, None))
    assert program_accepts == pack_accepts, (expression, program_accepts, pack_accepts)
