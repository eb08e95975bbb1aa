"""The program the Pulumi engine runs for this policy pack (`python -u -m pulumi.policy ADDR DIR`).

A thin consumer of the `ecs_fargate_rules` library (imported from this directory, where the
engine runs the pack): `build_pack` constructs `PolicyPack` from every rule at its own level,
which starts the analyzer's gRPC server, prints its port and blocks forever. The levels per
environment come from `config/ENV.json` through `--policy-pack-config`, not from here.
"""

from pathlib import Path

from ecs_fargate_rules import build_pack, pack_version

build_pack(version=pack_version(Path(__file__).resolve().parent))
