"""Rules for load balancers and their listeners (`aws:lb/*` and the older `aws:alb/*` types)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, PolicyResource, Severity
from pulumi_policy.proxy import UnknownValueError

from ._common import (
    known_arn,
    LISTENER_RULES,
    LISTENERS,
    LOAD_BALANCERS,
    WAF_ASSOCIATIONS,
    Config,
    Props,
    ResourceRule,
    StackRule,
    as_list,
    is_set,
    mapping,
    of_type,
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
    # Without a protocol an ALB's listener is HTTP (pulumi-aws: "with a default of HTTP"); only
    # a gateway load balancer's listener has no protocol by design. Its ARN tells them apart, but
    # it is unknown in a first preview: then a port - even one not known yet - settles it, as a
    # gateway's listener has none (ELB refuses both), so plain HTTP is still caught.
    try:
        arn = props.get("loadBalancerArn")
    except UnknownValueError:
        if is_set(props, "port"):
            return "HTTP"
        raise
    return "GENEVE" if ":loadbalancer/gwy/" in str(arn or "") else "HTTP"


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


def check_access_logs(props: Props, config: Config) -> Iterator[str]:
    if not _is_application(props):
        return
    logs = mapping(props.get("accessLogs"))
    if logs.get("enabled") is not True or not logs.get("bucket"):
        yield ("accessLogs is not enabled with a bucket (enabled defaults to false, even with a "
               "bucket), so requests to the load balancer leave no record.")


def check_desync_mitigation(props: Props, config: Config) -> Iterator[str]:
    if not _is_application(props):
        return
    mode = str(props.get("desyncMitigationMode") or "defensive")  # the provider's and AWS's default
    if mode.lower() not in config["allowedModes"]:
        yield (f"desyncMitigationMode is {mode}, so requests that may be HTTP desync attacks are "
               "passed on to the targets.")


def check_deletion_protection(props: Props, config: Config) -> Iterator[str]:
    if props.get("enableDeletionProtection") is not True:
        yield ("enableDeletionProtection is not true, so a mistaken destroy or replacement deletes "
               "the load balancer and its DNS name.")


def _referenced(resource: PolicyResource, key: str, candidates: Sequence[PolicyResource]
                ) -> tuple[list[PolicyResource], UnknownValueError | None]:
    """The resources of `candidates` that `resource`'s `key` (an ARN) names: by ARN where it is
    known; in a first preview, where it is not, through the property's dependencies. The error
    comes back when neither tells (the ARN of something outside the stack, not known yet)."""
    try:
        value = resource.props.get(key)
    except UnknownValueError as unknown:
        dependencies = {d.urn for d in (getattr(resource, "property_dependencies", None) or {}).get(key, [])}
        found = [c for c in candidates if c.urn in dependencies]
        return found, (None if found else unknown)
    return [c for c in candidates if value and known_arn(c) == str(value)], None


def check_http_listener_rules(resources: Sequence[PolicyResource], config: Config
                              ) -> Iterator[tuple[str, str]]:
    listeners = of_type(resources, *LISTENERS)
    unresolved = None
    for rule in of_type(resources, *LISTENER_RULES):
        forwards = [a for a in as_list(rule.props.get("actions")) if mapping(a).get("type") == "forward"]
        if not forwards:
            continue
        targets, unknown = _referenced(rule, "listenerArn", listeners)
        unresolved = unresolved or unknown
        for listener in targets:
            if _listener_protocol(listener.props) == "HTTP":
                yield (f"listener rule forwards requests to targets from HTTP listener '{listener.name}' "
                       f"(port {shown(listener.props.get('port'))}), bypassing HTTPS whatever the "
                       "listener's default action does.", rule.urn)
    if unresolved is not None:
        raise unresolved


def check_waf(resources: Sequence[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    balancers = [b for b in of_type(resources, *LOAD_BALANCERS)
                 if _is_application(b.props) and b.props.get("internal") is not True]
    if not balancers:
        return
    protected: set[str] = set()
    unresolved = None
    for association in of_type(resources, *WAF_ASSOCIATIONS):
        found, unknown = _referenced(association, "resourceArn", balancers)
        protected |= {b.urn for b in found}
        unresolved = unresolved or unknown
    missing = [b for b in balancers if b.urn not in protected]
    if missing and unresolved is not None:
        raise unresolved  # an association whose target can't be told yet may be the missing one
    for balancer in missing:
        yield (f"internet-facing load balancer '{balancer.name}' has no WAF web ACL "
               "(aws.wafv2.WebAclAssociation), so nothing filters common web exploits and bad bots "
               "before they reach the targets.", balancer.urn)


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
    StackRule(
        name="alb-https-redirect-rules",
        description="Listener rules on HTTP listeners must not forward to targets.",
        check=check_http_listener_rules,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        security_hub_control="ELB.1",
        rationale=("A forwarding rule on port 80 serves its paths over plain HTTP even when the "
                   "listener's default action redirects to HTTPS."),
        remediation_steps=("Attach forwarding rules to the HTTPS listener; the HTTP listener keeps "
                           "only its redirect to HTTPS."),
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
    ResourceRule(
        name="alb-access-logs",
        description="Application load balancers must write access logs to S3.",
        checks=dict.fromkeys(LOAD_BALANCERS, check_access_logs),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        security_hub_control="ELB.5",
        rationale=("Access logs are the only record of who sent which request to the load "
                   "balancer: incident response and audits need them."),
        remediation_steps=("Set accessLogs: {bucket: BUCKET, enabled: true} (loadBalancer.accessLogsBucket "
                           "in a stack file); the bucket's policy must let ELB log delivery write to it."),
    ),
    ResourceRule(
        name="alb-desync-mitigation",
        description="Application load balancers must not leave HTTP desync mitigation in monitor mode.",
        checks=dict.fromkeys(LOAD_BALANCERS, check_desync_mitigation),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        security_hub_control="ELB.12",
        config_schema=PolicyConfigSchema(properties={
            "allowedModes": {
                "type": "array",
                "items": {"type": "string", "enum": ["monitor", "defensive", "strictest"]},
                "minItems": 1,
                "default": ["defensive", "strictest"],
                "description": "desyncMitigationMode values a load balancer may use (the default is defensive).",
            },
        }),
        rationale=("In monitor mode the load balancer forwards ambiguous requests that can smuggle a "
                   "second request past it (HTTP desync)."),
        remediation_steps="Leave desyncMitigationMode unset (defensive) or set it to defensive or strictest.",
    ),
    StackRule(
        name="alb-waf",
        description="Internet-facing application load balancers should have a WAF web ACL.",
        check=check_waf,
        enforcement_level=EnforcementLevel.ADVISORY,
        severity=Severity.MEDIUM,
        security_hub_control="ELB.16",
        rationale=("A web ACL (AWS managed rule groups) blocks common exploits, bad inputs and known "
                   "bad IPs before they reach the tasks."),
        remediation_steps=("Add an aws.wafv2.WebAclAssociation whose resourceArn is the load balancer's "
                           "ARN and webAclArn a REGIONAL web ACL (e.g. with AWSManagedRulesCommonRuleSet)."),
    ),
]
