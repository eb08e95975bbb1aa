"""The program the Pulumi engine runs for this policy pack (`python -u -m pulumi.policy ADDR .`).

It only assembles the pack: constructing `PolicyPack` starts the analyzer's gRPC server, prints
its port and blocks forever, so every rule lives in the importable `ecs_fargate_rules` package.
"""

from pulumi_policy import PolicyPack

from ecs_fargate_rules import ALL_POLICIES, PACK_ENFORCEMENT_LEVEL, PACK_NAME

PolicyPack(name=PACK_NAME, policies=ALL_POLICIES, enforcement_level=PACK_ENFORCEMENT_LEVEL)
