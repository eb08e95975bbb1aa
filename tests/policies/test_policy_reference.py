"""The policy reference table in docs/policies.md."""

import policy_testkit  # noqa: F401 - makes the pack's rules importable

from ecs_fargate_rules import ALL_POLICIES
from preflight.policy_reference import ENVIRONMENTS, effective_settings, markdown_table


def _rows():
    lines = markdown_table().splitlines()
    assert lines[0] == "| Policy | Checks | Applies to | dev | staging | prod | Why |"
    return {line.split("`")[1]: [c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]}


def test_one_row_per_policy_in_pack_order():
    assert list(_rows()) == [p.name for p in ALL_POLICIES]


def test_levels_are_the_effective_ones_from_the_config_files():
    rows = _rows()
    for environment_index, environment in enumerate(ENVIRONMENTS, start=3):
        settings = effective_settings(environment)
        for name, cells in rows.items():
            assert cells[environment_index].split("<br>")[0] == settings[name][0]


def test_rows_show_description_rationale_types_and_config_overrides():
    rows = _rows()
    assert rows["ecs-taskdef-logging"][0] == "`ecs-taskdef-logging` (Security Hub ECS.9)"
    assert rows["alb-https-redirect"][2] == "`aws.alb.Listener`, `aws.lb.Listener`"
    assert rows["ecr-lifecycle-policy"][2] == "the whole stack"
    assert rows["logs-retention-set"][3] == "advisory<br>`minimumDays: 1`"
    assert rows["logs-retention-set"][5] == "mandatory"  # prod keeps the default of 30 days
    for policy in ALL_POLICIES:
        assert rows[policy.name][1] == policy.description
        assert rows[policy.name][-1] == policy.rationale


def test_docs_table_is_generated_from_the_rules():
    """The docs must say what is enforced: regenerate the table with `make policy-table`."""
    from pathlib import Path

    from preflight.policy_reference import readme_table

    page = (Path(__file__).resolve().parents[2] / "docs" / "policies.md").read_text()
    assert readme_table(page) == markdown_table(), "docs/policies.md policy table is stale: run `make policy-table`"
