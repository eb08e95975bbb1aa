"""Load balancer and listener rules, on both the aws.lb and the older aws.alb types."""

import pytest
from policy_evaluation import UNKNOWN, evaluate, policy_resource, stack_args
from policy_testkit import (
    ACCOUNT,
    ALB_ARN,
    LISTENER_ARN,
    REGION,
    TARGET_GROUP_ARN,
    analyze,
    environment_config,
    http_listener,
    https_listener,
    listener_rule,
    load_balancer,
    redirect_action,
    stack_violations,
    violations,
    waf_association,
)
from pulumi_policy.proxy import UnknownValueError

from ecs_fargate_rules import POLICIES_BY_NAME
from ecs_fargate_rules._common import LISTENER_RULES, LISTENERS, LOAD_BALANCERS, WAF_ASSOCIATIONS


@pytest.mark.parametrize("listener_type", LISTENERS)
def test_listener_rules_accept_compliant_listeners(listener_type):
    for props in (http_listener(), https_listener()):
        for policy in ("alb-https-redirect", "alb-tls-policy"):
            assert violations(policy, listener_type, props) == [], policy


@pytest.mark.parametrize("lb_type", LOAD_BALANCERS)
def test_load_balancer_rules_accept_a_compliant_alb(lb_type):
    for policy in ("alb-drop-invalid-headers", "alb-deletion-protection", "alb-access-logs",
                   "alb-desync-mitigation"):
        assert violations(policy, lb_type, load_balancer()) == [], policy


# alb-https-redirect

@pytest.mark.parametrize("listener_type", LISTENERS)
def test_http_listener_that_serves_requests_fails(listener_type):
    props = http_listener(defaultActions=[{"type": "forward", "targetGroupArn": "arn:aws:tg"}])
    [message] = violations("alb-https-redirect", listener_type, props)
    assert "HTTP listener on port 80" in message and "default actions: forward" in message


@pytest.mark.parametrize("actions", [
    [],
    [redirect_action("HTTP")],
    [{"type": "redirect", "redirect": {"port": "8080", "statusCode": "HTTP_302"}}],  # keeps #{protocol}
    [redirect_action(), {"type": "fixed-response", "fixedResponse": {"statusCode": "404"}}],
])
def test_http_listener_must_only_redirect_to_https(actions):
    assert len(violations("alb-https-redirect", LISTENERS[0], http_listener(defaultActions=actions))) == 1


def test_listener_without_protocol_is_http_on_an_alb():
    props = http_listener(protocol=None, defaultActions=[{"type": "fixed-response"}])
    assert len(violations("alb-https-redirect", LISTENERS[0], props)) == 1


def test_gateway_load_balancer_listeners_are_not_http():
    props = http_listener(protocol=None, defaultActions=[{"type": "forward"}],
                          loadBalancerArn="arn:aws:elasticloadbalancing:eu-west-1:123456789012:"
                                          "loadbalancer/gwy/fw/1a2b")
    assert violations("alb-https-redirect", LISTENERS[0], props) == []


def test_redirect_rule_ignores_https_and_tcp_listeners():
    assert violations("alb-https-redirect", LISTENERS[0], https_listener()) == []
    tcp = http_listener(protocol="TCP", defaultActions=[])
    assert violations("alb-https-redirect", LISTENERS[0], tcp) == []


# alb-tls-policy

@pytest.mark.parametrize("policy", [
    "ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09", "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
])
def test_allowed_tls_policies_pass(policy):
    assert violations("alb-tls-policy", LISTENERS[0], https_listener(sslPolicy=policy)) == []


@pytest.mark.parametrize("policy, expected", [
    ("ELBSecurityPolicy-2016-08", "'ELBSecurityPolicy-2016-08' is not one of the allowed"),
    ("ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06", "is not one of the allowed"),
    (None, "sslPolicy is not set, so AWS applies ELBSecurityPolicy-2016-08"),
])
def test_weak_or_missing_tls_policies_fail(policy, expected):
    [message] = violations("alb-tls-policy", LISTENERS[1], https_listener(sslPolicy=policy))
    assert expected in message


