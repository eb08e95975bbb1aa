"""Load balancer and listener rules, on both the aws.lb and the older aws.alb types."""

import pytest
from policy_testkit import http_listener, https_listener, load_balancer, redirect_action, violations

from ecs_fargate_rules._common import LISTENERS, LOAD_BALANCERS


@pytest.mark.parametrize("listener_type", LISTENERS)
def test_listener_rules_accept_compliant_listeners(listener_type):
    for props in (http_listener(), https_listener()):
        for policy in ("alb-https-redirect", "alb-tls-policy"):
            assert violations(policy, listener_type, props) == [], policy


@pytest.mark.parametrize("lb_type", LOAD_BALANCERS)
def test_load_balancer_rules_accept_a_compliant_alb(lb_type):
    for policy in ("alb-drop-invalid-headers", "alb-deletion-protection"):
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
