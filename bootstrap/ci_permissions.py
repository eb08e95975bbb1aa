"""What the CI's roles may do in AWS, derived from what the ecs-fargate program registers.

`RESOURCE_GRANTS` maps every resource type the program registers to the IAM actions the
provider calls to create, read, update, delete and tag one; `INVOKE_GRANTS` does the same for
the provider functions it calls. The deploy roles get all of them; the preview role only the
`read` columns and the invokes (a preview and `pulumi refresh --preview-only` read, never write).
tests/test_bootstrap.py renders the shipped stacks and fails when a type has no entry here, so a
new resource type in the program cannot ship without its grant.

A few actions are granted only under a condition IAM offers for them (`CONDITIONED`): passing a
role only to the services the program passes roles to, attaching only the AWS managed policies
the program attaches, creating only the service-linked roles its services need, and KMS grants
only through ECR.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Grant:
    """The IAM actions behind one resource type, by what the provider does with it."""

    create: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    """What `pulumi refresh` and a preview's reads call: List and Read actions only."""
    update: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    children: tuple[str, ...] = ()
    """For a component from another package (awsx): the resource types it registers itself.
    Under mocks only the component shows; in a real deployment these are created."""

    def all(self) -> tuple[str, ...]:
        return self.create + self.read + self.update + self.delete + self.tag


_EC2_TAGS = ("ec2:CreateTags", "ec2:DeleteTags")
_ELB_TAGS = ("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags")
_ECS_TAGS = ("ecs:TagResource", "ecs:UntagResource")
_ECS_READ_TAGS = ("ecs:ListTagsForResource",)
_PASS_ROLE = ("iam:PassRole",)

