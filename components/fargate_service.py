"""FargateService: one app on Fargate — roles, logs, task definition, service, routing, scaling.

A service with a port sits behind the load balancer; one without is a worker (no target group,
no listener rule, no ingress at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components._aws import TOKEN_PREFIX
from components.deployment import DeploymentSpec, check_deployment
from components.listener_rules import default_priority
from components.load_balancer import LoadBalancerAttachment
from components.task_definition import (
    CONTAINER_NAME, Placement, TaskSpec, check_capacity_provider, check_task, define_task,
    egress_only_security_group,
)
from components.validation import (
    CAPACITY_PROVIDERS, Problems, check_description_name, check_fields, check_names, check_type, constrained, host_error, items, join, known, path_pattern_error,
    raise_problems,
)


@dataclass(frozen=True)
class AutoscalingSpec:
    """Target tracking on CPU and, for a service behind the load balancer, on requests."""

    min_count: pulumi.Input[int] = constrained(kind="int", low=0, high=1000, deploy_time=True)
    """The fewest tasks."""
    max_count: pulumi.Input[int] = constrained(kind="int", low=1, high=1000, deploy_time=True)
    """The most tasks; not below `min_count`."""
    cpu_target_percent: int | None = constrained(60, kind="int", low=10, high=95, deploy_time=True)
    """Average CPU the service scales to."""
    requests_per_target: int | None = constrained(None, kind="int", low=1, high=1_000_000, deploy_time=True)
    """Requests per task per minute the service scales to (a service with a port only)."""
    scale_in_cooldown_seconds: int = constrained(300, kind="int", low=0, high=3600, deploy_time=True)
    scale_out_cooldown_seconds: int = constrained(60, kind="int", low=0, high=3600, deploy_time=True)


@dataclass(frozen=True)
class RollbackAlarmSpec:
    """Roll a deployment back when the new tasks answer with too many 5xx responses."""

    target_errors_per_minute: int = constrained(kind="int", low=1, high=1_000_000,
                                                known_because="it goes into the alarm's description")
    """The 5xx responses per minute that mean a deployment is bad."""
    evaluation_minutes: int = constrained(2, kind="int", low=1, high=10,
                                          known_because="it goes into the alarm's description")
    """For how many minutes in a row."""
    p99_latency_ms: int | None = constrained(None, kind="int", low=1, high=3_600_000,
                                             known_because="it goes into the alarm's description")
    """Also roll back when the 99th percentile of target response time is above this (milliseconds)
    for `evaluation_minutes`; None: no latency alarm."""


DEFAULT_DESIRED_COUNT = 1
"""The tasks a service without autoscaling runs when `desired_count` is not set."""


@dataclass(frozen=True)
class ServiceSpec:
    """One app on Fargate: behind the load balancer with a `port`, a worker without one."""

    name: str
    """The service's name in its descriptions (security group, alarm) and messages, and where
    `priority` is not set, part of the one derived (`default_priority`): EC2's description
    characters (letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*). Its AWS resources are named
    from the FargateService's resource name, not from this."""
    task: TaskSpec
    port: int | None = constrained(None, kind="int", low=1, high=65535,
                                    known_because="it goes into the container definition, the target group and "
                                                  "the security group rules")
    """The container port the load balancer forwards to; None: a worker."""
    desired_count: pulumi.Input[int] | None = constrained(None, kind="int", low=0, high=1000, deploy_time=True)
    """How many tasks run; with autoscaling, within min..max and only the initial count. None:
    `autoscaling.min_count` with autoscaling, otherwise `DEFAULT_DESIRED_COUNT` (1)."""
    health_check_path: str = constrained("/health", kind="string", pattern=r"^/[^\s]{0,1023}$",
                                         expected="a URL path starting with /", deploy_time=True)
    """The path the load balancer checks; it expects 200-399."""
    path_patterns: tuple[str, ...] = constrained((), kind="strings", check=path_pattern_error,
                                                 known_because="it decides the listener rule's conditions")
    """The paths the listener rule sends here; `/*` when neither these nor `host_headers` are set."""
    host_headers: tuple[str, ...] = constrained((), kind="strings", check=host_error,
                                                known_because="it decides the listener rule's conditions")
    """The host names the listener rule sends here."""
    priority: pulumi.Input[int] | None = constrained(None, kind="int", low=1, high=50000, deploy_time=True)
    """The listener rule's priority (1 is evaluated first), unique on the listener. None:
    `components.default_priority(service)`, from the service's `name` and routing, which puts more
    specific rules first (the priority this project's stack files get too). A service attached with
    its `LoadBalancer`'s `attachment` is refused if one attached before it has the same priority;
    pass all the web services of one listener through `components.check_services([...])` first to
    have them checked against each other: two derived priorities that collide are told apart, and a
    rule that hides another is refused."""
    health_check_grace_period_seconds: int = constrained(60, kind="int", low=0, high=2_147_483_647, deploy_time=True)
    """Failed load balancer health checks in this time after a task starts do not count."""
    deregistration_delay_seconds: int = constrained(30, kind="int", low=0, high=3600, deploy_time=True)
    """How long the load balancer lets a stopping task finish its requests."""
    capacity_provider: Literal["FARGATE", "FARGATE_SPOT"] = constrained("FARGATE", kind="string",
                                                                        choices=CAPACITY_PROVIDERS)
    """`FARGATE_SPOT` costs less and may be interrupted."""
    autoscaling: AutoscalingSpec | None = None
    rollback_alarm: RollbackAlarmSpec | None = None
    """A 5xx alarm ECS watches during each deployment (a service with a port only)."""
    deployment: DeploymentSpec = DeploymentSpec()
    """How new versions roll out: rolling, or (a service with a port only) blueGreen, linear or canary."""

    @property
    def is_worker(self) -> bool:
        return self.port is None

    @property
    def initial_count(self) -> pulumi.Input[int]:
        """`desired_count`, or when it is None what the service starts with."""
        if self.desired_count is not None:
            return self.desired_count
        return self.autoscaling.min_count if self.autoscaling is not None else DEFAULT_DESIRED_COUNT


