"""Network: a new VPC through awsx, or an existing VPC and its subnets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_awsx as awsx

from components._aws import TOKEN_PREFIX

_NAT_STRATEGY = {
    "none": awsx.ec2.NatGatewayStrategy.NONE,
    "single": awsx.ec2.NatGatewayStrategy.SINGLE,
    "perAz": awsx.ec2.NatGatewayStrategy.ONE_PER_AZ,
}


@dataclass
class NetworkArgs:
    vpc_cidr: str = "10.0.0.0/16"
    """CIDR block of a new VPC."""
    availability_zones: int = 2
    """Number of AZs a new VPC spans."""
    nat_gateways: str = "none"
    """`none` (tasks in public subnets with a public IP), `single` or `perAz` (private subnets)."""
    vpc_id: str | None = None
    """Use this existing VPC instead of creating one."""
    public_subnet_ids: Sequence[str] = ()
    """With `vpc_id`: subnets for the load balancer."""
    private_subnet_ids: Sequence[str] = ()
    """With `vpc_id`: subnets for the tasks; empty runs tasks in the public ones with a public IP."""


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    """The VPC's id."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Subnets of the load balancer."""
    task_subnet_ids: pulumi.Output[list[str]]
    """Subnets the tasks run in."""
    assign_public_ip: bool
    """Whether tasks get a public IP (only when they run in public subnets)."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{TOKEN_PREFIX}Network", name, None, opts)
        if args.vpc_id:
            self.vpc_id = pulumi.Output.from_input(args.vpc_id)
            self.public_subnet_ids = pulumi.Output.from_input(list(args.public_subnet_ids))
            self.assign_public_ip = not args.private_subnet_ids
            self.task_subnet_ids = pulumi.Output.from_input(
                list(args.private_subnet_ids or args.public_subnet_ids))
        else:
            public_only = args.nat_gateways == "none"
            # Without NAT, private subnets could not reach ECR or CloudWatch: don't create them.
            specs = [awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PUBLIC)]
            if not public_only:
                specs.append(awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PRIVATE))
            vpc = awsx.ec2.Vpc(
                f"{name}-vpc",
                cidr_block=args.vpc_cidr,
                number_of_availability_zones=args.availability_zones,
                nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(strategy=_NAT_STRATEGY[args.nat_gateways]),
                subnet_strategy=awsx.ec2.SubnetAllocationStrategy.AUTO,
                subnet_specs=specs,
                enable_dns_hostnames=True,
                enable_dns_support=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.vpc_id = vpc.vpc_id
            self.public_subnet_ids = vpc.public_subnet_ids
            self.assign_public_ip = public_only
            self.task_subnet_ids = vpc.public_subnet_ids if public_only else vpc.private_subnet_ids
        self.register_outputs({
            "vpcId": self.vpc_id,
            "publicSubnetIds": self.public_subnet_ids,
            "taskSubnetIds": self.task_subnet_ids,
        })