RESOURCE_GRANTS: dict[str, Grant] = {
    # -- the program's own providers and other packages' components --------------------------
    "pulumi:providers:aws": Grant(
        # The provider checks its credentials and finds its account when it starts.
        read=("sts:GetCallerIdentity",)),
    "awsx:ec2:Vpc": Grant(
        read=("ec2:DescribeAvailabilityZones",),  # awsx spreads the subnets over the region's AZs
        children=("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable",
                  "aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:ec2/route:Route",
                  "aws:ec2/internetGateway:InternetGateway", "aws:ec2/eip:Eip",
                  "aws:ec2/natGateway:NatGateway")),
    "docker-build:index:Image": Grant(
        # Builds, pushes to the stack's own repository, checks its tags on refresh and tries to
        # delete them when the image is deleted. The login token comes from an invoke.
        create=("ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"),
        read=("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
              "ecr:DescribeImages"),
        delete=("ecr:BatchDeleteImage",)),
    # -- VPC (awsx's children) -----------------------------------------------------------------
    "aws:ec2/vpc:Vpc": Grant(
        create=("ec2:CreateVpc",),
        read=("ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeNetworkAcls",
              "ec2:DescribeSecurityGroups", "ec2:DescribeRouteTables"),
        update=("ec2:ModifyVpcAttribute",),
        delete=("ec2:DeleteVpc",),
        tag=_EC2_TAGS),
    "aws:ec2/subnet:Subnet": Grant(
        create=("ec2:CreateSubnet",), read=("ec2:DescribeSubnets", "ec2:DescribeNetworkInterfaces"),
        update=("ec2:ModifySubnetAttribute",), delete=("ec2:DeleteSubnet",), tag=_EC2_TAGS),
    "aws:ec2/routeTable:RouteTable": Grant(
        create=("ec2:CreateRouteTable",), read=("ec2:DescribeRouteTables",),
        delete=("ec2:DeleteRouteTable",), tag=_EC2_TAGS),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": Grant(
        create=("ec2:AssociateRouteTable",), read=("ec2:DescribeRouteTables",),
        update=("ec2:ReplaceRouteTableAssociation",), delete=("ec2:DisassociateRouteTable",)),
    "aws:ec2/route:Route": Grant(
        create=("ec2:CreateRoute",), read=("ec2:DescribeRouteTables",),
        update=("ec2:ReplaceRoute",), delete=("ec2:DeleteRoute",)),
    "aws:ec2/internetGateway:InternetGateway": Grant(
        create=("ec2:CreateInternetGateway", "ec2:AttachInternetGateway"),
        read=("ec2:DescribeInternetGateways",),
        delete=("ec2:DetachInternetGateway", "ec2:DeleteInternetGateway"), tag=_EC2_TAGS),
    "aws:ec2/eip:Eip": Grant(
        create=("ec2:AllocateAddress",), read=("ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute"),
        delete=("ec2:DisassociateAddress", "ec2:ReleaseAddress"), tag=_EC2_TAGS),
    "aws:ec2/natGateway:NatGateway": Grant(
        create=("ec2:CreateNatGateway",), read=("ec2:DescribeNatGateways",),
        delete=("ec2:DeleteNatGateway",), tag=_EC2_TAGS),
    # -- security groups ------------------------------------------------------------------------
    "aws:ec2/securityGroup:SecurityGroup": Grant(
        # The provider revokes the default allow-all egress rule of a new group; deleting waits
        # for the group's network interfaces to go.
        create=("ec2:CreateSecurityGroup", "ec2:RevokeSecurityGroupEgress"),
        read=("ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:DescribeNetworkInterfaces"),
        delete=("ec2:DeleteSecurityGroup",), tag=_EC2_TAGS),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": Grant(
        create=("ec2:AuthorizeSecurityGroupIngress",), read=("ec2:DescribeSecurityGroupRules",),
        update=("ec2:ModifySecurityGroupRules",), delete=("ec2:RevokeSecurityGroupIngress",), tag=_EC2_TAGS),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": Grant(
        create=("ec2:AuthorizeSecurityGroupEgress",), read=("ec2:DescribeSecurityGroupRules",),
        update=("ec2:ModifySecurityGroupRules",), delete=("ec2:RevokeSecurityGroupEgress",), tag=_EC2_TAGS),
    # -- load balancer ---------------------------------------------------------------------------
    "aws:lb/loadBalancer:LoadBalancer": Grant(
        # Creating the first load balancer of an account creates ELB's service-linked role.
        create=("elasticloadbalancing:CreateLoadBalancer", "iam:CreateServiceLinkedRole"),
        read=("elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
              "elasticloadbalancing:DescribeCapacityReservation", "elasticloadbalancing:DescribeTags",
              "ec2:DescribeNetworkInterfaces"),
        update=("elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets", "elasticloadbalancing:SetIpAddressType"),
        delete=("elasticloadbalancing:DeleteLoadBalancer",), tag=_ELB_TAGS),
    "aws:lb/targetGroup:TargetGroup": Grant(
        create=("elasticloadbalancing:CreateTargetGroup",),
        read=("elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
              "elasticloadbalancing:DescribeTags"),
        update=("elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes"),
        delete=("elasticloadbalancing:DeleteTargetGroup",), tag=_ELB_TAGS),
    "aws:lb/listener:Listener": Grant(
        create=("elasticloadbalancing:CreateListener",),
        read=("elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerAttributes",
              "elasticloadbalancing:DescribeTags"),
        update=("elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyListenerAttributes"),
        delete=("elasticloadbalancing:DeleteListener",), tag=_ELB_TAGS),
    "aws:lb/listenerRule:ListenerRule": Grant(
        create=("elasticloadbalancing:CreateRule",),
        read=("elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags"),
        update=("elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities"),
        delete=("elasticloadbalancing:DeleteRule",), tag=_ELB_TAGS),
    # -- ECR (the stack's own repository) ---------------------------------------------------------
    "aws:ecr/repository:Repository": Grant(
        # A KMS-encrypted repository makes ECR create (and on deletion retire) a grant on the key
        # with the caller's permissions (CONDITIONED: only through ECR).
        create=("ecr:CreateRepository", "kms:DescribeKey", "kms:CreateGrant"),
        read=("ecr:DescribeRepositories", "ecr:ListTagsForResource"),
        update=("ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability"),
        delete=("ecr:DeleteRepository", "kms:RetireGrant"),
        tag=("ecr:TagResource", "ecr:UntagResource")),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": Grant(
        create=("ecr:PutLifecyclePolicy",), read=("ecr:GetLifecyclePolicy",),
        delete=("ecr:DeleteLifecyclePolicy",)),
    # -- ECS -----------------------------------------------------------------------------------------
    "aws:ecs/cluster:Cluster": Grant(
        # The account's first cluster creates ECS's service-linked role.
        create=("ecs:CreateCluster", "iam:CreateServiceLinkedRole"),
        read=("ecs:DescribeClusters",) + _ECS_READ_TAGS,
        update=("ecs:UpdateCluster", "ecs:UpdateClusterSettings"),
        delete=("ecs:DeleteCluster",), tag=_ECS_TAGS),
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": Grant(
        create=("ecs:PutClusterCapacityProviders",), read=("ecs:DescribeClusters",)),
    "aws:ecs/taskDefinition:TaskDefinition": Grant(
        # Registering passes the task and execution roles to ecs-tasks (CONDITIONED).
        create=("ecs:RegisterTaskDefinition",) + _PASS_ROLE,
        read=("ecs:DescribeTaskDefinition",) + _ECS_READ_TAGS,
        delete=("ecs:DeregisterTaskDefinition",), tag=_ECS_TAGS),
    "aws:ecs/service:Service": Grant(
        # Waits for a steady state, following the service's deployment (ListServiceDeployments,
        # DescribeServiceDeployments: terraform-provider-aws 6's wait for a stable service, which
        # fails on a rolled-back deployment); deleting scales the service to zero first. A
        # traffic-shifting service passes its infrastructure role (loadBalancers[].advancedConfiguration
        # .roleArn) and its lifecycle hooks' role to ecs on create and update (CONDITIONED): IAM checks
        # iam:PassRole for a role ARN given to any API that hands the role to a service (IAM User Guide,
        # "Grant a user permissions to pass a role to an AWS service").
        create=("ecs:CreateService",) + _PASS_ROLE,
        read=("ecs:DescribeServices", "ecs:ListTasks", "ecs:DescribeTasks", "ecs:ListServiceDeployments",
              "ecs:DescribeServiceDeployments") + _ECS_READ_TAGS,
        update=("ecs:UpdateService",) + _PASS_ROLE,
        delete=("ecs:DeleteService",), tag=_ECS_TAGS),
    # -- logs, alarms, autoscaling, schedules -------------------------------------------------------
    "aws:cloudwatch/logGroup:LogGroup": Grant(
        create=("logs:CreateLogGroup",), read=("logs:DescribeLogGroups", "logs:ListTagsForResource"),
        update=("logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy"),
        delete=("logs:DeleteLogGroup",), tag=("logs:TagResource", "logs:UntagResource")),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Grant(
        create=("cloudwatch:PutMetricAlarm",), read=("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
        delete=("cloudwatch:DeleteAlarms",), tag=("cloudwatch:TagResource", "cloudwatch:UntagResource")),
    "aws:appautoscaling/target:Target": Grant(
        # Application Auto Scaling checks and scales the service as the caller, and creates its
        # service-linked role for ECS on first use.
        create=("application-autoscaling:RegisterScalableTarget", "iam:CreateServiceLinkedRole",
                "ecs:UpdateService"),
        read=("application-autoscaling:DescribeScalableTargets", "application-autoscaling:ListTagsForResource",
              "ecs:DescribeServices"),
        delete=("application-autoscaling:DeregisterScalableTarget",),
        tag=("application-autoscaling:TagResource", "application-autoscaling:UntagResource")),
    "aws:appautoscaling/policy:Policy": Grant(
        # Target tracking policies own CloudWatch alarms, created and deleted with the policy.
        create=("application-autoscaling:PutScalingPolicy", "cloudwatch:PutMetricAlarm"),
        read=("application-autoscaling:DescribeScalingPolicies", "cloudwatch:DescribeAlarms"),
        delete=("application-autoscaling:DeleteScalingPolicy", "cloudwatch:DeleteAlarms")),
    "aws:scheduler/schedule:Schedule": Grant(
        # Schedules take no tags. Creating one passes its role to scheduler (CONDITIONED).
        create=("scheduler:CreateSchedule",) + _PASS_ROLE, read=("scheduler:GetSchedule",),
        update=("scheduler:UpdateSchedule",), delete=("scheduler:DeleteSchedule",)),
    # -- IAM -------------------------------------------------------------------------------------------
    "aws:iam/role:Role": Grant(
        create=("iam:CreateRole",),
        read=("iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
              "iam:ListRoleTags", "iam:ListInstanceProfilesForRole"),
        update=("iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy"),
        delete=("iam:DeleteRole",), tag=("iam:TagRole", "iam:UntagRole")),
    "aws:iam/rolePolicy:RolePolicy": Grant(
        create=("iam:PutRolePolicy",), read=("iam:GetRolePolicy",), delete=("iam:DeleteRolePolicy",)),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Grant(
        # Only the managed policies in MANAGED_POLICIES (CONDITIONED).
        create=("iam:AttachRolePolicy",), read=("iam:ListAttachedRolePolicies",),
        delete=("iam:DetachRolePolicy",)),
}

