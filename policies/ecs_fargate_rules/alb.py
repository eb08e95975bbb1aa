"""Rules for load balancers and their listeners (`aws:lb/*` and the older `aws:alb/*` types)."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity

from ._common import (
    LISTENERS,
    LOAD_BALANCERS,
    Config,
    Props,
    ResourceRule,
    as_list,
    mapping,
    shown,
)

# TLS 1.2/1.3-only predefined policies without the CBC/SHA1 suites of the "Ext" variants:
# the 2021 TLS 1.3 policies, their FIPS (2023-04) and post-quantum (2025-09) successors.
ALLOWED_TLS_POLICIES = [
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
]


def _listener_protocol(props: Props) -> str:
    protocol = props.get("protocol")
    if protocol:
        return str(protocol).upper()
    # Only gateway load balancers have listeners without a protocol; on an ALB the provider
    # defaults it to HTTP. The ARN is read only in this rare case, as it is unknown in preview.
    return "GENEVE" if ":loadbalancer/gwy/" in str(props.get("loadBalancerArn") or "") else "HTTP"


def _redirects_to_https(action: object) -> bool:
    action = mapping(action)
    return (action.get("type") == "redirect"
            and str(mapping(action.get("redirect")).get("protocol") or "").upper() == "HTTPS")


def check_https_redirect(props: Props, config: Config) -> Iterator[str]:
    if _listener_protocol(props) != "HTTP":
        return
    actions = as_list(props.get("defaultActions"))
    if not actions or not all(_redirects_to_https(action) for action in actions):
        kinds = ", ".join(str(mapping(a).get("type")) for a in actions) or "none"
        yield (f"HTTP listener on port {shown(props.get('port'))} serves requests (default actions: "
               f"{kinds}) instead of only redirecting them to HTTPS.")


def check_tls_policy(props: Props, config: Config) -> Iterator[str]:
    if _listener_protocol(props) not in ("HTTPS", "TLS"):
        return
    policy = props.get("sslPolicy")
    if not policy:
        yield ("sslPolicy is not set, so AWS applies ELBSecurityPolicy-2016-08, which still allows "
               "TLS 1.0 and 1.1.")
    elif policy not in config["allowedPolicies"]:
        yield f"sslPolicy '{policy}' is not one of the allowed TLS 1.2+ policies."


def _is_application(props: Props) -> bool:
    return (props.get("loadBalancerType") or "application") == "application"  # the provider's default


def check_drop_invalid_headers(props: Props, config: Config) -> Iterator[str]:
    if _is_application(props) and props.get("dropInvalidHeaderFields") is not True:
        yield ("dropInvalidHeaderFields is not true, so malformed headers (a request smuggling "
               "vector) are passed on to the targets.")


def check_deletion_protection(props: Props, config: Config) -> Iterator[str]:
    if props.get("enableDeletionProtection") is not True:
        yield ("enableDeletionProtection is not true, so a mistaken destroy or replacement deletes "
               "the load balancer and its DNS name.")


POLICIES = [
    ResourceRule(
        name="alb-https-redirect",
        description="HTTP listeners of application load balancers must only redirect to HTTPS.",
        checks=dict.fromkeys(LISTENERS, check_https_redirect),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        security_hub_control="ELB.1",
        rationale=("Plain HTTP exposes sessions and credentials on the wire; port 80 should only "
                   "send users to 443."),
        remediation_steps=("Give the HTTP listener a single default action {type: 'redirect', "
                           "redirect: {protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301'}} "
                           "and attach forwarding rules to the HTTPS listener."),
    ),
    ResourceRule(
        name="alb-tls-policy",
        description="HTTPS and TLS listeners must use an allowed TLS 1.2+ security policy.",
        checks=dict.fromkeys(LISTENERS, check_tls_policy),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=PolicyConfigSchema(properties={
            "allowedPolicies": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "default": ALLOWED_TLS_POLICIES,
                "description": "Names of the ELB predefined security policies a listener may use.",
            },
        }),
        rationale=("The API's default policy (ELBSecurityPolicy-2016-08) still accepts TLS 1.0/1.1 "
                   "and weak ciphers; the console's default differs, so set it explicitly."),
        remediation_steps="Set sslPolicy to ELBSecurityPolicy-TLS13-1-2-2021-06 or another allowed policy.",
    ),
    ResourceRule(
        name="alb-drop-invalid-headers",
        description="Application load balancers must drop invalid HTTP header fields.",
        checks=dict.fromkeys(LOAD_BALANCERS, check_drop_invalid_headers),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        security_hub_control="ELB.4",
        rationale=("Forwarding malformed headers enables HTTP desync and request smuggling "
                   "against the targets."),
        remediation_steps="Set dropInvalidHeaderFields: true on the load balancer.",
    ),
    ResourceRule(
        name="alb-deletion-protection",
        description="Load balancers must have deletion protection enabled.",
        checks=dict.fromkeys(LOAD_BALANCERS, check_deletion_protection),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        security_hub_control="ELB.6",
        rationale=("Recreating a load balancer changes its DNS name and drops every connection; "
                   "protection makes that a deliberate two-step act in production."),
        remediation_steps=("Set enableDeletionProtection: true (turn it off in a separate update "
                           "before an intended delete)."),
    ),
]
