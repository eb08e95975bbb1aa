"""The log group retention rule."""

import pytest
from policy_testkit import log_group, violations

from ecs_fargate_rules._common import LOG_GROUP


@pytest.mark.parametrize("days", [30, 90, 3653])
def test_retention_at_or_above_the_minimum_passes(days):
    assert violations("logs-retention-set", LOG_GROUP, log_group(retentionInDays=days)) == []


@pytest.mark.parametrize("days", [None, 0])
def test_never_expiring_logs_fail(days):
    [message] = violations("logs-retention-set", LOG_GROUP, log_group(retentionInDays=days))
    assert "never expire" in message


def test_short_retention_fails_against_the_configured_minimum():
    [message] = violations("logs-retention-set", LOG_GROUP, log_group(retentionInDays=14))
    assert "retentionInDays is 14, shorter than the minimum of 30 days" in message
    two_weeks = log_group(retentionInDays=14)
    assert violations("logs-retention-set", LOG_GROUP, two_weeks, {"minimumDays": 7}) == []


def test_delivery_log_groups_have_fixed_retention():
    props = log_group(retentionInDays=None, logGroupClass="DELIVERY")
    assert violations("logs-retention-set", LOG_GROUP, props) == []