INVOKE_GRANTS: dict[str, tuple[str, ...]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": ("sts:GetCallerIdentity",),
    "aws:index/getPartition:getPartition": (),  # answered from the provider's own endpoint data
    "aws:index/getRegion:getRegion": (),  # likewise
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": ("ecr:GetAuthorizationToken",),
}

# Types the program defines itself, and the stack: components that call no AWS API.
OWN_TYPE_PREFIXES = ("ecs-fargate:", "pulumi:pulumi:Stack")

MANAGED_POLICIES = ("AmazonECSInfrastructureRolePolicyForLoadBalancers", "service-role/AmazonECSTaskExecutionRolePolicy")
"""The AWS managed policies the program attaches (after `arn:<partition>:iam::aws:policy/`): the
infrastructure role's of a traffic-shifting service (ECS developer guide, "Amazon ECS infrastructure
IAM role for load balancers") and the task execution role's."""
PASSED_TO_SERVICES = ("ecs-tasks.amazonaws.com", "ecs.amazonaws.com", "scheduler.amazonaws.com")
"""The services the program passes roles to: the task roles to ECS tasks (ecs-tasks), a
traffic-shifting service's infrastructure role and lifecycle hooks' role to ECS itself (ecs: the
principal both trust, ECS developer guide, "Amazon ECS infrastructure IAM role for load balancers"
and "Permissions required for Lambda functions in Amazon ECS blue/green deployments"), the job
role to Scheduler."""
SERVICE_LINKED_ROLES = ("ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com",
                        "ecs.application-autoscaling.amazonaws.com")
