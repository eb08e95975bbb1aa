"""ecs-fargate: a container on ECS Fargate behind an ALB. Reads settings, wires components, exports."""

import pulumi
import pulumi_aws as aws

import settings
from components import (
    Cluster, ClusterArgs, FargateService, FargateServiceArgs, LoadBalancer, LoadBalancerArgs,
    Network, NetworkArgs, Registry, RegistryArgs, ScheduledTask, ScheduledTaskArgs,
)
from components.fargate_service import LoadBalancerAttachment
from components.scheduled_task import ServiceTaskReference
from components.task_definition import Placement

cfg = settings.load()

provider = aws.Provider("aws", region=cfg.region, **cfg.aws_provider,
                        default_tags=aws.ProviderDefaultTagsArgs(tags=cfg.default_tags))
opts = pulumi.ResourceOptions(providers=[provider])

network = Network("network", NetworkArgs(
    vpc_cidr=cfg.network.vpc_cidr,
    availability_zones=cfg.network.availability_zones,
    nat_gateways=cfg.network.nat_gateways,
    vpc_id=cfg.network.vpc_id,
    public_subnet_ids=cfg.network.public_subnet_ids,
    private_subnet_ids=cfg.network.private_subnet_ids,
), opts)

registry = Registry("registry", RegistryArgs(
    name=f"{cfg.project}-{cfg.stack}".lower(),
    scan_on_push=cfg.registry.scan_on_push,
    immutable_tags=cfg.registry.immutable_tags,
    untagged_expiry_days=cfg.registry.untagged_expiry_days,
    keep_images=cfg.registry.keep_images,
    kms_key_arn=cfg.registry.kms_key_arn,
    protect=cfg.is_prod,
), opts)

cluster = Cluster("cluster", ClusterArgs(container_insights=cfg.cluster.container_insights), opts)

load_balancer = None
if cfg.needs_load_balancer:
    lb = cfg.load_balancer
    load_balancer = LoadBalancer("alb", LoadBalancerArgs(
        vpc_id=network.vpc_id,
        subnet_ids=network.public_subnet_ids,
        allowed_cidrs=lb.allowed_cidrs,
        certificate_arn=lb.certificate_arn,
        ssl_policy=lb.ssl_policy,
        idle_timeout_seconds=lb.idle_timeout_seconds,
        deletion_protection=lb.deletion_protection,
        access_logs_bucket=lb.access_logs_bucket,
        access_logs_prefix=lb.access_logs_prefix,
    ), opts)
    pulumi.export("url", load_balancer.url)
    pulumi.export("loadBalancerDnsName", load_balancer.dns_name)
    pulumi.export("loadBalancerZoneId", load_balancer.zone_id)

placement = Placement(
    cluster_arn=cluster.arn,
    vpc_id=network.vpc_id,
    subnet_ids=network.task_subnet_ids,
    assign_public_ip=network.assign_public_ip,
    repository_url=registry.repository_url,
    registry_id=registry.registry_id,
    region=cfg.region,
)

services = {}
for svc in cfg.services:
    services[svc.name] = FargateService(svc.name, FargateServiceArgs(
        service=svc,
        family=f"{cfg.project}-{cfg.stack}-{svc.name}",
        cluster_name=cluster.name,
        load_balancer=None if svc.is_worker else LoadBalancerAttachment(
            listener_arn=load_balancer.listener_arn,
            security_group_id=load_balancer.security_group_id,
            arn_suffix=load_balancer.arn_suffix,
        ),
        placement=placement,
    ), opts)

for job in cfg.scheduled_tasks:
    reused = services.get(job.service)
    ScheduledTask(job.name, ScheduledTaskArgs(
        job=job,
        family=f"{cfg.project}-{cfg.stack}-{job.name}",
        service_task=ServiceTaskReference(
            task_definition_arn=reused.task_definition_arn,
            execution_role_arn=reused.execution_role_arn,
            task_role_arn=reused.task_role_arn,
        ) if reused else None,
        placement=placement,
    ), opts)

pulumi.export("environment", cfg.environment)
if cfg.release_image:
    # The image CI promotes: its PR previews and drift checks read it back to preview the same.
    pulumi.export("releaseImage", cfg.release_image)
pulumi.export("clusterName", cluster.name)
pulumi.export("repositoryUrl", registry.repository_url)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("services", {
    name: {
        "serviceName": service.service_name,
        "image": service.image,
        "taskDefinitionArn": service.task_definition_arn,
        "logGroupName": service.log_group_name,
        "executionRoleArn": service.execution_role_arn,
        "taskRoleArn": service.task_role_arn,
    }
    for name, service in services.items()
})
