"""LoadBalancer: an internet-facing ALB with its own security group and HTTPS done right."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._aws import TOKEN_PREFIX

DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass
class LoadBalancerArgs:
    vpc_id: pulumi.Input[str]
    """The VPC of the load balancer and its targets."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Public subnets in at least two AZs."""
    allowed_cidrs: Sequence[str] = ("0.0.0.0/0",)
    """Who may connect on 80/443."""
    certificate_arn: str | None = None
    """An ACM certificate: serve HTTPS on 443 and redirect 80 to it. Without: HTTP only."""
    ssl_policy: str = DEFAULT_SSL_POLICY
    """TLS policy of the HTTPS listener (TLS 1.2 and 1.3 only)."""
    idle_timeout_seconds: int = 60
    deletion_protection: bool = False
    access_logs_bucket: str | None = None
    access_logs_prefix: str | None = None


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

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{TOKEN_PREFIX}LoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        https = args.certificate_arn is not None

        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Load balancer: HTTP(S) from the allowed CIDRs",
            opts=child,
        )
        ports = [80, 443] if https else [80]
        for cidr in args.allowed_cidrs:
            for port in ports:
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-ingress-{port}-{cidr.replace('/', '-')}",
                    security_group_id=security_group.id,
                    ip_protocol="tcp", from_port=port, to_port=port, cidr_ipv4=cidr,
                    description=f"HTTP{'S' if port == 443 else ''} from {cidr}",
                    opts=child,
                )
        # Egress is added per service, to that service's task security group on its port.

        access_logs = None
        if args.access_logs_bucket:
            access_logs = aws.lb.LoadBalancerAccessLogsArgs(
                bucket=args.access_logs_bucket, prefix=args.access_logs_prefix, enabled=True)
        balancer = aws.lb.LoadBalancer(
            f"{name}-lb",
            load_balancer_type="application",
            internal=False,
            subnets=args.subnet_ids,
            security_groups=[security_group.id],
            idle_timeout=args.idle_timeout_seconds,
            drop_invalid_header_fields=True,
            enable_deletion_protection=args.deletion_protection,
            enable_http2=True,
            access_logs=access_logs,
            opts=child,
        )

        if https:
            main = aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=balancer.arn,
                port=443, protocol="HTTPS",
                certificate_arn=args.certificate_arn,
                ssl_policy=args.ssl_policy,
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

        self.arn = balancer.arn
        self.arn_suffix = balancer.arn_suffix
        self.dns_name = balancer.dns_name
        self.zone_id = balancer.zone_id
        self.url = pulumi.Output.concat("https://" if https else "http://", balancer.dns_name)
        self.security_group_id = security_group.id
        self.listener_arn = main.arn
        self.register_outputs({
            "arn": self.arn,
            "dnsName": self.dns_name,
            "zoneId": self.zone_id,
            "url": self.url,
            "securityGroupId": self.security_group_id,
            "listenerArn": self.listener_arn,
        })
