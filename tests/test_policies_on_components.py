"""Every rule of the pack on what our own components register under mocks.

Compliant: the shipped prod stack (and dev, where dev is the point). Violating: a real config
change where the program lets a user make the mistake, otherwise the rendered resource with one
property changed, the mistake a hand-written program (or a later edit) could make.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest

from policy_testkit import POLICIES_BY_NAME, stack_violations, violations
from testkit import ROOT, render_stack

TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
REPO = "aws:ecr/repository:Repository"
LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOGS = "aws:cloudwatch/logGroup:LogGroup"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
RULE = "aws:lb/listenerRule:ListenerRule"

_renderings: dict = {}


def rendering(stack: str, **overrides):
    key = (stack, json.dumps(overrides, sort_keys=True))
    if key not in _renderings:
        config = {f"ecs-fargate:{k}": v for k, v in overrides.items()}
        if "services" in overrides:
            base = render_stack_config(stack)["ecs-fargate:services"]
            config["ecs-fargate:services"] = _merge(base, overrides["services"])
        _renderings[key] = render_stack(stack, config)
    return _renderings[key]


def render_stack_config(stack: str) -> dict:
    from preflight.stack_config import load_stack_config
    return load_stack_config(ROOT, stack).config


def _merge(base: dict, change: dict) -> dict:
    merged = copy.deepcopy(base)
    for name, settings in change.items():
        merged[name] = {**merged.get(name, {}), **settings}
        for key, value in settings.items():
            if value is None:
                merged[name].pop(key)
    return merged


def props_of(stack_rendering, typ: str, name: str) -> dict:
    return copy.deepcopy(stack_rendering.one(typ, name).inputs)


def with_container(props: dict, **changes) -> dict:
    containers = json.loads(props["containerDefinitions"])
    for key, value in changes.items():
        if value is None:
            containers[0].pop(key, None)
        else:
            containers[0][key] = value
    props["containerDefinitions"] = json.dumps(containers)
    return props


def changed(props: dict, **changes) -> dict:
    props.update(changes)
    return props


# (policy, resource type, resource name, compliant rendering, violating props maker)
RESOURCE_CASES: list[tuple[str, str, str, Callable, Callable]] = [
    ("ecs-taskdef-execution-role-required", TASK, "api-task", lambda: rendering("prod"),
     lambda: {k: v for k, v in props_of(rendering("prod"), TASK, "api-task").items() if k != "executionRoleArn"}),
    ("ecs-image-no-latest-tag", TASK, "api-task", lambda: rendering("prod"),
     lambda: props_of(rendering("prod", services={"api": {"imageTag": "latest"}}), TASK, "api-task")),
    ("ecs-taskdef-distinct-roles", TASK, "api-task", lambda: rendering("prod"),
     lambda: (lambda p: changed(p, taskRoleArn=p["executionRoleArn"]))(props_of(rendering("prod"), TASK, "api-task"))),
    ("ecs-taskdef-logging", TASK, "worker-task", lambda: rendering("prod"),
     lambda: with_container(props_of(rendering("prod"), TASK, "worker-task"), logConfiguration=None)),
    ("ecs-taskdef-unambiguous-definitions", TASK, "api-task", lambda: rendering("prod"),
     lambda: with_container(props_of(rendering("prod"), TASK, "api-task"), Image="nginx:1.27")),
    ("ecs-taskdef-no-privileged", TASK, "api-task", lambda: rendering("prod"),
     lambda: with_container(props_of(rendering("prod"), TASK, "api-task"), privileged=True)),
    ("ecs-taskdef-awsvpc", TASK, "api-task", lambda: rendering("prod"),
     lambda: changed(props_of(rendering("prod"), TASK, "api-task"), networkMode="bridge")),
    ("ecs-taskdef-no-plaintext-secrets", TASK, "api-task", lambda: rendering("prod"),
     lambda: props_of(rendering("prod", services={"api": {"environment": {"DB_PASSWORD": "hunter2"}}}),
                      TASK, "api-task")),
    ("ecs-taskdef-fargate-size", TASK, "api-task", lambda: rendering("prod"),
     lambda: changed(props_of(rendering("prod"), TASK, "api-task"), memory="3000")),
    ("ecs-taskdef-readonly-rootfs", TASK, "api-task", lambda: rendering("prod"),
     lambda: props_of(rendering("prod", services={"api": {"readonlyRootFilesystem": False}}), TASK, "api-task")),
    ("ecs-service-circuit-breaker", SERVICE, "api-service", lambda: rendering("prod"),
     lambda: changed(props_of(rendering("prod"), SERVICE, "api-service"),
                     deploymentCircuitBreaker={"enable": True, "rollback": False})),
    # The api service switched to canary, its rollback alarm dropped (the rendered stacks deploy
    # rolling today; once a shipped service shifts traffic, its own props are the compliant case).
    ("ecs-deployment-safe-rollback", SERVICE, "api-service", lambda: rendering("prod"),
     lambda: changed(props_of(rendering("prod"), SERVICE, "api-service"), alarms=None, deploymentConfiguration={
         "strategy": "CANARY", "bakeTimeInMinutes": "10",
         "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": "10"}})),
    ("ecs-service-no-public-ip", SERVICE, "api-service", lambda: rendering("prod"),
     lambda: props_of(rendering("dev"), SERVICE, "web-service")),
    ("ecs-cluster-container-insights", "aws:ecs/cluster:Cluster", "cluster-cluster", lambda: rendering("prod"),
     lambda: changed(props_of(rendering("prod"), "aws:ecs/cluster:Cluster", "cluster-cluster"), settings=[])),
    ("ecr-immutable-tags", REPO, "registry-repo", lambda: rendering("prod"),
     lambda: props_of(rendering("dev"), REPO, "registry-repo")),
    ("alb-https-redirect", LISTENER, "alb-http", lambda: rendering("prod"),
     lambda: props_of(rendering("dev"), LISTENER, "alb-http")),
    ("alb-tls-policy", LISTENER, "alb-https", lambda: rendering("prod"),
     lambda: changed(props_of(rendering("prod"), LISTENER, "alb-https"), sslPolicy="ELBSecurityPolicy-2016-08")),
    ("alb-drop-invalid-headers", LB, "alb-lb", lambda: rendering("prod"),
     lambda: changed(props_of(rendering("prod"), LB, "alb-lb"), dropInvalidHeaderFields=False)),
    ("alb-deletion-protection", LB, "alb-lb", lambda: rendering("prod"),
     lambda: props_of(rendering("dev"), LB, "alb-lb")),
    ("alb-access-logs", LB, "alb-lb", lambda: rendering("prod"),
     lambda: props_of(rendering("dev"), LB, "alb-lb")),
    ("alb-desync-mitigation", LB, "alb-lb", lambda: rendering("prod"),
     lambda: changed(props_of(rendering("prod"), LB, "alb-lb"), desyncMitigationMode="monitor")),
    ("iam-ecs-trust-principals", ROLE, "api-roles-task", lambda: rendering("prod"),
     lambda: (lambda p: changed(p, assumeRolePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
         {**json.loads(p["assumeRolePolicy"])["Statement"][0],
          "Principal": {"Service": ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com"]}}]})))(
         props_of(rendering("prod"), ROLE, "api-roles-task"))),
    ("iam-no-wildcard-admin", ROLE_POLICY, "api-roles-task-app", lambda: rendering("prod"),
     lambda: props_of(rendering("prod", services={"api": {"taskRoleStatements": [
         {"Effect": "Allow", "Action": "*", "Resource": "*"}]}}), ROLE_POLICY, "api-roles-task-app")),
    ("logs-retention-set", LOGS, "api-logs", lambda: rendering("prod"),
     lambda: props_of(rendering("prod", services={"api": {"logRetentionDays": 7}}), LOGS, "api-logs")),
    # The egress description the task group had before EC2's charset was checked: EC2 refuses '.
    ("aws-api-constraints", EGRESS, "api-egress", lambda: rendering("prod"),
     lambda: changed(props_of(rendering("prod"), EGRESS, "api-egress"),
                     description="Outbound: image pulls, logs, secrets and the task's own calls")),
]


@pytest.mark.parametrize("policy, typ, name, compliant, violating", RESOURCE_CASES,
                         ids=[case[0] for case in RESOURCE_CASES])
def test_resource_rule_on_rendered_resources(policy, typ, name, compliant, violating):
    good = compliant()
    assert violations(policy, typ, props_of(good, typ, name)) == [], f"{policy} on {good.one(typ, name).urn}"
    assert violations(policy, typ, violating()), f"{policy} must flag the changed {typ} {name}"


def test_safe_rollback_rule_on_the_rendered_api_service_switched_to_canary():
    """The prod api service's own rollback alarm (5xx, rollback on) is what the rule asks for; the
    bake times decide. (The shipped stacks deploy rolling until the deployment setting lands.)"""
    api = props_of(rendering("prod"), SERVICE, "api-service")
    assert api["alarms"]["enable"] is True and api["alarms"]["rollback"] is True and api["alarms"]["alarmNames"]
    canary = {"strategy": "CANARY", "bakeTimeInMinutes": "10",
              "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": "5"}}
    assert violations("ecs-deployment-safe-rollback", SERVICE, changed(api, deploymentConfiguration=canary)) == []
    canary["canaryConfiguration"]["canaryBakeTimeInMinutes"] = "2"
    [message] = violations("ecs-deployment-safe-rollback", SERVICE, changed(api, deploymentConfiguration=canary))
    assert "canaryBakeTimeInMinutes 2 minutes, under the minimum of 5" in message


def test_allowed_registries_rule_on_rendered_task_definitions():
    ecr_only = {"allowedRegistries": ["123456789012.dkr.ecr."]}
    prod = rendering("prod")
    assert violations("ecs-image-allowed-registries", TASK, props_of(prod, TASK, "api-task"), ecr_only) == []
    [message] = violations("ecs-image-allowed-registries", TASK, props_of(prod, TASK, "worker-task"), ecr_only)
    assert "public.ecr.aws" in message


def stack_of(stack_rendering, drop: Callable = lambda r: False, extra: list | None = None):
    """The rendered custom resources as `stack_violations` takes them: (type, name, outputs,
    ignore_changes), the resource option a stack rule may read (`opts.ignore_changes`)."""
    return [(r.type, r.name, copy.deepcopy(r.outputs), list(r.ignore_changes)) for r in stack_rendering.resources
            if r.custom and not drop(r)] + (extra or [])


def test_min_tasks_stack_rule_on_the_rendered_stack():
    assert stack_violations("ecs-service-min-tasks", stack_of(rendering("prod"))) == []
    [violation] = stack_violations("ecs-service-min-tasks", stack_of(rendering("dev")))
    assert violation.urn.endswith("web-service") and "desiredCount is 1" in violation.message
    # Without desiredCount, the api's autoscaling target (minCount 3) is what keeps it up.
    prod = stack_of(rendering("prod"))
    for _typ, name, outputs, _ignored in prod:
        if name == "api-service":
            outputs.pop("desiredCount", None)
    assert [t for t, *_ in prod if t == "aws:appautoscaling/target:Target"], "the api scales"
    assert stack_violations("ecs-service-min-tasks", prod) == []


def test_exec_and_platform_version_stack_rules_on_the_rendered_stack():
    for policy in ("ecs-exec-session-logging", "ecs-fargate-platform-version"):
        assert stack_violations(policy, stack_of(rendering("prod"))) == [], policy
    prod = stack_of(rendering("prod"))
    for _typ, name, outputs, _ignored in prod:
        if name == "api-service":
            outputs.update(enableExecuteCommand=True, platformVersion="1.3.0")
    # DEFAULT logging goes through the tasks' awslogs driver, which the api has.
    assert stack_violations("ecs-exec-session-logging", prod) == []
    for typ, _name, outputs, _ignored in prod:
        if typ == "aws:ecs/cluster:Cluster":
            outputs["configuration"] = {"executeCommandConfiguration": {"logging": "NONE"}}
    [no_logging] = stack_violations("ecs-exec-session-logging", prod)
    assert no_logging.urn.endswith("api-service")
    [old] = stack_violations("ecs-fargate-platform-version", prod)
    assert old.urn.endswith("api-service")


def test_lifecycle_stack_rule_on_the_rendered_stack():
    prod = rendering("prod")
    assert stack_violations("ecr-lifecycle-policy", stack_of(prod)) == []
    without = stack_of(prod, drop=lambda r: r.type == "aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert stack_violations("ecr-lifecycle-policy", without)


def test_task_ingress_stack_rule_on_the_rendered_stack():
    prod = rendering("prod")
    assert stack_violations("sg-task-ingress-from-alb-only", stack_of(prod)) == []
    api_sg = prod.one("aws:ec2/securityGroup:SecurityGroup", "api-sg").id
    open_rule = ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "api-open",
                 {"securityGroupId": api_sg, "ipProtocol": "tcp", "fromPort": 3000, "toPort": 3000,
                  "cidrIpv4": "0.0.0.0/0"})
    assert stack_violations("sg-task-ingress-from-alb-only", stack_of(prod, extra=[open_rule]))


def test_trust_stack_rule_on_the_rendered_stack():
    """Task roles carry the scope, execution roles AWS's documented trust: both pass; a task
    role that loses its conditions, or whose account condition names another account, fails."""
    prod = rendering("prod")
    assert stack_violations("iam-ecs-trust-scoped", stack_of(prod)) == []

    def task_role_trust(statement_change):
        def change(resource):
            if resource[0] == ROLE and resource[1] == "api-roles-task":
                props = copy.deepcopy(resource[2])
                trust = json.loads(props["assumeRolePolicy"])
                trust["Statement"][0] = statement_change(trust["Statement"][0])
                props["assumeRolePolicy"] = json.dumps(trust)
                return (resource[0], resource[1], props, *resource[3:])
            return resource
        return [change(r) for r in stack_of(prod)]

    unscoped = task_role_trust(lambda s: {k: v for k, v in s.items() if k != "Condition"})
    [violation] = stack_violations("iam-ecs-trust-scoped", unscoped)
    assert violation.urn.endswith("::api-roles-task"), violation
    elsewhere = task_role_trust(lambda s: {k: v for k, v in s.items() if k != "Condition"} | {
        "Condition": {"StringEquals": {"aws:SourceAccount": "210987654321"}}})
    assert stack_violations("iam-ecs-trust-scoped", elsewhere)


def test_privilege_escalation_stack_rule_on_the_rendered_stack():
    """The task, execution and scheduler roles' policies pass; a task role statement that may
    pass any role fails, on the task role's policy."""
    for stack in ("prod", "staging", "dev"):
        assert stack_violations("iam-no-privilege-escalation", stack_of(rendering(stack))) == [], stack
    broad = rendering("prod", services={"api": {"taskRoleStatements": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "iam:PassRole"], "Resource": ["*"]}]}})
    [violation] = stack_violations("iam-no-privilege-escalation", stack_of(broad))
    assert violation.urn.endswith("::api-roles-task-app"), violation
    assert "task role api-roles-task" in violation.message


