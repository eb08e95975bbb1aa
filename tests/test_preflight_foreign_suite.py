"""Foreign programs written the way other teams write them (tests/fixtures/foreign/suite): plain
pulumi_aws with Args classes or dicts, get_policy_document with conditions, container definitions
from Outputs, json_dumps or a PascalCase file, a capacity provider strategy, a Scheduler schedule,
config and loops, awsx components; compliant ones, and variants: one edit of a compliant program
that introduces exactly one violation (VARIANTS). Each
runs at prod's and dev's levels, as an update and a first preview, and must give exactly these
findings with nothing left unevaluated.

A first preview cannot see what depends on outputs not yet known (as a real `pulumi preview`):
v-plaintext-key builds its container definitions from the repository URL, v-passrole-star its
scheduler policy from the task definition's ARN, so the rule is reported as skipped there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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

# variant -> (the compliant program it edits, file, text replaced, replacement): the violation is
# the only difference, so a finding other than the expected one is the rule's doing, not the copy's.
VARIANTS: dict[str, tuple[str, str, str, str]] = {
    'v-http-forward': ('hardened-args', '__main__.py', '    default_actions=[aws.lb.ListenerDefaultActionArgs(type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(\n        port="443", protocol="HTTPS", status_code="HTTP_301"))]))\n',
                       '    default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=tg.arn)]))\n'),
    'v-latest-file': ('file-taskdef', 'containers.json', '    "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:2024.11.3",\n',
                      '    "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:latest",\n'),
    'v-no-breaker': ('hardened-args', '__main__.py', '    deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),\n',
                     ''),
    'v-no-retention': ('hardened-args', '__main__.py', 'log_group = aws.cloudwatch.LogGroup("api-logs", aws.cloudwatch.LogGroupArgs(retention_in_days=30))\n',
                       'log_group = aws.cloudwatch.LogGroup("api-logs", aws.cloudwatch.LogGroupArgs())\n'),
    'v-notaction-dict': ('dict-default-vpc', '__main__.py', 'app_role = aws.iam.Role("orders-task", assume_role_policy=assume.json)\n',
                         'app_role = aws.iam.Role("orders-task", assume_role_policy=assume.json)\naws.iam.RolePolicy("orders-task-broad", role=app_role.id, policy=aws.iam.get_policy_document(statements=[\n    {"effect": "Allow", "not_actions": ["iam:*", "organizations:*"], "resources": ["*"]}]).json)\n'),
    'v-one-task': ('hardened-args', '__main__.py', '    cluster=cluster.arn, task_definition=task.arn, desired_count=2, launch_type="FARGATE",\n',
                   '    cluster=cluster.arn, task_definition=task.arn, desired_count=1, launch_type="FARGATE",\n'),
    'v-passrole-star': ('scheduled-job', '__main__.py', '    {"actions": ["iam:PassRole"], "resources": [exec_role.arn, task_role.arn]},\n',
                        '    {"actions": ["iam:PassRole"], "resources": ["*"]},\n'),
    'v-plaintext-key': ('hardened-args', '__main__.py', '    "environment": [{"name": "LOG_LEVEL", "value": "info"}],\n',
                        '    "environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "STRIPE_API_KEY", "value": "sk_live_51Habc0Def"}],\n'),
    'v-public-ip': ('hardened-args', '__main__.py', '        subnets=[s.id for s in private], security_groups=[task_sg.id], assign_public_ip=False),\n',
                    '        subnets=[s.id for s in private], security_groups=[task_sg.id], assign_public_ip=True),\n'),
    'v-task-open': ('config-loop', '__main__.py', '    aws.vpc.SecurityGroupIngressRule(f"{name}-from-lb", security_group_id=sg.id, referenced_security_group_id=lb_sg.id,\n',
                    '    aws.vpc.SecurityGroupIngressRule(f"{name}-from-lb", security_group_id=sg.id, cidr_ipv4="0.0.0.0/0",\n'),
    'v-unscoped-trust': ('hardened-args', '__main__.py', '    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole",\n    "Condition": {"StringEquals": {"aws:SourceAccount": identity.account_id}}}]})\n',
                         '    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})\n'),
}

CASES = [(program, env, mode) for program in EXPECTED for env in ("prod", "dev") for mode in ("update", "preview")]


def test_every_program_is_in_the_suite():
    assert {p.name for p in SUITE.iterdir() if p.is_dir()} == set(EXPECTED) - set(VARIANTS)
    assert set(VARIANTS) == {name for name in EXPECTED if name.startswith("v-")}
    assert {base for base, *_ in VARIANTS.values()} <= set(COMPLIANT)


def program_dir(program: str, tmp_path: Path) -> Path:
    """A suite program as it stands, or a variant: its compliant program copied with the one edit."""
    if program not in VARIANTS:
        return SUITE / program
    base, file, old, new = VARIANTS[program]
    target = tmp_path / program
    shutil.copytree(SUITE / base, target)
    text = (target / file).read_text()
    assert text.count(old) == 1, f"{program}: the edit no longer applies to {base}/{file}"
    (target / file).write_text(text.replace(old, new))
    return target


def test_each_violating_variant_has_exactly_one_violation_at_prod():
    for program, findings in EXPECTED.items():
        if program.startswith("v-"):
            assert len(findings["prod"]) == 1, program


@pytest.mark.parametrize(("program", "env", "mode"), CASES, ids=["-".join(c) for c in CASES])
def test_foreign_program_findings(program, env, mode, capsys, tmp_path):
    status = main(["--cwd", str(program_dir(program, tmp_path)), "--stack", env, "--json",
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
