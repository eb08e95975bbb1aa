"""Rules for ECS services and clusters."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity

from ._common import (
    ECS_CLUSTER,
    ECS_SERVICE,
    Config,
    Props,
    ResourceRule,
    as_list,
    mapping,
    shown,
)


def check_circuit_breaker(props: Props, config: Config) -> Iterator[str]:
    controller = mapping(props.get("deploymentController")).get("type") or "ECS"
    if controller != "ECS":
        return  # CODE_DEPLOY and EXTERNAL deployments have their own rollback; ECS ignores the breaker
    breaker = mapping(props.get("deploymentCircuitBreaker"))
    missing = [key for key in ("enable", "rollback") if breaker.get(key) is not True]
    if missing:
        yield (f"deploymentCircuitBreaker.{' and .'.join(missing)} must be true, so a deploy whose "
               "tasks never become healthy stops and rolls back instead of retrying forever.")


def check_no_public_ip(props: Props, config: Config) -> Iterator[str]:
    if mapping(props.get("networkConfiguration")).get("assignPublicIp") is True:
        yield ("networkConfiguration.assignPublicIp is true, so every task is reachable from the "
               "internet past the load balancer if its security group allows it.")


def check_min_tasks(props: Props, config: Config) -> Iterator[str]:
    if props.get("schedulingStrategy") == "DAEMON":
        return  # a daemon service runs one task per instance; it has no desired count
    minimum = config["minimum"]
    desired = props.get("desiredCount")
    count = 0 if desired is None else desired  # the provider's default is 0
    if count < minimum:
        yield (f"desiredCount is {shown(count)}, below the minimum of {shown(minimum)}; with fewer tasks a "
               "single task failure or a deploy takes the service down.")


_INSIGHTS_ON = ("enabled", "enhanced")


def check_container_insights(props: Props, config: Config) -> Iterator[str]:
    values = [mapping(setting).get("value") for setting in as_list(props.get("settings"))
              if mapping(setting).get("name") == "containerInsights"]
    if not any(value in _INSIGHTS_ON for value in values):
        current = f"'{values[-1]}'" if values else "not set"
        yield (f"the containerInsights setting is {current}; set it to 'enabled' or 'enhanced' to get "
               "task-level CPU, memory and restart metrics.")


POLICIES = [
    ResourceRule(
        name="ecs-service-circuit-breaker",
        description="ECS services must enable the deployment circuit breaker with rollback.",
        checks={ECS_SERVICE: check_circuit_breaker},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        rationale=("Without it a broken image keeps ECS starting and killing tasks for hours and "
                   "the deploy never reports failure (awsx and CDK leave it off)."),
        remediation_steps="Set deploymentCircuitBreaker: {enable: true, rollback: true}.",
    ),
    ResourceRule(
        name="ecs-service-no-public-ip",
        description="ECS services must not assign public IP addresses to their tasks.",
        checks={ECS_SERVICE: check_no_public_ip},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        security_hub_control="ECS.2",
        rationale=("Tasks with public IPs are one security group mistake away from direct "
                   "internet exposure; behind an ALB they need none."),
        remediation_steps=("Run tasks in private subnets with a NAT gateway or VPC endpoints and "
                           "set networkConfiguration.assignPublicIp: false."),
    ),
    ResourceRule(
        name="ecs-service-min-tasks",
        description="ECS services must run at least a minimum number of tasks.",
        checks={ECS_SERVICE: check_min_tasks},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=PolicyConfigSchema(properties={
            "minimum": {
                "type": "integer",
                "minimum": 0,
                "default": 2,
                "description": "The lowest acceptable desiredCount.",
            },
        }),
        rationale=("One task means every crash, host retirement or AZ outage is downtime; two "
                   "tasks spread over AZs survive them."),
        remediation_steps="Set desiredCount (or the autoscaling minimum) to at least the configured minimum.",
    ),
    ResourceRule(
        name="ecs-cluster-container-insights",
        description="ECS clusters must have Container Insights enabled.",
        checks={ECS_CLUSTER: check_container_insights},
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.LOW,
        security_hub_control="ECS.12",
        rationale=("Container Insights is where per-task CPU, memory and restart counts come "
                   "from when a service misbehaves; it costs CloudWatch metrics, hence optional in dev."),
        remediation_steps="Add settings: [{name: 'containerInsights', value: 'enabled'}] to the cluster.",
    ),
]
