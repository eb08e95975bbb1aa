"""LoadBalancer: an internet-facing ALB with its own security group and HTTPS done right."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._aws import TOKEN_PREFIX
from components.listener_rules import ListenerPriorities
from components.validation import (
    TLS_POLICIES, Problems, bucket_error, certificate_arn_error, check_fields, cidr_error, constrained, items, known,
    log_prefix_error, raise_problems,
)

DEFAULT_SSL_POLICY = TLS_POLICIES[0]


@dataclass(frozen=True)
class LoadBalancerSpec:
    """How the load balancer serves: who may connect, HTTPS, timeouts, protection, access logs."""

    allowed_cidrs: Sequence[str] = constrained(("0.0.0.0/0",), kind="strings", check=cidr_error,
                                               known_because="each CIDR names its ingress rules")
    """Who may connect on 80/443: IPv4 CIDRs with their prefix length and no host bits set."""
    certificate_arn: pulumi.Input[str] | None = constrained(None, kind="string", check=certificate_arn_error,
                                                         deploy_time=True)
    """An ACM certificate in the load balancer's region: serve HTTPS on 443 and redirect 80 to it.
    Without: HTTP only."""
    ssl_policy: str = constrained(DEFAULT_SSL_POLICY, kind="string", choices=TLS_POLICIES)
    """TLS policy of the HTTPS listener (TLS 1.2 and 1.3 only)."""
    idle_timeout_seconds: int = constrained(60, kind="int", low=1, high=4000)
    """How long the load balancer keeps an idle connection open."""
    deletion_protection: bool = constrained(False, kind="bool")
    """AWS refuses to delete the load balancer until this is turned off (on by default in prod)."""
    access_logs_bucket: pulumi.Input[str] | None = constrained(None, kind="string", check=bucket_error, deploy_time=True)
    """Write access logs to this S3 bucket."""
    access_logs_prefix: pulumi.Input[str] | None = constrained(None, kind="string", check=log_prefix_error,
                                                            deploy_time=True)
    """Where in the bucket the access logs go (with `access_logs_bucket` only)."""
    test_listener_port: int | None = constrained(None, kind="int", low=1, high=65535,
                                                 known_because="it decides the listener and its ingress rules")
    """A second listener for test traffic: a service with `deployment.test_traffic` gets a rule on
    it, with its production rule's conditions and priority, that sends requests to the new revision
    before production traffic moves. HTTPS with a certificate. Not 80 or 443."""
    test_listener_cidrs: Sequence[str] = constrained((), kind="strings", check=cidr_error,
                                                     known_because="each CIDR names its ingress rules")
    """Who may connect to the test listener (required with `test_listener_port`): not the public,
    who would otherwise reach an unreleased version."""


@dataclass
class LoadBalancerAttachment:
    """What a web service needs from the load balancer: take a `LoadBalancer`'s `attachment`, which
    also carries the priorities claimed on its listener, so that two FargateServices with one
    priority are refused before either registers anything."""

    listener_arn: pulumi.Input[str]
    security_group_id: pulumi.Input[str]
    arn_suffix: pulumi.Input[str]
    priorities: ListenerPriorities | None = None
    """The listener's claimed priorities; None: not tracked (the attachment was built by hand)."""
    test_listener_arn: pulumi.Input[str] | None = None
    """The test listener (`LoadBalancerSpec.test_listener_port`), where a service with
    `deployment.test_traffic` puts its test listener rule; None: the load balancer has none."""


@dataclass
class LoadBalancerArgs:
    vpc_id: pulumi.Input[str]
    """The VPC of the load balancer and its targets."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Public subnets in at least two AZs."""
    spec: LoadBalancerSpec = LoadBalancerSpec()
    """How it serves: checked when the component is created."""


def check_load_balancer(p: Problems, spec: LoadBalancerSpec, path: str, *, fields: bool = True,
                        given: Collection[str] | None = None) -> None:
    """Everything AWS would refuse in a load balancer; `fields=False`: the checks across fields only.

    `given`: the fields set explicitly (a stack file's keys); None: those that are set at all."""
    if fields:
        check_fields(p, spec, path)

    def is_given(name: str) -> bool:
        return name in given if given is not None else getattr(spec, name) is not None

    if is_given("allowed_cidrs") and known(spec.allowed_cidrs) and not items(spec.allowed_cidrs):
        p.fail(p.at(path, "allowed_cidrs"),
               "an empty list would make the load balancer unreachable; list at least one CIDR")
    port = spec.test_listener_port
    if port in (80, 443):
        p.fail(p.at(path, "test_listener_port"), f"{p.show(path, port)} is a production listener's port; "
                                                 "choose another, e.g. 8443")
    if port is not None and not items(spec.test_listener_cidrs):
        p.fail(p.at(path, "test_listener_cidrs"), f"required with {p.key('test_listener_port')}: who may reach "
                                                  "the test listener (e.g. your office or VPN CIDR)")
    if port is None and items(spec.test_listener_cidrs):
        p.fail(p.at(path, "test_listener_cidrs"), f"only applies with {p.key('test_listener_port')}")
    if is_given("access_logs_prefix") and not is_given("access_logs_bucket"):
        p.fail(p.at(path, "access_logs_prefix"), f"only applies with {p.at(path, 'access_logs_bucket')}")


