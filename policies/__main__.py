"""The program the Pulumi engine runs for this policy pack (`python -u -m pulumi.policy ADDR DIR`).

It only assembles the pack: constructing `PolicyPack` starts the analyzer's gRPC server, prints
its port and blocks forever, so every rule lives in the importable `ecs_fargate_rules` package.
"""

from contextlib import contextmanager
from pathlib import Path

import yaml
from pulumi_policy import PolicyPack
from pulumi_policy import policy as sdk

from ecs_fargate_rules import ALL_POLICIES, PACK_ENFORCEMENT_LEVEL, PACK_NAME

PACK_FILE = Path(__file__).resolve().parent / "PulumiPolicy.yaml"


def pack_version() -> str:
    """The `version` of PulumiPolicy.yaml, read as the CLI reads it (a string, never a number)."""
    return yaml.load(PACK_FILE.read_text(), Loader=yaml.BaseLoader)["version"]


@contextmanager
def reporting_version(version: str):
    """Make the SDK's analyzer report `version` instead of the "0.0.1" PolicyPack hard-codes.

    The CLI already shows PulumiPolicy.yaml's version in place of the pack's, but only in the
    fields it owns (GetAnalyzerInfo, each diagnostic's policyPackVersion); the SDK also writes
    the version into message text ("... from policy pack 'ecs-fargate@v0.0.1' during preview"),
    and anything talking to the pack directly sees it too. PolicyPack takes no version, so the
    analyzer it builds is given ours.
    """
    sdk_servicer = sdk._PolicyAnalyzerServicer

    def servicer(name, _sdk_version, *args, **kwargs):
        return sdk_servicer(name, version, *args, **kwargs)

    sdk._PolicyAnalyzerServicer = servicer
    try:
        yield
    finally:
        sdk._PolicyAnalyzerServicer = sdk_servicer


with reporting_version(pack_version()):
    PolicyPack(name=PACK_NAME, policies=ALL_POLICIES, enforcement_level=PACK_ENFORCEMENT_LEVEL)