def task_group_descriptions(svc: ServiceSpec) -> tuple[str, str]:
    """The descriptions of a service's task security group and of the load balancer's rule to it."""
    return (f"Tasks of {svc.name}: " + ("no ingress (worker)" if svc.is_worker
                                        else f"port {svc.port} from the load balancer only"),
            f"Load balancer to the tasks of {svc.name}")


WORKER_ONLY = "only applies to a service with a port; without one it is a worker"


def check_service(p: Problems, svc: ServiceSpec, path: str, *, fields: bool = True) -> None:
    """Everything AWS would refuse in a service; `fields=False`: the checks across fields only,
    for the config layer, which checks each value (and the task) as it reads it."""
    web = not svc.is_worker
    if fields:
        check_description_name(p, p.at(path, "name"), svc.name,
                               task_group_descriptions(svc) if isinstance(svc.name, str) and known(svc.port) else ())
        check_fields(p, svc, path)
        if check_type(p, p.at(path, "task"), svc.task, TaskSpec):
            check_task(p, svc.task, p.at(path, "task"))
        for name, cls in (("autoscaling", AutoscalingSpec), ("rollback_alarm", RollbackAlarmSpec)):
            if check_type(p, p.at(path, name), getattr(svc, name), cls, optional=True) and getattr(svc, name):
                check_fields(p, getattr(svc, name), p.at(path, name))
        check_deployment(p, svc.deployment, p.at(path, "deployment"))
        if not web:
            for name in ("path_patterns", "host_headers", "priority", "rollback_alarm"):
                if getattr(svc, name):
                    p.fail(p.at(path, name), WORKER_ONLY)
    if not web and isinstance(svc.deployment, DeploymentSpec) and svc.deployment.shifts_traffic:
        p.fail(p.at(p.at(path, "deployment"), "strategy"),
               f"{svc.deployment.strategy} shifts load balancer traffic, and {WORKER_ONLY}; use rolling")
    check_capacity_provider(p, svc.task, svc.capacity_provider, path)
    patterns, hosts = items(svc.path_patterns), items(svc.host_headers)
    if len(patterns) > 5 or len(hosts) > 5 or len(patterns) + len(hosts) > 5:
        p.fail(path, "an ALB listener rule takes at most 5 path patterns and host headers together")
    scaling = svc.autoscaling
    if not isinstance(scaling, AutoscalingSpec):
        return
    where = p.at(path, "autoscaling")
    low, high = scaling.min_count, scaling.max_count
    if isinstance(low, int) and isinstance(high, int) and low > high:
        p.fail(p.at(where, "max_count"), f"{p.show(where, high)} is below {p.key('min_count')} {p.show(where, low)}")
    if scaling.requests_per_target is not None and not web:
        p.fail(p.at(where, "requests_per_target"), "only applies to a service with a port behind the load balancer")
    desired = svc.desired_count
    if known(desired, low, high) and desired is not None and low is not None and high is not None \
            and not low <= desired <= high:
        p.fail(p.at(path, "desired_count"),
               f"{p.show(path, desired)} is outside {join(p.key('autoscaling'), p.key('min_count'))}.."
               f"{p.key('max_count')} ({p.show(path, low)}..{p.show(path, high)})")


