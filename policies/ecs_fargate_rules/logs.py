"""Rule for CloudWatch log groups: a finite retention of a minimum length."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity

from ._common import LOG_GROUP, Config, Props, ResourceRule, shown


def check_retention(props: Props, config: Config) -> Iterator[str]:
    if props.get("logGroupClass") == "DELIVERY":
        return  # CloudWatch fixes retention of DELIVERY log groups at 2 days
    days = props.get("retentionInDays")
    minimum = config["minimumDays"]
    if not days:
        yield ("retentionInDays is not set (or 0), so the logs never expire and are billed "
               "forever; set a retention period.")
    elif days < minimum:
        yield (f"retentionInDays is {shown(days)}, shorter than the minimum of {shown(minimum)} days "
               "needed to investigate an incident after the fact.")


POLICIES = [
    ResourceRule(
        name="logs-retention-set",
        description="CloudWatch log groups must set a retention period of at least a minimum number of days.",
        checks={LOG_GROUP: check_retention},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.LOW,
        config_schema=PolicyConfigSchema(properties={
            "minimumDays": {
                "type": "integer",
                "minimum": 1,
                # 30 days outlives a monthly review and most incident-detection windows without
                # paying to keep every debug line forever (Copilot's default; Security Hub's
                # CloudWatch.16 asks for 365, which regulated stacks can configure).
                "default": 30,
                "description": "The shortest acceptable retentionInDays.",
            },
        }),
        rationale=("CloudWatch keeps logs forever by default (CDK and awsx leave it so), which "
                   "costs money every month; too short a retention loses the evidence of an incident."),
        remediation_steps=("Set retentionInDays to a CloudWatch retention value at or above the "
                           "minimum, e.g. 30, 90 or 365."),
    ),
]