def test_api_constraints_stack_rule_on_the_rendered_stack():
    prod = rendering("prod")
    assert stack_violations("aws-api-constraints-stack", stack_of(prod)) == []
    second = (RULE, "api-rule-copy", props_of(prod, RULE, "api-rule"))
    [first, copy_of_it] = stack_violations("aws-api-constraints-stack", stack_of(prod, extra=[second]))
    assert first.urn.endswith("::api-rule") and copy_of_it.urn.endswith("::api-rule-copy")


def test_scan_on_push_stack_rule_on_the_rendered_stack():
    assert stack_violations("ecr-scan-on-push", stack_of(rendering("prod"))) == []
    unscanned = rendering("prod", registry={"scanOnPush": False})
    [violation] = stack_violations("ecr-scan-on-push", stack_of(unscanned))
    assert violation.urn.endswith("::registry-repo")
    enhanced = ("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "registry-scanning",
                {"scanType": "ENHANCED", "rules": [{"scanFrequency": "CONTINUOUS_SCAN",
                                                    "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]})
    assert stack_violations("ecr-scan-on-push", stack_of(unscanned, extra=[enhanced])) == []


def test_repository_policy_rule_on_the_rendered_repository():
    """Our registry sets no repository policy; one a program adds for its organization passes,
    one open to every AWS account fails."""
    prod = rendering("prod")
    name = prod.one(REPO, "registry-repo").outputs["name"]
    pull = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["ecr:BatchGetImage"]}
    org = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    policy = "aws:ecr/repositoryPolicy:RepositoryPolicy"

    def document(statement):
        return {"repository": name, "policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}
    assert violations("ecr-repository-policy-not-public", policy, document({**pull, "Condition": org})) == []
    assert violations("ecr-repository-policy-not-public", policy, document(pull))


def test_https_redirect_rules_stack_rule_on_the_rendered_stack():
    """Prod's services attach to the HTTPS listener; dev (no certificate) serves on HTTP, where
    its forwarding rules are exactly what the rule reports."""
    assert stack_violations("alb-https-redirect-rules", stack_of(rendering("prod"))) == []
    [violation] = stack_violations("alb-https-redirect-rules", stack_of(rendering("dev")))
    assert "HTTP listener 'alb-http'" in violation.message and violation.urn.endswith("::web-rule")


def test_waf_stack_rule_on_the_rendered_stack():
    prod = rendering("prod")
    [violation] = stack_violations("alb-waf", stack_of(prod))
    assert violation.urn.endswith("::alb-lb")
    association = ("aws:wafv2/webAclAssociation:WebAclAssociation", "alb-waf", {
        "resourceArn": prod.one(LB, "alb-lb").outputs["arn"],
        "webAclArn": "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/alb/a1b2c3d4-5678-90ab-cdef-111122223333"})
    assert stack_violations("alb-waf", stack_of(prod, extra=[association])) == []


def test_rules_managed_once_stack_rule_on_the_rendered_stack():
    """Our components manage every group's rules as rule resources; an inline rule added to the
    load balancer's group would fight them."""
    prod = rendering("prod")
    assert stack_violations("sg-rules-managed-once", stack_of(prod)) == []

    def inline(resource):
        if resource[1] == "alb-sg":
            return (resource[0], resource[1], {**resource[2], "ingress": [
                {"protocol": "tcp", "fromPort": 8443, "toPort": 8443, "cidrBlocks": ["0.0.0.0/0"]}]}, *resource[3:])
        return resource
    [violation] = stack_violations("sg-rules-managed-once", [inline(r) for r in stack_of(prod)])
    assert violation.urn.endswith("::alb-sg")


def test_deployment_rules_stack_rule_on_the_rendered_stack():
    """Prod's api deploys canary: its service names its production and test listener rules, which
    ignore the target groups ECS moves, so the rule passes; without that option on them both are
    violations. Dev's web service deploys rolling (no advanced configuration), so its rule is not
    concerned until a service names it."""
    prod = stack_of(rendering("prod"))
    [api] = [outputs for typ, name, outputs, _ in prod if typ == SERVICE and name == "api-service"]
    advanced = api["loadBalancers"][0]["advancedConfiguration"]
    rules = {outputs["arn"]: (name, ignored) for typ, name, outputs, ignored in prod if typ == RULE}
    assert {role: rules[advanced[role]] for role in ("productionListenerRule", "testListenerRule")} == {
        "productionListenerRule": ("api-rule", ["actions[*].forward.targetGroups[*]"]),
        "testListenerRule": ("api-test-rule", ["actions[*].forward.targetGroups[*]"])}
    assert stack_violations("ecs-deployment-rules-not-reverted", prod) == []
    reverting = [(typ, name, outputs, [] if typ == RULE else ignored) for typ, name, outputs, ignored in prod]
    found = stack_violations("ecs-deployment-rules-not-reverted", reverting)
    assert sorted(v.urn.rsplit("::", 1)[1] for v in found) == ["api-rule", "api-test-rule"], found
    assert all("service 'api-service'" in v.message for v in found), found

    dev = stack_of(rendering("dev"))
    assert stack_violations("ecs-deployment-rules-not-reverted", dev) == []
    _, rule_name, rule, _ = next(r for r in dev if r[0] == RULE)
    _, name, outputs, _ = next(r for r in dev if r[0] == SERVICE and r[2].get("loadBalancers"))
    outputs["loadBalancers"][0]["advancedConfiguration"] = {
        "productionListenerRule": rule["arn"], "roleArn": "arn:aws:iam::123456789012:role/ecs",
        "alternateTargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/alt/0123456789abcdef"}
    [violation] = stack_violations("ecs-deployment-rules-not-reverted", dev)
    assert violation.urn.endswith(f"::{rule_name}") and f"service '{name}'" in violation.message


def test_every_rule_of_the_pack_is_exercised_here():
    covered = {case[0] for case in RESOURCE_CASES} | {
        "ecs-image-allowed-registries", "ecr-lifecycle-policy", "sg-task-ingress-from-alb-only",
        "iam-ecs-trust-scoped", "iam-no-privilege-escalation", "aws-api-constraints-stack", "ecr-scan-on-push",
        "ecr-repository-policy-not-public", "alb-https-redirect-rules", "alb-waf", "sg-rules-managed-once",
        "ecs-service-min-tasks", "ecs-exec-session-logging", "ecs-fargate-platform-version",
        "ecs-deployment-rules-not-reverted"}
    assert covered == set(POLICIES_BY_NAME)
