"""FargateService: one app on Fargate — roles, logs, task definition, service, routing, scaling.

A service with a port sits behind the load balancer; one without is a worker (no target group,
no listener rule, no ingress at all).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._aws import TOKEN_PREFIX
from components.task_definition import CONTAINER_NAME, Placement, define_task, egress_only_security_group
from settings import ServiceSettings


@dataclass
class LoadBalancerAttachment:
    """What a web service needs from the load balancer."""

    listener_arn: pulumi.Input[str]
    security_group_id: pulumi.Input[str]
    arn_suffix: pulumi.Input[str]


@dataclass
class FargateServiceArgs:
    service: ServiceSettings
    """The service's validated settings."""
    family: str
    """Task definition family and log group suffix, unique per stack: PROJECT-STACK-SERVICE."""
    placement: Placement
    cluster_name: pulumi.Input[str]
    """For the autoscaling target's resource id (service/CLUSTER/SERVICE)."""
    load_balancer: LoadBalancerAttachment | None = None
    """Required for a service with a port."""


class FargateService(pulumi.ComponentResource):
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
        super().__init__(f"{TOKEN_PREFIX}FargateService", name, None, opts)
        svc = args.service
        task = svc.task
        child = pulumi.ResourceOptions(parent=self)
        if not svc.is_worker and args.load_balancer is None:
            raise ValueError(f"service '{svc.name}' has a port but no load balancer was given")

        placement = args.placement
        defined = define_task(name, self, task, placement, args.family, svc.port)
        roles = defined.roles
        self.image = defined.image

        # Workers admit nothing; web services add one ingress rule from the load balancer below.
        task_network = egress_only_security_group(
            name, self, placement.vpc_id,
            f"Tasks of {svc.name}: " + ("no ingress (worker)" if svc.is_worker
                                        else f"port {svc.port} from the load balancer only"))
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
                description=f"Load balancer to the tasks of {svc.name}",
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
            if svc.path_patterns:
                conditions.append(aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=list(svc.path_patterns))))
            if svc.host_headers:
                conditions.append(aws.lb.ListenerRuleConditionArgs(
                    host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=list(svc.host_headers))))
            rule = aws.lb.ListenerRule(
                f"{name}-rule",
                listener_arn=lb.listener_arn,
                priority=svc.priority,
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
            desired_count=svc.desired_count,
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

    def _rollback_alarm(self, name: str, svc: ServiceSettings, lb: LoadBalancerAttachment,
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

    def _autoscale(self, name: str, svc: ServiceSettings, args: FargateServiceArgs,
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