def test_tls_policy_applies_to_nlb_tls_listeners_and_is_configurable():
    props = https_listener(protocol="TLS", sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06")
    assert violations("alb-tls-policy", LISTENERS[0], props) == []
    config = {"allowedPolicies": ["ELBSecurityPolicy-TLS13-1-3-2021-06"]}
    assert len(violations("alb-tls-policy", LISTENERS[0], props, config)) == 1


# alb-drop-invalid-headers

@pytest.mark.parametrize("value", [False, None])
def test_alb_keeping_invalid_headers_fails(value):
    [message] = violations("alb-drop-invalid-headers", LOAD_BALANCERS[0],
                           load_balancer(dropInvalidHeaderFields=value))
    assert "dropInvalidHeaderFields is not true" in message


def test_application_is_the_default_load_balancer_type():
    props = load_balancer(loadBalancerType=None, dropInvalidHeaderFields=None)
    assert len(violations("alb-drop-invalid-headers", LOAD_BALANCERS[0], props)) == 1


def test_network_load_balancers_have_no_header_setting():
    props = load_balancer(loadBalancerType="network", dropInvalidHeaderFields=None)
    assert violations("alb-drop-invalid-headers", LOAD_BALANCERS[0], props) == []


# alb-deletion-protection

@pytest.mark.parametrize("lb_type", LOAD_BALANCERS)
@pytest.mark.parametrize("kind", ["application", "network"])
def test_unprotected_load_balancer_fails(lb_type, kind):
    props = load_balancer(loadBalancerType=kind, enableDeletionProtection=False)
    [message] = violations("alb-deletion-protection", lb_type, props)
    assert "enableDeletionProtection is not true" in message


# A listener without a protocol (issue 9): HTTP on an ALB, also in a first preview.

def test_listener_without_protocol_is_http_while_the_load_balancer_arn_is_unknown():
    props = http_listener(protocol=None, loadBalancerArn=UNKNOWN, defaultActions=[
        {"type": "forward", "targetGroupArn": TARGET_GROUP_ARN}])
    [message] = violations("alb-https-redirect", LISTENERS[0], props)
    assert "HTTP listener on port 80" in message
    assert violations("alb-tls-policy", LISTENERS[0], props) == []  # HTTP: no TLS policy, and no skip


def test_listener_without_protocol_is_flagged_by_the_engine_in_a_first_preview():
    props = http_listener(protocol=None, loadBalancerArn=UNKNOWN, defaultActions=[{"type": "fixed-response"}])
    found = [d for d in analyze([(LISTENERS[0], "web-http", props)], environment_config("prod"))
             if d.policy in ("alb-https-redirect", "alb-tls-policy")]
    assert [(d.policy, d.enforcement_level, d.skipped) for d in found] == [
        ("alb-https-redirect", "mandatory", False)]


def test_a_listener_with_neither_protocol_nor_port_is_judged_by_its_load_balancer():
    gateway = http_listener(protocol=None, port=None, defaultActions=[{"type": "forward"}],
                            loadBalancerArn=f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/gwy/fw/1a2b")
    assert violations("alb-https-redirect", LISTENERS[0], gateway) == []
    application = http_listener(protocol=None, port=None, defaultActions=[{"type": "forward"}])
    assert len(violations("alb-https-redirect", LISTENERS[0], application)) == 1


# alb-https-redirect-rules


def _listener_stack(listener: dict, rule: dict, listener_type: str = LISTENERS[0],
                    rule_type: str = LISTENER_RULES[0]) -> list:
    return [(listener_type, "web-http", {**listener, "arn": LISTENER_ARN}), (rule_type, "api", rule)]


@pytest.mark.parametrize("listener_type", LISTENERS)
@pytest.mark.parametrize("rule_type", LISTENER_RULES)
def test_forwarding_rule_on_a_redirecting_http_listener_fails(listener_type, rule_type):
    [found] = stack_violations("alb-https-redirect-rules",
                               _listener_stack(http_listener(), listener_rule(), listener_type, rule_type))
    assert "forwards requests to targets from HTTP listener 'web-http' (port 80)" in found.message
    assert found.urn.endswith(f"::{rule_type}::api")
    # The listener alone passes the resource rule: only the stack rule sees the bypass.
    assert violations("alb-https-redirect", listener_type, http_listener()) == []


def test_forwarding_rule_on_a_listener_without_protocol_fails():
    stack = _listener_stack(http_listener(protocol=None), listener_rule())
    assert len(stack_violations("alb-https-redirect-rules", stack)) == 1


@pytest.mark.parametrize("listener, rule", [
    (https_listener(), listener_rule()),  # forwarding on HTTPS is the point
    (http_listener(), listener_rule(actions=[redirect_action()])),
    (http_listener(), listener_rule(listenerArn=LISTENER_ARN.replace("f2f7", "0000"))),  # another stack's
])
def test_rules_that_do_not_forward_plain_http_pass(listener, rule):
    assert stack_violations("alb-https-redirect-rules", _listener_stack(listener, rule)) == []


def test_forwarding_rule_is_found_through_dependencies_in_a_first_preview():
    listener = policy_resource(LISTENERS[0], http_listener(arn=UNKNOWN, loadBalancerArn=UNKNOWN), name="web-http")
    rule = policy_resource(LISTENER_RULES[0], listener_rule(listenerArn=UNKNOWN), name="api")
    rule.property_dependencies = {"listenerArn": [listener]}
    [found] = evaluate(POLICIES_BY_NAME["alb-https-redirect-rules"], stack_args([listener, rule]))
    assert "HTTP listener 'web-http'" in found.message


def test_a_rule_of_a_listener_that_cannot_be_told_yet_is_not_passed():
    rule = policy_resource(LISTENER_RULES[0], listener_rule(listenerArn=UNKNOWN), name="api")
    with pytest.raises(UnknownValueError):
        evaluate(POLICIES_BY_NAME["alb-https-redirect-rules"], stack_args([rule]))


# alb-access-logs

@pytest.mark.parametrize("lb_type", LOAD_BALANCERS)
@pytest.mark.parametrize("logs", [None, {}, {"bucket": "web-alb-logs"},  # enabled defaults to false
                                  {"bucket": "web-alb-logs", "enabled": False}, {"enabled": True}])
def test_alb_without_access_logs_fails(lb_type, logs):
    [message] = violations("alb-access-logs", lb_type, load_balancer(accessLogs=logs))
    assert "accessLogs is not enabled with a bucket" in message


def test_access_logs_apply_to_application_load_balancers_only():
    assert violations("alb-access-logs", LOAD_BALANCERS[0], load_balancer(
        loadBalancerType="network", accessLogs=None)) == []
    assert len(violations("alb-access-logs", LOAD_BALANCERS[0], load_balancer(
        loadBalancerType=None, accessLogs=None))) == 1


# alb-desync-mitigation

@pytest.mark.parametrize("mode", ["defensive", "strictest", None])
def test_defensive_or_strictest_desync_mitigation_passes(mode):
    assert violations("alb-desync-mitigation", LOAD_BALANCERS[1], load_balancer(desyncMitigationMode=mode)) == []


def test_desync_mitigation_in_monitor_mode_fails():
    [message] = violations("alb-desync-mitigation", LOAD_BALANCERS[0], load_balancer(desyncMitigationMode="monitor"))
    assert "desyncMitigationMode is monitor" in message
    assert violations("alb-desync-mitigation", LOAD_BALANCERS[0], load_balancer(
        loadBalancerType="network", desyncMitigationMode="monitor")) == []
    strict = {"allowedModes": ["strictest"]}
    assert len(violations("alb-desync-mitigation", LOAD_BALANCERS[0], load_balancer(), strict)) == 1


# alb-waf

def _alb(**overrides) -> tuple:
    return (LOAD_BALANCERS[0], "web-alb", load_balancer(arn=ALB_ARN, **overrides))


@pytest.mark.parametrize("association_type", WAF_ASSOCIATIONS)
def test_internet_facing_alb_with_a_web_acl_passes(association_type):
    stack = [_alb(), (association_type, "web-waf", waf_association(ALB_ARN))]
    assert stack_violations("alb-waf", stack) == []


def test_internet_facing_alb_without_a_web_acl_fails():
    other = ALB_ARN.replace("50dc", "0000")
    [found] = stack_violations("alb-waf", [_alb(), (WAF_ASSOCIATIONS[0], "other", waf_association(other))])
    assert "internet-facing load balancer 'web-alb' has no WAF web ACL" in found.message
    assert found.urn.endswith("::web-alb")


def test_internal_and_network_load_balancers_need_no_web_acl():
    assert stack_violations("alb-waf", [_alb(internal=True)]) == []
    assert stack_violations("alb-waf", [_alb(loadBalancerType="network")]) == []


def test_web_acl_is_found_through_dependencies_in_a_first_preview():
    balancer = policy_resource(LOAD_BALANCERS[0], load_balancer(arn=UNKNOWN), name="web-alb")
    association = policy_resource(WAF_ASSOCIATIONS[0], waf_association(UNKNOWN), name="web-waf")
    association.property_dependencies = {"resourceArn": [balancer]}
    assert evaluate(POLICIES_BY_NAME["alb-waf"], stack_args([balancer, association])) == []
    assert len(evaluate(POLICIES_BY_NAME["alb-waf"], stack_args([balancer]))) == 1