def _not_found() -> aws.lb.ListenerDefaultActionArgs:
    # Requests no service claims get a plain 404 rather than some service's response.
    return aws.lb.ListenerDefaultActionArgs(
        type="fixed-response",
        fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
            content_type="text/plain", message_body="Not Found", status_code="404"),
    )


class LoadBalancer(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    arn_suffix: pulumi.Output[str]
    """`app/NAME/ID`, the dimension CloudWatch and request-count autoscaling use."""
    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    """The ALB's canonical hosted zone, for a Route 53 alias record to `dns_name`."""
    url: pulumi.Output[str]
    """`https://DNS` with a certificate, `http://DNS` without."""
    security_group_id: pulumi.Output[str]
    """Task security groups admit traffic from this group only."""
    listener_arn: pulumi.Output[str]
    """The listener services attach their rules to (HTTPS when there is a certificate)."""
    test_listener_arn: pulumi.Output[str] | None
    """The test listener on `spec.test_listener_port` (HTTPS with a certificate); None without one."""
    attachment: LoadBalancerAttachment
    """What a web service's `FargateServiceArgs.load_balancer` takes: this listener, security group
    and the priorities the services attached to it have claimed."""

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        problems = Problems()
        check_load_balancer(problems, args.spec, "spec")
        raise_problems(f"LoadBalancer {name}", problems)
        super().__init__(f"{TOKEN_PREFIX}LoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        spec = args.spec
        https = spec.certificate_arn is not None

        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Load balancer: HTTP(S) from the allowed CIDRs",
            opts=child,
        )
        ports = [80, 443] if https else [80]
        for cidr in spec.allowed_cidrs:
            for port in ports:
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-ingress-{port}-{cidr.replace('/', '-')}",
                    security_group_id=security_group.id,
                    ip_protocol="tcp", from_port=port, to_port=port, cidr_ipv4=cidr,
                    description=f"HTTP{'S' if port == 443 else ''} from {cidr}",
                    opts=child,
                )
        # The test listener admits only its own CIDRs: it reaches versions not yet released.
        for cidr in spec.test_listener_cidrs if spec.test_listener_port is not None else ():
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-ingress-{spec.test_listener_port}-{cidr.replace('/', '-')}",
                security_group_id=security_group.id,
                ip_protocol="tcp", from_port=spec.test_listener_port, to_port=spec.test_listener_port,
                cidr_ipv4=cidr,
                description=f"Test listener from {cidr}",
                opts=child,
            )
        # Egress is added per service, to that service's task security group on its port.

        access_logs = None
        if spec.access_logs_bucket:
            access_logs = aws.lb.LoadBalancerAccessLogsArgs(
                bucket=spec.access_logs_bucket, prefix=spec.access_logs_prefix, enabled=True)
        balancer = aws.lb.LoadBalancer(
            f"{name}-lb",
            load_balancer_type="application",
            internal=False,
            subnets=args.subnet_ids,
            security_groups=[security_group.id],
            idle_timeout=spec.idle_timeout_seconds,
            drop_invalid_header_fields=True,
            enable_deletion_protection=spec.deletion_protection,
            enable_http2=True,
            access_logs=access_logs,
            opts=child,
        )

        if https:
            main = aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=balancer.arn,
                port=443, protocol="HTTPS",
                certificate_arn=spec.certificate_arn,
                ssl_policy=spec.ssl_policy,
                default_actions=[_not_found()],
                opts=child,
            )
            aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=balancer.arn,
                port=80, protocol="HTTP",
                default_actions=[aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"),
                )],
                opts=child,
            )
        else:
            main = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=balancer.arn,
                port=80, protocol="HTTP",
                default_actions=[_not_found()],
                opts=child,
            )

        test = None
        if spec.test_listener_port is not None:
            # Where ECS sends test traffic to the new revision before production traffic moves
            # (services with `deployment.test_traffic` add their rule here); served like the
            # production listener, with the same certificate and TLS policy.
            test = aws.lb.Listener(
                f"{name}-test",
                load_balancer_arn=balancer.arn,
                port=spec.test_listener_port,
                protocol="HTTPS" if https else "HTTP",
                certificate_arn=spec.certificate_arn if https else None,
                ssl_policy=spec.ssl_policy if https else None,
                default_actions=[_not_found()],
                opts=child,
            )

        self.arn = balancer.arn
        self.arn_suffix = balancer.arn_suffix
        self.dns_name = balancer.dns_name
        self.zone_id = balancer.zone_id
        self.url = pulumi.Output.concat("https://" if https else "http://", balancer.dns_name)
        self.security_group_id = security_group.id
        self.listener_arn = main.arn
        self.test_listener_arn = test.arn if test is not None else None
        self.attachment = LoadBalancerAttachment(listener_arn=self.listener_arn,
                                                 security_group_id=self.security_group_id,
                                                 arn_suffix=self.arn_suffix, priorities=ListenerPriorities(),
                                                 test_listener_arn=self.test_listener_arn)
        self.register_outputs({
            "arn": self.arn,
            "dnsName": self.dns_name,
            "zoneId": self.zone_id,
            "url": self.url,
            "securityGroupId": self.security_group_id,
            "listenerArn": self.listener_arn,
            **({"testListenerArn": self.test_listener_arn} if test is not None else {}),
        })