"""The service-linked roles an account's first cluster, load balancer and scalable target create."""
ECR_KMS_VIA_SERVICE = "ecr.*"
"""KMS grants only when ECR asks for them (kms:ViaService is ecr.<region>.<dns suffix>)."""

CONDITIONED = frozenset({"iam:PassRole", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
                         "iam:CreateServiceLinkedRole", "kms:CreateGrant", "kms:RetireGrant",
                         "kms:DescribeKey"})

RELEASE_PUSH_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                        "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages")
"""The release role's actions on the release repository: push an image, and see whether a
commit's tag is already there (the repository's tags are immutable)."""
RELEASE_PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
"""What the repository policy lets other accounts (their ECS execution roles) do."""

STATE_PREFIX = ".pulumi/"
"""Where the Pulumi CLI's diy backend keeps everything in its bucket (workspace.BookkeepingDir):
stacks, history, backups, locks (`.pulumi/locks/<org>/<project>/<stack>/<id>.json`) and meta.yaml."""


def _sorted_unique(actions: Iterable[str]) -> list[str]:
    return sorted(set(actions), key=str.lower)


def deploy_actions() -> list[str]:
    """Every action of every resource type and invoke (conditioned ones included)."""
    return _sorted_unique([a for grant in RESOURCE_GRANTS.values() for a in grant.all()]
                          + [a for actions in INVOKE_GRANTS.values() for a in actions])


def read_actions() -> list[str]:
    """The read columns and the invokes: what a preview and a refresh call."""
    return _sorted_unique([a for grant in RESOURCE_GRANTS.values() for a in grant.read]
                          + [a for actions in INVOKE_GRANTS.values() for a in actions])


def _service(action: str) -> str:
    return action.split(":", 1)[0]


_SIDS = {"application-autoscaling": "ApplicationAutoScaling", "cloudwatch": "CloudWatchAlarms",
         "ec2": "Ec2", "ecr": "Ecr", "ecs": "Ecs", "elasticloadbalancing": "LoadBalancing", "iam": "Iam",
         "kms": "Kms", "logs": "Logs", "scheduler": "Scheduler", "sts": "Sts"}


def _by_service(actions: Iterable[str], sid_suffix: str, resources: dict[str, str] | None = None) -> list[dict]:
    """One statement per service, on every resource of it unless `resources` names one."""
    services: dict[str, list[str]] = {}
    for action in actions:
        services.setdefault(_service(action), []).append(action)
    return [{"Sid": f"{_SIDS[service]}{sid_suffix}", "Effect": "Allow", "Action": services[service],
             "Resource": (resources or {}).get(service, "*")}
            for service in sorted(services)]


@dataclass(frozen=True)
class Account:
    """Where the policies apply: the partition and account the bootstrap runs in."""

    partition: str
    account_id: str

    def arn(self, service: str, resource: str, region: str = "") -> str:
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"


def managed_policy_arns(partition: str) -> list[str]:
    return [f"arn:{partition}:iam::aws:policy/{name}" for name in MANAGED_POLICIES]


