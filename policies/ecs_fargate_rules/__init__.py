"""The ecs-fargate CrossGuard rules, importable without starting the policy server.

`policies/__main__.py` hands `ALL_POLICIES` to `PolicyPack`, whose constructor starts the gRPC
server the Pulumi engine talks to and never returns. Everything else - tests, the README's
reference table (`reference.markdown_table`), offline checks (`evaluation`) - imports the
rules from here.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel

from . import alb, aws_constraints, ecr, ecs_service, ecs_task, iam, logs, network
from ._common import ResourceRule, StackRule

PACK_NAME = "ecs-fargate"
# Every rule sets its own level; this applies only to a rule that would not.
PACK_ENFORCEMENT_LEVEL = EnforcementLevel.ADVISORY

ALL_POLICIES: list[ResourceRule | StackRule] = [
    *ecs_task.POLICIES,
    *ecs_service.POLICIES,
    *ecr.POLICIES,
    *alb.POLICIES,
    *network.POLICIES,
    *iam.POLICIES,
    *logs.POLICIES,
    *aws_constraints.POLICIES,
]
POLICIES_BY_NAME = {policy.name: policy for policy in ALL_POLICIES}

__all__ = ["ALL_POLICIES", "PACK_ENFORCEMENT_LEVEL", "PACK_NAME", "POLICIES_BY_NAME", "ResourceRule",
           "StackRule"]
