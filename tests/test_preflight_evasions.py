"""End to end, as a CI check would run it: a foreign program written to evade the pack is caught by
preflight at prod's levels, in an update and in a first preview (tests/fixtures/foreign/evasions)."""

from __future__ import annotations

import json

import pytest

from preflight.__main__ import main
from testkit import ROOT

PROGRAM = ROOT / "tests" / "fixtures" / "foreign" / "evasions"
CAUGHT = {
    "ecs-taskdef-no-privileged",        # "Privileged": true and an added NET_ADMIN, in PascalCase
    "ecs-image-no-latest-tag",          # nginx:LATEST
    "ecs-taskdef-no-plaintext-secrets",  # DB_PASSWORD with a secret-looking value
    "iam-no-wildcard-admin",            # AdministratorAccess through aws.iam.PolicyAttachment
    "iam-no-privilege-escalation",
    "alb-https-redirect",               # a listener without protocol is HTTP
}


@pytest.mark.parametrize("preview", [False, True], ids=["update", "first preview"])
def test_every_evasion_is_caught(preview, capsys):
    status = main(["--cwd", str(PROGRAM), "--stack", "prod", "--json", "--policy-config",
                   str(ROOT / "policies" / "config" / "prod.json"), *(["--preview"] if preview else [])])
    report = json.loads(capsys.readouterr().out)
    assert status == 1
    mandatory = {v["policy"] for v in report["violations"] if v["enforcementLevel"] == "mandatory"}
    assert CAUGHT <= mandatory, CAUGHT - mandatory
    privileged = [v["message"] for v in report["violations"] if v["policy"] == "ecs-taskdef-no-privileged"]
    assert len(privileged) == 2  # privileged, and a capability other than SYS_PTRACE
    secrets = " ".join(v["message"] for v in report["violations"] if v["policy"] == "ecs-taskdef-no-plaintext-secrets")
    assert "DB_PASSWORD" in secrets and "PASSWORD_MIN_LENGTH" not in secrets
    assert report["notEvaluated"] == [] and report["answeredWithNothing"] == []