def _conditioned_statements(account: Account) -> list[dict]:
    return [
        {"Sid": "PassRolesToTheProgramsServices", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": account.arn("iam", "role/*"),
         "Condition": {"StringEquals": {"iam:PassedToService": list(PASSED_TO_SERVICES)}}},
        {"Sid": "AttachTheProgramsManagedPolicies", "Effect": "Allow",
         "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
         "Resource": account.arn("iam", "role/*"),
         "Condition": {"ArnEquals": {"iam:PolicyARN": managed_policy_arns(account.partition)}}},
        {"Sid": "CreateTheServicesLinkedRoles", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
         "Resource": account.arn("iam", "role/aws-service-role/*"),
         "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}}},
        {"Sid": "KmsGrantsForEncryptedRepositories", "Effect": "Allow",
         "Action": ["kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"], "Resource": "*",
         "Condition": {"StringLike": {"kms:ViaService": ECR_KMS_VIA_SERVICE}}},
    ]


_IAM_WRITES = tuple(a for a in deploy_actions() if _service(a) == "iam" and a not in read_actions())
_ECR_WRITES = tuple(a for a in deploy_actions() if _service(a) == "ecr" and a not in read_actions()
                    and a != "ecr:GetAuthorizationToken")


def deploy_policies(account: Account, ci_role_arns: list[str], release_repository_arn: str) -> dict[str, dict]:
    """The deploy roles' managed policies, by a short name: each stays under IAM's 6,144
    characters for a managed policy.

    Two guards on top of the grants: the deploy roles cannot change the CI's own roles (which
    would let a dev deploy make itself a prod deployer), nor write to the release repository
    (only the release role pushes there).
    """
    unconditioned = [a for a in deploy_actions() if a not in CONDITIONED]
    network = [a for a in unconditioned if _service(a) == "ec2"]
    iam = [a for a in unconditioned if _service(a) == "iam"]
    services = [a for a in unconditioned if _service(a) not in ("ec2", "iam")]
    return {
        "network": _document(_by_service(network, "")),
        "services": _document(_by_service(services, "") + [
            {"Sid": "NoWritesToTheReleaseRepository", "Effect": "Deny", "Action": list(_ECR_WRITES),
             "Resource": release_repository_arn}]),
        # Every IAM action of the program is on one of its roles.
        "iam": _document(_by_service(iam, "", {"iam": account.arn("iam", "role/*")}) + _conditioned_statements(account) + [
            {"Sid": "NoChangesToTheCiRoles", "Effect": "Deny", "Action": list(_IAM_WRITES),
             "Resource": ci_role_arns}]),
    }


def preview_policy() -> dict:
    """The preview role: the read columns, nothing that changes anything."""
    return _document(_by_service(read_actions(), "Read"))


def release_policy(release_repository_arn: str) -> dict:
    return _document([
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "PushToTheReleaseRepository", "Effect": "Allow", "Action": list(RELEASE_PUSH_ACTIONS),
         "Resource": release_repository_arn},
    ])


def state_policy(partition: str, bucket: str | None, kms_key_arn: str | None, write: bool) -> dict | None:
    """Access to a diy (S3) state backend and its KMS key: read for previews, read and write for
    deploys. `pulumi preview` on a diy backend takes no lock (pkg/backend/diy/backend.go: Preview
    calls no Lock; Update, Refresh, Destroy and Import do unless preview-only), and writes nothing."""
    statements: list[dict] = []
    if bucket:
        statements.append({"Sid": "StateBucket", "Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                           "Resource": f"arn:{partition}:s3:::{bucket}"})
        actions = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"] if write else ["s3:GetObject"]
        statements.append({"Sid": "StateObjects", "Effect": "Allow", "Action": actions,
                           "Resource": f"arn:{partition}:s3:::{bucket}/{STATE_PREFIX}*"})
    if kms_key_arn:
        actions = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"]
        statements.append({"Sid": "StateKey", "Effect": "Allow", "Action": actions, "Resource": kms_key_arn})
    return _document(statements) if statements else None


def _document(statements: list[dict]) -> dict:
    return {"Version": "2012-10-17", "Statement": statements}


def policy_size(document: dict) -> int:
    """The size IAM counts against its limits: the JSON without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


def github_trust_policy(provider_arn: str, subjects: list[str]) -> dict:
    """Only tokens GitHub issued for STS (aud) and for exactly these subjects (sub)."""
    return _document([{
        "Sid": "GitHubActions", "Effect": "Allow", "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": subjects,
        }},
    }])


def release_repository_policy(partition: str, account_ids: list[str]) -> dict:
    """Other accounts may pull release images (their IAM decides which of their roles)."""
    return _document([{
        "Sid": "PullFromOtherAccounts", "Effect": "Allow",
        "Principal": {"AWS": [f"arn:{partition}:iam::{account}:root" for account in account_ids]},
        "Action": list(RELEASE_PULL_ACTIONS),
    }])
