"""The ecs-fargate CrossGuard rules, a library: importable without starting the policy server.

`build_pack(...)` (in `pack`) makes a `PolicyPack` of them in one call, with levels, config, a
subset and a team's own extra policies; `policies/__main__.py` is that call. Constructing the
pack starts the gRPC server the Pulumi engine talks to and never returns, so tests and tools
(preflight's policy table, the tests' offline evaluation helpers) import the rules from here.
Installable with `pip install ./policies`; it needs only pulumi-policy and botocore's models.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel

from . import alb, aws_constraints, ecr, ecs_deployment, ecs_service, ecs_task, iam, logs, network
from ._common import ResourceRule, StackRule

PACK_NAME = "ecs-fargate"
# Every rule sets its own level; this applies only to a rule that would not.
PACK_ENFORCEMENT_LEVEL = EnforcementLevel.ADVISORY

ALL_POLICIES: list[ResourceRule | StackRule] = [
    *ecs_task.POLICIES,
    *ecs_service.POLICIES,
    *ecs_deployment.POLICIES,
    *ecr.POLICIES,
    *alb.POLICIES,
    *network.POLICIES,
    *iam.POLICIES,
    *logs.POLICIES,
    *aws_constraints.POLICIES,
]
POLICIES_BY_NAME = {policy.name: policy for policy in ALL_POLICIES}

# After the names above, which `pack` imports.
from .pack import PackConfigError, build_pack, pack_options, pack_version  # noqa: E402

__all__ = ["ALL_POLICIES", "PACK_ENFORCEMENT_LEVEL", "PACK_NAME", "POLICIES_BY_NAME", "PackConfigError",
           "ResourceRule", "StackRule", "build_pack", "pack_options", "pack_version"]
