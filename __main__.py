"""ecs-fargate: a container on ECS Fargate behind an ALB. Reads settings, wires components, exports."""

import pulumi
import pulumi_aws as aws

import settings
from components import (
    Cluster, FargateService, FargateServiceArgs, LoadBalancer, LoadBalancerArgs, Network, Registry, ScheduledTask,
    ScheduledTaskArgs,
)
from components.scheduled_task import ServiceTaskReference
from components.task_definition import Placement

cfg = settings.load()

provider = aws.Provider("aws", region=cfg.region, **cfg.aws_provider,
                        default_tags=aws.ProviderDefaultTagsArgs(tags=cfg.default_tags))
opts = pulumi.ResourceOptions(providers=[provider])

network = Network("network", cfg.network, opts)
registry = Registry("registry", cfg.registry, opts)
cluster = Cluster("cluster", cfg.cluster, opts)

load_balancer = None
if cfg.needs_load_balancer:
    load_balancer = LoadBalancer("alb", LoadBalancerArgs(
        vpc_id=network.vpc_id, subnet_ids=network.public_subnet_ids, spec=cfg.load_balancer), opts)
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
        # It also carries the priorities claimed on the listener: a clash fails here, not at deploy.
        load_balancer=None if svc.is_worker else load_balancer.attachment,
        placement=placement,
        warn=False,  # settings reported them, under the stack file's keys
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
            service_name=job.service,
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