@dataclass
class FargateServiceArgs:
    service: ServiceSpec
    """What runs and how it is reached: checked when the component is created."""
    family: str
    """Task definition family and log group suffix (`/ecs/FAMILY`), unique in the account and region."""
    placement: Placement
    cluster_name: pulumi.Input[str]
    """For the autoscaling target's resource id (service/CLUSTER/SERVICE)."""
    load_balancer: LoadBalancerAttachment | None = None
    """Required for a service with a port."""


class FargateService(pulumi.ComponentResource):
    """One app on Fargate; its Args are checked, and its AWS names derived from `name`, before it
    registers anything.

    Web services sharing a listener: pass them all through `components.check_services([...])` and
    build each from what it returns (unique priorities, none derived into another's, no rule
    hiding another), and attach each with the `LoadBalancer`'s `attachment`, which refuses a
    priority a service attached before has already claimed.
    """

    service_name: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    execution_role_arn: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    image: pulumi.Output[str]
    """The image reference the task definition runs."""
    target_group_arn: pulumi.Output[str] | None
    """None for a worker."""

    def __init__(self, name: str, args: FargateServiceArgs, opts: pulumi.ResourceOptions | None = None):
        svc = args.service
        problems = Problems()
        check_service(problems, svc, "service")
        if isinstance(svc, ServiceSpec):
            check_names(problems, name, args.family, web=not svc.is_worker, own_task=True, job=False)
        if not svc.is_worker and args.load_balancer is None:
            problems.fail("load_balancer", f"required: service '{svc.name}' has a port")
        claims = args.load_balancer.priorities if not svc.is_worker and not problems.problems and isinstance(
            args.load_balancer, LoadBalancerAttachment) else None
        priority = claims.check(problems, "service.priority", svc) if claims is not None else None
        raise_problems(f"FargateService {name}", problems)
        if claims is not None:
            claims.claim(priority, name)
        super().__init__(f"{TOKEN_PREFIX}FargateService", name, None, opts)
        task = svc.task
        child = pulumi.ResourceOptions(parent=self)

        placement = args.placement
        defined = define_task(name, self, task, placement, args.family, svc.port)
        roles = defined.roles
        self.image = defined.image

        # Workers admit nothing; web services add one ingress rule from the load balancer below.
        group_description, alb_rule_description = task_group_descriptions(svc)
        task_network = egress_only_security_group(name, self, placement.vpc_id, group_description)
        security_group = task_network.group

        load_balancers = None
        target_group = None
        alarms = None
        # Tasks start as soon as the service exists: it waits for the rules of their group.
        depends_on: list[pulumi.Resource] = list(task_network.rules)
        self.target_group_arn = None
        if not svc.is_worker:
            lb = args.load_balancer
            ingress = aws.vpc.SecurityGroupIngressRule(
                f"{name}-ingress-alb",
                security_group_id=security_group.id,
                referenced_security_group_id=lb.security_group_id,
                ip_protocol="tcp", from_port=svc.port, to_port=svc.port,
                description="From the load balancer only",
                opts=child,
            )
            alb_egress = aws.vpc.SecurityGroupEgressRule(
                f"{name}-alb-to-tasks",
                security_group_id=lb.security_group_id,
                referenced_security_group_id=security_group.id,
                ip_protocol="tcp", from_port=svc.port, to_port=svc.port,
                description=alb_rule_description,
                opts=child,
            )
            target_group = aws.lb.TargetGroup(
                f"{name}-tg",
                target_type="ip",
                protocol="HTTP",
                port=svc.port,
                vpc_id=placement.vpc_id,
                deregistration_delay=svc.deregistration_delay_seconds,
                health_check=aws.lb.TargetGroupHealthCheckArgs(
                    path=svc.health_check_path,
                    protocol="HTTP",
                    matcher="200-399",
                    healthy_threshold=2,
                    unhealthy_threshold=3,
                    interval=10,
                    timeout=5,
                ),
                opts=child,
            )
            conditions = []
            # Neither paths nor hosts: every request (a rule needs a condition).
            paths = svc.path_patterns or (() if svc.host_headers else ("/*",))
            if paths:
                conditions.append(aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=list(paths))))
            if svc.host_headers:
                conditions.append(aws.lb.ListenerRuleConditionArgs(
                    host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=list(svc.host_headers))))
            rule = aws.lb.ListenerRule(
                f"{name}-rule",
                listener_arn=lb.listener_arn,
                priority=svc.priority if svc.priority is not None else default_priority(svc),
                actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=target_group.arn)],
                conditions=conditions,
                opts=child,
            )
            # ECS refuses a target group that no listener uses yet; health checks need the
            # load balancer's way in.
            depends_on += [rule, ingress, alb_egress]
            load_balancers = [aws.ecs.ServiceLoadBalancerArgs(
                target_group_arn=target_group.arn, container_name=CONTAINER_NAME, container_port=svc.port)]
            self.target_group_arn = target_group.arn
            if svc.rollback_alarm:
                alarms = self._rollback_alarm(name, svc, lb, target_group)

        # Once autoscaling owns the count, a deploy must not reset it to the configured value.
        ignore = ["desiredCount"] if svc.autoscaling else None
        service = aws.ecs.Service(
            f"{name}-service",
            cluster=placement.cluster_arn,
            task_definition=defined.task_definition.arn,
            desired_count=svc.initial_count,
            capacity_provider_strategies=[aws.ecs.ServiceCapacityProviderStrategyArgs(
                capacity_provider=svc.capacity_provider, weight=1)],
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=placement.subnet_ids,
                security_groups=[security_group.id],
                assign_public_ip=placement.assign_public_ip,
            ),
            load_balancers=load_balancers,
            alarms=alarms,
            health_check_grace_period_seconds=None if svc.is_worker else svc.health_check_grace_period_seconds,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            enable_execute_command=task.enable_execute_command,
            # Every update rolls new tasks: the provider refuses a capacity provider change
            # without it, and tasks re-read their secrets (a rotated value) on the way.
            force_new_deployment=True,
            # `pulumi up` waits for the rollout. terraform-provider-aws 6 (pulumi-aws 7) follows the
            # service deployment (ListServiceDeployments, DescribeServiceDeployments) and fails the
            # update when it is rolled back; older providers waited for "stable" only, which a
            # rolled-back service is too (hashicorp/terraform-provider-aws#19519). Either way, CI
            # checks after the deploy that the service runs the new task definition.
            wait_for_steady_state=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on, ignore_changes=ignore),
        )

        if svc.autoscaling:
            self._autoscale(name, svc, args, service, target_group)

        self.service_name = service.name
        self.task_definition_arn = defined.task_definition.arn
        self.log_group_name = defined.log_group.name
        self.execution_role_arn = roles.execution_role_arn
        self.task_role_arn = roles.task_role_arn
        self.security_group_id = security_group.id
        self.register_outputs({
            "serviceName": self.service_name,
            "taskDefinitionArn": self.task_definition_arn,
            "logGroupName": self.log_group_name,
            "image": self.image,
            "executionRoleArn": self.execution_role_arn,
            "taskRoleArn": self.task_role_arn,
            "securityGroupId": self.security_group_id,
        })

    def _rollback_alarm(self, name: str, svc: ServiceSpec, lb: LoadBalancerAttachment,
                        target_group: aws.lb.TargetGroup) -> aws.ecs.ServiceAlarmsArgs:
        """A 5xx alarm on the service's target group that ECS watches during each deployment."""
        settings = svc.rollback_alarm
        alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-5xx",
            alarm_description=(f"{svc.name}: {settings.target_errors_per_minute}+ target 5xx responses a "
                               f"minute for {settings.evaluation_minutes} minutes; ECS rolls a deployment back"),
            namespace="AWS/ApplicationELB",
            metric_name="HTTPCode_Target_5XX_Count",
            dimensions={"LoadBalancer": lb.arn_suffix, "TargetGroup": target_group.arn_suffix},
            statistic="Sum",
            period=60,
            evaluation_periods=settings.evaluation_minutes,
            threshold=settings.target_errors_per_minute,
            comparison_operator="GreaterThanOrEqualToThreshold",
            # No requests means no errors, not an unknown state.
            treat_missing_data="notBreaching",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.ecs.ServiceAlarmsArgs(alarm_names=[alarm.name], enable=True, rollback=True)

    def _autoscale(self, name: str, svc: ServiceSpec, args: FargateServiceArgs,
                   service: aws.ecs.Service, target_group: aws.lb.TargetGroup | None) -> None:
        """Target tracking on CPU, and on requests per target for a service behind the ALB."""
        scaling = svc.autoscaling
        child = pulumi.ResourceOptions(parent=self)
        target = aws.appautoscaling.Target(
            f"{name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster_name, "/", service.name),
            min_capacity=scaling.min_count,
            max_capacity=scaling.max_count,
            opts=child,
        )
        metrics = []
        if scaling.cpu_target_percent is not None:
            metrics.append(("cpu", scaling.cpu_target_percent, aws.appautoscaling.
                            PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                                predefined_metric_type="ECSServiceAverageCPUUtilization")))
        if scaling.requests_per_target is not None:
            metrics.append(("requests", scaling.requests_per_target, aws.appautoscaling.
                            PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                                predefined_metric_type="ALBRequestCountPerTarget",
                                # app/LB/ID/targetgroup/TG/ID: which target group's requests count.
                                resource_label=pulumi.Output.concat(
                                    args.load_balancer.arn_suffix, "/",
                                    target_group.arn_suffix))))
        for metric, value, specification in metrics:
            aws.appautoscaling.Policy(
                f"{name}-scale-{metric}",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=aws.appautoscaling.
                PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=value,
                    predefined_metric_specification=specification,
                    scale_in_cooldown=scaling.scale_in_cooldown_seconds,
                    scale_out_cooldown=scaling.scale_out_cooldown_seconds,
                ),
                opts=child,
            )

