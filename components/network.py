"""Network: a new VPC through awsx, or an existing VPC and its subnets."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_awsx as awsx

from components._aws import TOKEN_PREFIX
from components.validation import (
    NAT_STRATEGIES, Invalid, Problems, check_fields, constrained, default_of, items, known, raise_problems,
    subnet_error, vpc_cidr_error,
)

_NAT_STRATEGY = {
    "none": awsx.ec2.NatGatewayStrategy.NONE,
    "single": awsx.ec2.NatGatewayStrategy.SINGLE,
    "perAz": awsx.ec2.NatGatewayStrategy.ONE_PER_AZ,
}


@dataclass(frozen=True)
class NetworkArgs:
    """A new VPC (`vpc_cidr`, `availability_zones`, `nat_gateways`) or an existing one (`vpc_id` and its subnets)."""

    vpc_cidr: str = constrained("10.0.0.0/16", kind="string", check=vpc_cidr_error)
    """CIDR block of a new VPC, /16 to /28, split evenly into a public subnet per AZ (and a private one
    with NAT gateways)."""
    availability_zones: int = constrained(2, kind="int", low=2, high=6)
    """Number of AZs a new VPC spans; the load balancer needs 2."""
    nat_gateways: str = constrained("none", kind="string", choices=NAT_STRATEGIES)
    """`none` (tasks in public subnets with a public IP), `single` or `perAz` (private subnets)."""
    vpc_id: pulumi.Input[str] | None = constrained(None, kind="string", pattern=r"^vpc-[0-9a-f]{8,17}$", deploy_time=True,
                                     expected="a VPC id like vpc-0123456789abcdef0")
    """Use this existing VPC instead of creating one."""
    public_subnet_ids: Sequence[pulumi.Input[str]] = constrained((), kind="strings", check=subnet_error,
                                                              deploy_time_items=True)
    """With `vpc_id`: subnets for the load balancer, at least 2 in different AZs."""
    private_subnet_ids: Sequence[pulumi.Input[str]] = constrained((), kind="strings", check=subnet_error,
                                                               deploy_time_items=True)
    """With `vpc_id`: subnets for the tasks; empty runs tasks in the public ones with a public IP."""


NEW_VPC_ONLY = ("vpc_cidr", "availability_zones", "nat_gateways")
EXISTING_VPC_ONLY = ("public_subnet_ids", "private_subnet_ids")


def check_network(p: Problems, args: NetworkArgs, path: str, *, fields: bool = True,
                  given: Collection[str] | None = None) -> None:
    """Everything AWS would refuse in a network; `fields=False`: the checks across fields only.

    `given`: the fields set explicitly (a stack file's keys); None: those that differ from the default."""
    if fields:
        check_fields(p, args, path)

    def is_given(name: str) -> bool:
        return name in given if given is not None else getattr(args, name) != default_of(NetworkArgs, name)

    if args.vpc_id:
        for name in NEW_VPC_ONLY:
            if is_given(name):
                p.fail(p.at(path, name), f"only applies to a new VPC; remove it or remove {p.at(path, 'vpc_id')}")
        if known(args.public_subnet_ids) and len(items(args.public_subnet_ids)) < 2:
            p.fail(p.at(path, "public_subnet_ids"), f"with {p.at(path, 'vpc_id')}, list at least 2 public subnets in "
                                                    "different AZs (the ALB needs 2)")
        return
    for name in EXISTING_VPC_ONLY:
        if is_given(name):
            p.fail(p.at(path, name), f"only applies to an existing VPC; set {p.at(path, 'vpc_id')} too")


# The ALB User Guide ("Subnets for your load balancer"): each of its subnets at least a /27 with
# 8 free addresses. EC2 CreateSubnet: no subnet smaller than /28.
ALB_SUBNET_PREFIX = 27
SMALLEST_SUBNET_PREFIX = 28


def check_subnet_room(p: Problems, args: NetworkArgs, path: str, load_balancer: bool) -> None:
    """A new VPC is split evenly into one public subnet per AZ, and with NAT gateways a private
    one too (awsx's automatic layout): each subnet has the VPC's prefix plus a bit per doubling
    of the subnets. AWS takes VPCs up to /28; it is this split that needs a larger block, a load
    balancer's subnets being at least /27. Skipped for values already refused."""
    if args.vpc_id or vpc_cidr_error(args.vpc_cidr) or args.nat_gateways not in NAT_STRATEGIES \
            or not (isinstance(args.availability_zones, int) and 2 <= args.availability_zones <= 6):
        return
    private = args.nat_gateways != "none"
    vpc = ipaddress.IPv4Network(args.vpc_cidr).prefixlen
    subnet = vpc + math.ceil(math.log2(args.availability_zones)) + (1 if private else 0)
    limit = ALB_SUBNET_PREFIX if load_balancer else SMALLEST_SUBNET_PREFIX
    if subnet <= limit:
        return
    layout = "a public and a private subnet" if private else "a public subnet"
    need = "the load balancer needs subnets of /27 or larger" if load_balancer else "AWS's smallest subnet is /28"
    p.reject(p.at(path, "vpc_cidr"), args.vpc_cidr, Invalid(
        f"leaves too little room for this stack's subnets (AWS would take it for a VPC; the limit is the stack's): "
        f"each availability zone gets {layout}, and {need}",
        f"with {args.availability_zones} zones each subnet would be /{subnet}; use /{vpc - (subnet - limit)} "
        "or a larger block"))


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
        problems = Problems()
        check_network(problems, args, "")
        # Whether a load balancer will use the subnets is not known here: AWS's smallest subnet is the limit.
        check_subnet_room(problems, args, "", load_balancer=False)
        raise_problems(f"Network {name}", problems)
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
