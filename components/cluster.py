"""Cluster: an ECS cluster with both Fargate capacity providers and, if asked, Container Insights."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._aws import TOKEN_PREFIX
from components.validation import (
    CAPACITY_PROVIDERS, CONTAINER_INSIGHTS, Problems, check_fields, constrained, raise_problems,
)


@dataclass(frozen=True)
class ClusterArgs:
    container_insights: str = constrained("enabled", kind="string", choices=CONTAINER_INSIGHTS)
    """CloudWatch Container Insights: `disabled`, `enabled`, or `enhanced` (adds per-task and
    per-container metrics). Its metrics are billed as CloudWatch custom metrics and its
    performance events as log ingestion; `enhanced` is billed per observation and costs more."""
    default_capacity_provider: str = constrained("FARGATE", kind="string", choices=CAPACITY_PROVIDERS)
    """Capacity provider for tasks that name none."""


def check_cluster(p: Problems, args: ClusterArgs, path: str) -> None:
    """Everything AWS would refuse in a cluster (ECS ClusterSetting containerInsights takes
    `CONTAINER_INSIGHTS` only)."""
    check_fields(p, args, path)


class Cluster(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    name: pulumi.Output[str]
    """The cluster name; resolves only once FARGATE and FARGATE_SPOT are attached to it."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        problems = Problems()
        check_cluster(problems, args, "")
        raise_problems(f"Cluster {name}", problems)
        super().__init__(f"{TOKEN_PREFIX}Cluster", name, None, opts)
        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value=args.container_insights)],
            opts=pulumi.ResourceOptions(parent=self),
        )
        providers = aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity-providers",
            cluster_name=cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                    capacity_provider=args.default_capacity_provider, weight=1),
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Services that use a capacity provider strategy fail to create until the providers
        # are attached: the ARN and name handed out carry that dependency.
        self.arn = pulumi.Output.all(cluster.arn, providers.id).apply(lambda values: values[0])
        self.name = providers.cluster_name
        self.register_outputs({"arn": self.arn, "name": self.name})
