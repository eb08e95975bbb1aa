"""Foreign programs written the way other teams write them (tests/fixtures/foreign/suite): plain
pulumi_aws with Args classes or dicts, get_policy_document with conditions, container definitions
from Outputs, json_dumps or a PascalCase file, a capacity provider strategy, a Scheduler schedule,
config and loops, awsx components; compliant ones and variants with exactly one violation. Each
runs at prod's and dev's levels, as an update and a first preview, and must give exactly these
findings with nothing left unevaluated.

A first preview cannot see what depends on outputs not yet known (as a real `pulumi preview`):
v-plaintext-key builds its container definitions from the repository URL, v-passrole-star its
scheduler policy from the task definition's ARN, so the rule is reported as skipped there."""

from __future__ import annotations

import json

import pytest

from preflight.__main__ import main
from testkit import ROOT

SUITE = ROOT / "tests" / "fixtures" / "foreign" / "suite"
M, A = "mandatory", "advisory"
COMPLIANT = ("hardened-args", "dict-default-vpc", "file-taskdef", "scheduled-job", "config-loop")

AWSX_PROD = {("alb-access-logs", M), ("alb-deletion-protection", M), ("alb-drop-invalid-headers", M),
             ("alb-https-redirect", M), ("alb-waf", A), ("ecs-service-circuit-breaker", M),
             ("ecs-taskdef-readonly-rootfs", A), ("iam-ecs-trust-scoped", M), ("logs-retention-set", M)}
AWSX_DEV = {("alb-drop-invalid-headers", A), ("ecs-service-circuit-breaker", A), ("ecs-taskdef-readonly-rootfs", A),
            ("iam-ecs-trust-scoped", M), ("logs-retention-set", A)}

# program -> {env: findings}; the same in an update and a first preview unless PREVIEW says otherwise.
EXPECTED: dict[str, dict[str, set]] = {
    **{name: {"prod": set(), "dev": set()} for name in COMPLIANT},
    "awsx-stack": {"prod": AWSX_PROD, "dev": AWSX_DEV},
    "v-unscoped-trust": {"prod": {("iam-ecs-trust-scoped", M)}, "dev": {("iam-ecs-trust-scoped", M)}},
    "v-public-ip": {"prod": {("ecs-service-no-public-ip", M)}, "dev": set()},  # disabled in dev
    "v-no-retention": {"prod": {("logs-retention-set", M)}, "dev": {("logs-retention-set", A)}},
    "v-http-forward": {"prod": {("alb-https-redirect", M)}, "dev": set()},  # disabled in dev
    "v-plaintext-key": {"prod": {("ecs-taskdef-no-plaintext-secrets", M)},
                        "dev": {("ecs-taskdef-no-plaintext-secrets", M)}},
    "v-one-task": {"prod": {("ecs-service-min-tasks", M)}, "dev": set()},  # dev's minimum is 1
    "v-no-breaker": {"prod": {("ecs-service-circuit-breaker", M)}, "dev": {("ecs-service-circuit-breaker", A)}},
    "v-passrole-star": {"prod": {("iam-no-privilege-escalation", M)}, "dev": {("iam-no-privilege-escalation", A)}},
    "v-latest-file": {"prod": {("ecs-image-no-latest-tag", M)}, "dev": {("ecs-image-no-latest-tag", A)}},
    "v-notaction-dict": {"prod": {("iam-no-privilege-escalation", M)},  # NotAction given as not_actions in a dict
                         "dev": {("iam-no-privilege-escalation", A)}},
    "v-task-open": {"prod": {("sg-task-ingress-from-alb-only", M)}, "dev": {("sg-task-ingress-from-alb-only", M)}},
}
PREVIEW: dict[tuple[str, str], set] = {
    ("v-plaintext-key", "prod"): set(), ("v-plaintext-key", "dev"): set(),
    ("v-passrole-star", "prod"): set(), ("v-passrole-star", "dev"): set(),
}
SKIPPED_IN_PREVIEW = {"v-plaintext-key": "ecs-taskdef-no-plaintext-secrets",
                      "v-passrole-star": "iam-no-privilege-escalation"}

CASES = [(program, env, mode) for program in EXPECTED for env in ("prod", "dev") for mode in ("update", "preview")]


def test_every_program_is_in_the_suite():
    assert {p.name for p in SUITE.iterdir() if p.is_dir()} == set(EXPECTED)


def test_each_violating_variant_has_exactly_one_violation_at_prod():
    for program, findings in EXPECTED.items():
        if program.startswith("v-"):
            assert len(findings["prod"]) == 1, program


@pytest.mark.parametrize(("program", "env", "mode"), CASES, ids=["-".join(c) for c in CASES])
def test_foreign_program_findings(program, env, mode, capsys):
    status = main(["--cwd", str(SUITE / program), "--stack", env, "--json",
                   "--policy-config", str(ROOT / "policies" / "config" / f"{env}.json"),
                   *(["--preview"] if mode == "preview" else [])])
    report = json.loads(capsys.readouterr().out)
    expected = EXPECTED[program][env]
    if mode == "preview":
        expected = PREVIEW.get((program, env), expected)
    found = {(v["policy"], v["enforcementLevel"]) for v in report["violations"]}
    assert found == expected
    assert report["notEvaluated"] == [] and report["answeredWithNothing"] == []
    assert status == (1 if any(level == M for _, level in expected) else 0)
    if mode == "preview" and program in SKIPPED_IN_PREVIEW:
        assert SKIPPED_IN_PREVIEW[program] in json.dumps(report["skipped"])
