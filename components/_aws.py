"""Facts about the AWS account and region a component deploys into, and IAM document helpers."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

TOKEN_PREFIX = "ecs-fargate:index:"


@dataclass(frozen=True)
class AwsContext:
    account_id: pulumi.Output[str]
    region: pulumi.Output[str]
    partition: pulumi.Output[str]
    dns_suffix: pulumi.Output[str]
    """amazonaws.com, or the partition's own (amazonaws.com.cn, ...)."""


def aws_context(parent: pulumi.Resource) -> AwsContext:
    """Look up the account, region and partition through the parent's provider."""
    opts = pulumi.InvokeOutputOptions(parent=parent)
    identity = aws.get_caller_identity_output(opts=opts)
    partition = aws.get_partition_output(opts=opts)
    return AwsContext(
        account_id=identity.account_id,
        region=aws.get_region_output(opts=opts).region,
        partition=partition.partition,
        dns_suffix=partition.dns_suffix,
    )


def service_trust_policy(service_principal: str, ctx: AwsContext,
                         source_arn_service: str | None = None) -> pulumi.Output[str]:
    """A trust policy for one AWS service principal, scoped to this account.

    The aws:SourceAccount (and, where the service sets it, aws:SourceArn) conditions stop the
    confused-deputy problem: another account's ECS cannot make our role assume itself.
    """
    def document(values: list[str]) -> str:
        account, region, partition = values
        condition: dict = {"StringEquals": {"aws:SourceAccount": account}}
        if source_arn_service:
            condition["ArnLike"] = {"aws:SourceArn": f"arn:{partition}:{source_arn_service}:{region}:{account}:*"}
        return json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": service_principal},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }],
        })

    return pulumi.Output.all(ctx.account_id, ctx.region, ctx.partition).apply(document)


def policy_document(statements: list) -> pulumi.Output[str]:
    """An IAM policy document; statements may hold Outputs (ARNs of resources)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})
