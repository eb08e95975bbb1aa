"""Pulumi mocks that answer like AWS: real ARN formats, ids, URLs, and data sources (data_sources.py).

Deterministic: the same resource name always gets the same ids, so tests can compare values.
In preview mode a resource returns only its inputs; everything the provider would compute is
unknown, as in a first `pulumi preview` of a stack that has nothing yet.
"""

from __future__ import annotations

import hashlib

import pulumi
from pulumi.runtime import rpc

from preflight import data_sources

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


class AutonameTooLong(ValueError):
    """The provider's Check refuses an autoname over the resource type's length limit."""


def physical_name(logical: str, limit: int = 255) -> str:
    """What Pulumi's autonaming gives: the logical name, `-`, 7 random characters; over the
    type's limit the provider fails the preview, and so does this."""
    name = f"{logical}-{_hex(logical, 7)}"
    if len(name) > limit:
        raise AutonameTooLong(f"name '{logical}-' plus 7 random chars is longer than maximum length {limit}")
    return name


AUTONAMED = {"aws:s3/bucket:Bucket": "bucket", "aws:s3/bucketV2:BucketV2": "bucket"}
"""Resource types whose autonamed property is not `name` (pulumi-aws resources.go: S3 buckets
autoname `bucket`, lower-cased, at most 63 characters)."""


def _unknown(outputs: dict) -> dict:
    return {key: rpc.UNKNOWN for key in outputs}


class AwsMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str = DEFAULT_REGION, account_id: str = ACCOUNT_ID, preview: bool = False):
        self.unanswered: list[str] = []
        """Invoke tokens answered with nothing (named in the report)."""
        self.region = region
        self.account_id = account_id
        self.preview = preview

    # -- resources ------------------------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        handler = getattr(self, "_" + args.typ.replace(":", "_").replace("/", "_").replace("-", "_"), None)
        if not args.custom:
            # A component's outputs are not its inputs echoed back (awsx's Vpc takes a NAT
            # config and returns NAT gateway resources); only a remote one has outputs at all.
            if handler is None:
                return None, {}
            resource_id, outputs = handler(args.name, inputs, args.typ)
            return (None, _unknown(outputs)) if self.preview else (resource_id, outputs)
        resource_id, outputs = (handler or self._generic)(args.name, inputs, args.typ)
        computed = {key: value for key, value in outputs.items() if key not in inputs}
        if self.preview:
            # Before the first deployment the provider cannot know what it will compute; the
            # name it generates (autonaming, in Check) it knows.
            known = {key: computed.pop(key) for key in (AUTONAMED.get(args.typ, "name"),)
                     if key in computed and args.typ.startswith("aws:")}
            return None, {**inputs, **known, **_unknown(computed)}
        return resource_id, {**inputs, **computed}

    def _arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return (f"arn:aws:{service}:{self.region if region else ''}:"
                f"{self.account_id if account else ''}:{resource}")

    def _generic(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        if typ.startswith("pulumi:providers:"):
            return _hex(name, 32), {}
        if not typ.startswith("aws:"):
            return f"{name}-id", {}
        service = typ.split(":")[1].split("/")[0]
        kind = typ.split(":")[-1]
        resource_name = inputs.get("name") or physical_name(name)
        return f"{name}-id", {"arn": self._arn(service, f"{kind.lower()}/{resource_name}")}

    def _pulumi_pulumi_StackReference(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        # Another stack's outputs are not readable offline: unknown (rules that need them are
        # skipped), and the reference is named in the report like an invoke answered with nothing.
        stack = inputs.get("name") or name
        self.unanswered.append(f"pulumi:pulumi:StackReference {stack}")
        return str(stack), {"outputs": rpc.UNKNOWN, "secretOutputNames": []}

    def _aws_ec2_vpc_Vpc(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        vpc_id = f"vpc-{_hex(name, 17)}"
        return vpc_id, {"arn": self._arn("ec2", f"vpc/{vpc_id}"), "ownerId": self.account_id,
                        "defaultSecurityGroupId": f"sg-{_hex(name + '-default', 17)}",
                        "defaultNetworkAclId": f"acl-{_hex(name, 17)}",
                        "defaultRouteTableId": f"rtb-{_hex(name, 17)}",
                        "mainRouteTableId": f"rtb-{_hex(name, 17)}"}

    def _aws_ec2_subnet_Subnet(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        subnet_id = f"subnet-{_hex(name, 17)}"
        return subnet_id, {"arn": self._arn("ec2", f"subnet/{subnet_id}"), "ownerId": self.account_id}

    def _aws_ec2_internetGateway_InternetGateway(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        igw = f"igw-{_hex(name, 17)}"
        return igw, {"arn": self._arn("ec2", f"internet-gateway/{igw}"), "ownerId": self.account_id}

    def _aws_ec2_routeTable_RouteTable(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        rtb = f"rtb-{_hex(name + '-rt', 17)}"
        return rtb, {"arn": self._arn("ec2", f"route-table/{rtb}"), "ownerId": self.account_id}

    def _aws_ec2_routeTableAssociation_RouteTableAssociation(self, name: str, inputs: dict, typ: str):
        return f"rtbassoc-{_hex(name, 17)}", {}

    def _aws_ec2_route_Route(self, name: str, inputs: dict, typ: str):
        return f"r-{inputs.get('routeTableId')}1080289494", {}

    def _aws_ec2_eip_Eip(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        allocation = f"eipalloc-{_hex(name, 17)}"
        number = int(_hex(name, 4), 16)
        return allocation, {"allocationId": allocation, "publicIp": f"3.{number % 250}.{number // 250 % 250}.7",
                            "arn": self._arn("ec2", f"elastic-ip/{allocation}"), "domain": "vpc"}

    def _aws_ec2_natGateway_NatGateway(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        return f"nat-{_hex(name, 17)}", {"networkInterfaceId": f"eni-{_hex(name, 17)}"}

    def _docker_build_index_Image(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        digest = f"sha256:{_hex(name + str(inputs.get('tags')), 64)}"
        tags = inputs.get("tags") or []
        ref = f"{tags[0]}@{digest}" if tags else digest
        return f"{name}-id", {"digest": digest, "ref": ref, "contextHash": _hex(name, 64)}

    def _aws_ecr_repository_Repository(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        repo = inputs.get("name") or physical_name(name)
        return repo, {
            "name": repo,
            "arn": self._arn("ecr", f"repository/{repo}"),
            "registryId": self.account_id,
            "repositoryUrl": f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com/{repo}",
        }

    def _s3_bucket(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        bucket = inputs.get("bucket") or physical_name(name, 63).lower()
        return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}",
                        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                        "bucketRegionalDomainName": f"{bucket}.s3.{self.region}.amazonaws.com",
                        "region": self.region}

    _aws_s3_bucket_Bucket = _s3_bucket
    _aws_s3_bucketV2_BucketV2 = _s3_bucket

    def _aws_iam_role_Role(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        role = inputs.get("name") or physical_name(name, 64)
        return role, {"name": role, "arn": self._arn("iam", f"role/{role}", region=False),
                      "uniqueId": "AROA" + _hex(name, 17).upper()}

    def _aws_ecs_cluster_Cluster(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        cluster = inputs.get("name") or physical_name(name)
        arn = self._arn("ecs", f"cluster/{cluster}")
        return arn, {"name": cluster, "arn": arn}

    def _aws_ecs_taskDefinition_TaskDefinition(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        family = inputs.get("family") or name
        unversioned = self._arn("ecs", f"task-definition/{family}")
        return f"{family}:1", {"arn": f"{unversioned}:1", "arnWithoutRevision": unversioned, "revision": 1}

    def _aws_ecs_service_Service(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        service = inputs.get("name") or physical_name(name)
        cluster = str(inputs.get("cluster", "")).rsplit("/", 1)[-1]
        return self._arn("ecs", f"service/{cluster}/{service}"), {"name": service}

    def _aws_lb_loadBalancer_LoadBalancer(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        lb = inputs.get("name") or physical_name(name, 32)
        suffix = f"app/{lb}/{_hex(name, 16)}"
        arn = self._arn("elasticloadbalancing", f"loadbalancer/{suffix}")
        return arn, {"name": lb, "arn": arn, "arnSuffix": suffix, "zoneId": "Z35SXDOTRQ7X7K",
                     "dnsName": f"{lb}-{int(_hex(name, 8), 16) % 10**10}.{self.region}.elb.amazonaws.com"}

    def _aws_lb_targetGroup_TargetGroup(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        tg = inputs.get("name") or physical_name(name, 32)
        suffix = f"targetgroup/{tg}/{_hex(name, 16)}"
        arn = self._arn("elasticloadbalancing", suffix)
        return arn, {"name": tg, "arn": arn, "arnSuffix": suffix}

    def _aws_lb_listener_Listener(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        lb_suffix = str(inputs.get("loadBalancerArn", "")).split(":loadbalancer/")[-1]
        arn = self._arn("elasticloadbalancing", f"listener/{lb_suffix}/{_hex(name, 16)}")
        return arn, {"arn": arn}

    def _aws_lb_listenerRule_ListenerRule(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        listener = str(inputs.get("listenerArn", "")).split(":listener/")[-1]
        arn = self._arn("elasticloadbalancing", f"listener-rule/{listener}/{_hex(name, 16)}")
        return arn, {"arn": arn}

    def _aws_ec2_securityGroup_SecurityGroup(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        group_id = f"sg-{_hex(name, 17)}"
        return group_id, {"arn": self._arn("ec2", f"security-group/{group_id}"),
                          "name": inputs.get("name") or physical_name(name), "ownerId": self.account_id}

    def _security_group_rule(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        rule_id = f"sgr-{_hex(name, 17)}"
        return rule_id, {"securityGroupRuleId": rule_id,
                         "arn": self._arn("ec2", f"security-group-rule/{rule_id}")}

    _aws_vpc_securityGroupIngressRule_SecurityGroupIngressRule = _security_group_rule
    _aws_vpc_securityGroupEgressRule_SecurityGroupEgressRule = _security_group_rule

    def _aws_cloudwatch_logGroup_LogGroup(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        group = inputs.get("name") or physical_name(name)
        return group, {"name": group, "arn": self._arn("logs", f"log-group:{group}")}

    def _aws_secretsmanager_secret_Secret(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        # Secrets Manager appends - and 6 random characters to the name in the ARN.
        secret = f"{inputs.get('name') or physical_name(name)}-{_hex(name, 6)}"
        arn = self._arn("secretsmanager", f"secret:{secret}")
        return arn, {"arn": arn, "name": secret.rsplit("-", 1)[0]}

    def _aws_scheduler_schedule_Schedule(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        schedule = inputs.get("name") or physical_name(name, 64)
        return f"default/{schedule}", {"name": schedule, "groupName": "default",
                                       "arn": self._arn("scheduler", f"schedule/default/{schedule}")}

    def _aws_cloudwatch_metricAlarm_MetricAlarm(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        alarm = inputs.get("name") or physical_name(name)
        return alarm, {"name": alarm, "arn": self._arn("cloudwatch", f"alarm:{alarm}")}

    def _aws_appautoscaling_target_Target(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        return str(inputs.get("resourceId", name)), {
            "arn": self._arn("application-autoscaling", f"scalable-target/{_hex(name, 32)}")}

    def _aws_appautoscaling_policy_Policy(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        policy = inputs.get("name") or physical_name(name)
        return policy, {"name": policy, "arn": self._arn(
            "autoscaling", f"scalingPolicy:{_hex(name, 36)}:resource/ecs/{inputs.get('resourceId')}:policyName/{policy}")}

    def _aws_iam_rolePolicy_RolePolicy(self, name: str, inputs: dict, typ: str) -> tuple[str, dict]:
        policy = inputs.get("name") or physical_name(name)
        return f"{inputs.get('role')}:{policy}", {"name": policy}

    def _aws_iam_rolePolicyAttachment_RolePolicyAttachment(self, name: str, inputs: dict, typ: str):
        return f"{inputs.get('role')}-{_hex(name, 8)}", {}

    def _aws_ecr_lifecyclePolicy_LifecyclePolicy(self, name: str, inputs: dict, typ: str):
        return str(inputs.get("repository")), {"registryId": self.account_id}

    def _aws_ecs_clusterCapacityProviders_ClusterCapacityProviders(self, name: str, inputs: dict, typ: str):
        return str(inputs.get("clusterName")), {}

    # -- invokes --------------------------------------------------------------------------

    def call_token(self, token: str, args: dict) -> dict:
        """An invoke a component's provider makes (preflight's awsx expansions): answered as
        `call` would, but not one of the program's own invokes."""
        return data_sources.answer(self, token, args)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list] | dict:
        return data_sources.answer(self, args.token, dict(args.args or {}))
