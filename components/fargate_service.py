"""FargateService: one app on Fargate — roles, logs, task definition, service, routing, scaling.

A service with a port sits behind the load balancer; one without is a worker (no target group,
no listener rule, no ingress at all).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components._aws import TOKEN_PREFIX, aws_context, policy_document
from components import rollout
from components.deployment import DeploymentSpec, LifecycleHookSpec, check_deployment
from components.listener_rules import default_priority
from components.rollout import SERVICE_MAXIMUM_PERCENT, SERVICE_MINIMUM_HEALTHY_PERCENT, SERVICE_TARGET_GROUP
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
    error_rate_percent: int | None = constrained(None, kind="int", low=1, high=100,
                                                 known_because="it goes into the alarm's description")
    """Also roll back when this share (percent) of a target group's requests, or more, are answered
    with a target 5xx, on the group green runs in, for `evaluation_minutes`: a broken canary fails
    this whatever its share of the traffic, where `target_errors_per_minute` counts 5xx over both
    groups. None: no error-rate alarm."""


SHIFTED_GROUPS = "actions[*].forward.targetGroups[*]"
"""What a traffic-shifting service's production and test rules ignore: each target group of their
forward, with the weight ECS last gave it. The engine resets an ignored path to its old value only
where both the old and the new inputs have it (pulumi's PropertyPath.Reset; preflight/ignore_changes.py
is a port): so the update that switches a rolling service (a plain forward) to a traffic-shifting
strategy writes the weighted forward, and the switch back writes the plain one, while ignoring
`actions` whole would keep the plain forward and leave the alternate group off the rule, and
ignoring `...forward.targetGroups` would delete the list on that switch (its parent is new). While
a service stays traffic-shifting, its rule keeps the groups it has (a changed target group ARN, from
a replaced target group, is not written either: switch to rolling for that change)."""

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
    if web:
        check_bake_windows(p, svc, path)
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
    elif scaling.requests_per_target is not None and isinstance(svc.deployment, DeploymentSpec) \
            and svc.deployment.shifts_traffic:
        p.fail(p.at(where, "requests_per_target"),
               f"scales on the requests of one target group, and {svc.deployment.strategy} moves production "
               "traffic to the other one on every deployment (the scaling would then see no requests and scale "
               f"in); scale on {p.key('cpu_target_percent')}, or deploy rolling")
    desired = svc.desired_count
    if known(desired, low, high) and desired is not None and low is not None and high is not None \
            and not low <= desired <= high:
        p.fail(p.at(path, "desired_count"),
               f"{p.show(path, desired)} is outside {join(p.key('autoscaling'), p.key('min_count'))}.."
               f"{p.key('max_count')} ({p.show(path, low)}..{p.show(path, high)})")


def name_features(svc: ServiceSpec) -> tuple[str, ...]:
    """Of `components.validation.NAME_FEATURES`, those a service has, whose resources get names of
    their own (checked with `check_names(..., features=...)` / `check_derived_names`)."""
    if not isinstance(svc, ServiceSpec) or svc.is_worker:
        return ()
    features = []
    if isinstance(svc.deployment, DeploymentSpec) and svc.deployment.shifts_traffic:
        features.append("shifting")
    if isinstance(svc.rollback_alarm, RollbackAlarmSpec) and svc.rollback_alarm.p99_latency_ms is not None:
        features.append("latency")
    if isinstance(svc.rollback_alarm, RollbackAlarmSpec) and svc.rollback_alarm.error_rate_percent is not None:
        features.append("rate")
    return tuple(features)


ECS_PRINCIPAL = "ecs.amazonaws.com"
ECS_SERVICE_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": ECS_PRINCIPAL}, "Action": "sts:AssumeRole"}],
})
"""The trust of the roles ECS itself assumes for a traffic-shifting deployment (the infrastructure
role for the load balancer, the lifecycle hooks' role), exactly as AWS documents it ("Amazon ECS
infrastructure IAM role", "Permissions required for Lambda functions in Amazon ECS blue/green
deployments"): AWS documents no aws:SourceAccount/aws:SourceArn condition for it, and one that
ECS's request did not meet would fail every deployment."""
INFRASTRUCTURE_POLICY_ARN_SUFFIX = "iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
"""The AWS managed policy of the infrastructure role: register targets, modify listener rules
(arn:PARTITION:iam::aws:policy/..., no service-role/ path)."""
PRIMARY_WEIGHT, ALTERNATE_WEIGHT = 100, 0
"""The forward weights a traffic-shifting rule is created with; ECS rewrites them at every
deployment, and the rule ignores changes to its actions from then on."""


def check_bake_windows(p: Problems, svc: ServiceSpec, path: str) -> None:
    """A warning for each bake window of a traffic-shifting deployment shorter than its rollback
    alarm's window: the alarm cannot fire before traffic moves on (load balancer metrics also arrive
    a minute or two late). Deployable, so not an error: a short window may be a choice."""
    deployment, alarm = svc.deployment, svc.rollback_alarm
    if not (isinstance(deployment, DeploymentSpec) and deployment.shifts_traffic
            and isinstance(alarm, RollbackAlarmSpec) and isinstance(alarm.evaluation_minutes, int)):
        return
    windows = [("bake_time_minutes", deployment.bake_time_minutes)]
    if deployment.strategy == "canary":
        windows.append(("canary_bake_minutes", deployment.canary_bake_minutes))
    elif deployment.strategy == "linear" and isinstance(deployment.step_percent, (int, float)) \
            and deployment.step_percent < 100:
        windows.append(("step_bake_minutes", deployment.step_bake_minutes))
    where = p.at(path, "deployment")
    for knob, minutes in windows:
        if isinstance(minutes, int) and not isinstance(minutes, bool) and minutes < alarm.evaluation_minutes:
            p.warn(f"{p.at(where, knob)}: {minutes} min is shorter than the rollback alarm's window "
                   f"({p.at(p.at(path, 'rollback_alarm'), 'evaluation_minutes')}: {alarm.evaluation_minutes} min), so "
                   "the alarm cannot fire before traffic moves on")


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
    warn: bool = True
    """Log the warnings its checks find (a bake window shorter than the alarm's); False where they
    were reported already, as the stack's config layer does in its own key names."""


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
    """The primary target group; None for a worker."""
    rollout: rollout.Rollout
    """The modeled duration of a deployment and of a rollback (components/rollout.py), from which
    the service's `custom_timeouts` are sized."""
    alternate_target_group_arn: pulumi.Output[str] | None
    """The alternate target group of a traffic-shifting deployment (the two swap roles on every
    deployment); None for a rolling service or a worker."""

    def __init__(self, name: str, args: FargateServiceArgs, opts: pulumi.ResourceOptions | None = None):
        svc = args.service
        problems = Problems()
        check_service(problems, svc, "service")
        if isinstance(svc, ServiceSpec):
            check_names(problems, name, args.family, web=not svc.is_worker, own_task=True, job=False,
                        features=name_features(svc))
        if not svc.is_worker and args.load_balancer is None:
            problems.fail("load_balancer", f"required: service '{svc.name}' has a port")
        deployment = svc.deployment if isinstance(svc, ServiceSpec) else None
        if isinstance(deployment, DeploymentSpec) and deployment.shifts_traffic and deployment.test_traffic is True \
                and isinstance(args.load_balancer, LoadBalancerAttachment) \
                and args.load_balancer.test_listener_arn is None:
            problems.fail("service.deployment.test_traffic",
                          "the load balancer attachment has no test listener for the test listener rule; give the "
                          "LoadBalancer a test_listener_port (and test_listener_cidrs) and attach with its "
                          "attachment, or set test_traffic=False")
        claims = args.load_balancer.priorities if not svc.is_worker and not problems.problems and isinstance(
            args.load_balancer, LoadBalancerAttachment) else None
        priority = claims.check(problems, "service.priority", svc) if claims is not None else None
        raise_problems(f"FargateService {name}", problems)
        for warning in problems.warnings if args.warn else ():
            pulumi.log.warn(f"FargateService {name}: {warning}")
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
        deployment = svc.deployment
        shifting = not svc.is_worker and deployment.shifts_traffic
        # Tasks start as soon as the service exists: it waits for the rules of their group.
        depends_on: list[pulumi.Resource] = list(task_network.rules)
        self.target_group_arn = None
        self.alternate_target_group_arn = None
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
            target_group = self._target_group(f"{name}-tg", svc, placement)
            # Green starts in the alternate group, identical to the primary but for its name; the two
            # swap roles on every deployment.
            alternate = self._target_group(f"{name}-tg-alt", svc, placement) if shifting else None
            conditions = []
            # Neither paths nor hosts: every request (a rule needs a condition).
            paths = svc.path_patterns or (() if svc.host_headers else ("/*",))
            if paths:
                conditions.append(aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=list(paths))))
            if svc.host_headers:
                conditions.append(aws.lb.ListenerRuleConditionArgs(
                    host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=list(svc.host_headers))))
            priority = svc.priority if svc.priority is not None else default_priority(svc)
            if shifting:
                # One weighted forward over both groups: ECS refuses rules that mix forward with
                # redirect, fixed-response or authenticate actions, and moves traffic by rewriting these
                # weights. Putting them back would send production traffic to a group with no tasks
                # (terraform-aws-alb#409, aws-cdk#36649), so the rule ignores changes to its forward's
                # target groups (policy ecs-deployment-rules-not-reverted): see SHIFTED_GROUPS.
                actions = [_weighted_forward(target_group, alternate)]
                rule_opts = pulumi.ResourceOptions(parent=self, ignore_changes=[SHIFTED_GROUPS])
            else:
                actions = [aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=target_group.arn)]
                rule_opts = child
            rule = aws.lb.ListenerRule(
                f"{name}-rule",
                listener_arn=lb.listener_arn,
                priority=priority,
                actions=actions,
                conditions=conditions,
                opts=rule_opts,
            )
            # ECS refuses a target group that no listener uses yet; health checks need the
            # load balancer's way in.
            depends_on += [rule, ingress, alb_egress]
            advanced = None
            if shifting:
                test_rule = None
                if deployment.test_traffic:
                    # The production rule's routes on the test listener (another listener: its priority is
                    # free there), where ECS sends test traffic to green before production traffic moves.
                    test_rule = aws.lb.ListenerRule(
                        f"{name}-test-rule",
                        listener_arn=lb.test_listener_arn,
                        priority=priority,
                        actions=[_weighted_forward(target_group, alternate)],
                        conditions=conditions,
                        opts=pulumi.ResourceOptions(parent=self, ignore_changes=[SHIFTED_GROUPS]),
                    )
                    depends_on.append(test_rule)
                role, attachment = self._infrastructure_role(name)
                depends_on.append(attachment)
                advanced = aws.ecs.ServiceLoadBalancerAdvancedConfigurationArgs(
                    alternate_target_group_arn=alternate.arn,
                    production_listener_rule=rule.arn,
                    role_arn=role.arn,
                    test_listener_rule=test_rule.arn if test_rule is not None else None,
                )
                self.alternate_target_group_arn = alternate.arn
            load_balancers = [aws.ecs.ServiceLoadBalancerArgs(
                target_group_arn=target_group.arn, container_name=CONTAINER_NAME, container_port=svc.port,
                advanced_configuration=advanced)]
            self.target_group_arn = target_group.arn
            if svc.rollback_alarm:
                alarms = self._rollback_alarms(name, svc, lb, target_group, alternate)

        deployment_configuration = aws.ecs.ServiceDeploymentConfigurationArgs(strategy="ROLLING")
        if shifting:
            deployment_configuration, hook_policy = self._traffic_shifting(name, deployment)
            if hook_policy is not None:
                depends_on.append(hook_policy)

        self.rollout = rollout.model(rollout.inputs_for_service(svc))
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
            # `strategy` is always written out, ROLLING too: the provider keeps a deployment
            # configuration left out of the program (it is Optional+Computed), so a service switched
            # back from canary would stay canary. Changing it, like every field here but the cluster,
            # name, launch type, IAM role and scheduling strategy, updates the service in place.
            deployment_configuration=deployment_configuration,
            # On every strategy. AWS: both failure detection methods, circuit breaker and alarms,
            # "support rolling update deployment and blue/green deployment types" (ECS developer guide,
            # deployment-failure-detection); without it green tasks that never become healthy keep a
            # traffic-shifting deployment (and `pulumi up`) waiting. The API reference's "rolling update
            # (ECS) deployment type" predates the ECS controller's traffic-shifting strategies.
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            # Rolling: the batch bounds. Traffic-shifting: green is started at the full desired count
            # next to blue whatever these say; kept equal so that a strategy switch does not change
            # them, and ECS still uses them to replace unhealthy tasks between deployments.
            deployment_minimum_healthy_percent=SERVICE_MINIMUM_HEALTHY_PERCENT,
            deployment_maximum_percent=SERVICE_MAXIMUM_PERCENT,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            enable_execute_command=task.enable_execute_command,
            # The provider sends ForceNewDeployment with every UpdateService it makes, that is with
            # any change of the service's inputs (terraform-provider-aws internal/service/ecs/service.go,
            # resourceServiceUpdate). Rolling: on, so every update rolls new tasks (which re-read a
            # rotated secret), and the provider allows a capacity provider change only with it
            # (capacityProviderStrategyCustomizeDiff). Traffic-shifting: off, because each forced
            # deployment is a whole green fleet, traffic shift, bake time and any pause hook: changing an
            # alarm list or a bake time must not start one. A new task definition (image, environment,
            # secrets list) still deploys: it changes task_definition. Costs: a rotated secret value
            # reaches the tasks at the next deployment (or `aws ecs update-service --force-new-deployment`),
            # and the provider refuses a capacity provider change of a traffic-shifting service: switch to
            # rolling, change it, switch back.
            force_new_deployment=not shifting,
            # `pulumi up` waits for the rollout. terraform-provider-aws 6 (pulumi-aws 7) follows the
            # service deployment (ListServiceDeployments, DescribeServiceDeployments) and fails the
            # update when it is rolled back; older providers waited for "stable" only, which a
            # rolled-back service is too (hashicorp/terraform-provider-aws#19519). Either way, CI
            # checks after the deploy that the service runs the new task definition.
            wait_for_steady_state=True,
            # Sized from the modeled deployment (components/rollout.py), never below the provider's
            # 20 minutes: a default linear rollout alone takes over an hour.
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on, ignore_changes=ignore,
                                        custom_timeouts=rollout.custom_timeouts(self.rollout.deploy_seconds)),
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

    def _target_group(self, resource_name: str, svc: ServiceSpec, placement: Placement) -> aws.lb.TargetGroup:
        return aws.lb.TargetGroup(
            resource_name,
            target_type="ip",
            protocol="HTTP",
            port=svc.port,
            vpc_id=placement.vpc_id,
            deregistration_delay=svc.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                path=svc.health_check_path,
                protocol="HTTP",
                matcher="200-399",
                healthy_threshold=SERVICE_TARGET_GROUP["healthy_threshold"],
                unhealthy_threshold=SERVICE_TARGET_GROUP["unhealthy_threshold"],
                interval=SERVICE_TARGET_GROUP["health_check_interval_seconds"],
                timeout=SERVICE_TARGET_GROUP["health_check_timeout_seconds"],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _infrastructure_role(self, name: str) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
        """The role ECS assumes to register green's tasks and rewrite the listener rules' weights."""
        ctx = aws_context(self)
        role = self._ecs_role(f"{name}-ecs-infra", "ECS infrastructure role: moves traffic between the service's "
                                                   "target groups")
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-ecs-infra-lb",
            role=role.name,
            policy_arn=pulumi.Output.concat("arn:", ctx.partition, ":", INFRASTRUCTURE_POLICY_ARN_SUFFIX),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role, attachment

    def _ecs_role(self, resource_name: str, description: str) -> aws.iam.Role:
        """A role ECS itself assumes (trusted by ecs.amazonaws.com, as AWS documents it)."""
        return aws.iam.Role(resource_name, description=description, assume_role_policy=ECS_SERVICE_TRUST,
                            opts=pulumi.ResourceOptions(parent=self))

    def _traffic_shifting(self, name: str, deployment: DeploymentSpec
                          ) -> tuple[aws.ecs.ServiceDeploymentConfigurationArgs, aws.iam.RolePolicy | None]:
        """The deployment configuration of blueGreen, linear and canary (bake times are strings in
        the provider), and the role Lambda hooks are invoked with (None without one)."""
        functions = [hook.function_arn for hook in deployment.hooks if not hook.pause]
        role = policy = None
        if functions:
            child = pulumi.ResourceOptions(parent=self)
            role = self._ecs_role(f"{name}-hooks", "ECS deployment lifecycle hooks: invokes the hooks' Lambda functions")
            # Exactly the hooks' functions, each once, as written (a qualified ARN allows that version).
            policy = aws.iam.RolePolicy(
                f"{name}-hooks-invoke",
                role=role.name,
                policy=policy_document([{"Sid": "InvokeHooks", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                                         "Resource": pulumi.Output.all(*functions).apply(
                                             lambda arns: list(dict.fromkeys(arns)))}]),
                opts=child,
            )
        strategy = deployment.strategy
        configuration = aws.ecs.ServiceDeploymentConfigurationArgs(
            strategy=deployment.ecs_strategy,
            bake_time_in_minutes=str(deployment.bake_time_minutes),
            canary_configuration=aws.ecs.ServiceDeploymentConfigurationCanaryConfigurationArgs(
                canary_percent=float(deployment.canary_percent),
                canary_bake_time_in_minutes=str(deployment.canary_bake_minutes),
            ) if strategy == "canary" else None,
            linear_configuration=aws.ecs.ServiceDeploymentConfigurationLinearConfigurationArgs(
                step_percent=float(deployment.step_percent),
                step_bake_time_in_minutes=str(deployment.step_bake_minutes),
            ) if strategy == "linear" else None,
            lifecycle_hooks=[_lifecycle_hook(hook, role) for hook in deployment.hooks] or None,
        )
        return configuration, policy

    def _rollback_alarms(self, name: str, svc: ServiceSpec, lb: LoadBalancerAttachment,
                         target_group: aws.lb.TargetGroup, alternate: aws.lb.TargetGroup | None
                         ) -> aws.ecs.ServiceAlarmsArgs:
        """The alarms ECS watches during each deployment and rolls it back on: target 5xx responses,
        with `error_rate_percent` their share of each target group's requests and, with
        `p99_latency_ms`, the 99th percentile of target response time. With an alternate target group
        each watches both groups, which swap roles on every deployment."""
        settings = svc.rollback_alarm
        groups = [target_group] if alternate is None else [target_group, alternate]
        both = "" if alternate is None else ", on either target group,"
        names = []

        def alarm(suffix: str, what: str, threshold: float, comparison: str, metric: dict) -> None:
            names.append(aws.cloudwatch.MetricAlarm(
                f"{name}-{suffix}",
                alarm_description=(f"{svc.name}: {what}{both} for {settings.evaluation_minutes} minutes; "
                                   "ECS rolls a deployment back"),
                threshold=threshold,
                comparison_operator=comparison,
                evaluation_periods=settings.evaluation_minutes,
                # No requests means no errors and no slow responses, not an unknown state.
                treat_missing_data="notBreaching",
                opts=pulumi.ResourceOptions(parent=self),
                **metric,
            ).name)

        # Both groups: their sum, each filled with 0 where it has no data point (ELB reports a count
        # only when it is not 0, and metric math leaves out a period missing from either series).
        alarm("5xx", f"{settings.target_errors_per_minute}+ target 5xx responses a minute",
              settings.target_errors_per_minute, "GreaterThanOrEqualToThreshold",
              _metric(lb, groups, "HTTPCode_Target_5XX_Count", "Sum", "FILL(primary, 0) + FILL(alternate, 0)",
                      "Target 5xx responses, both target groups"))
        if settings.error_rate_percent is not None:
            alarm("5xx-rate", f"{settings.error_rate_percent}%+ of requests answered with a target 5xx",
                  settings.error_rate_percent, "GreaterThanOrEqualToThreshold", _error_rate(lb, groups))
        if settings.p99_latency_ms is not None:
            # TargetResponseTime is in seconds.
            alarm("p99", f"p99 target response time above {settings.p99_latency_ms} ms",
                  settings.p99_latency_ms / 1000, "GreaterThanThreshold",
                  _metric(lb, groups, "TargetResponseTime", "p99", "MAX([FILL(primary, 0), FILL(alternate, 0)])",
                          "p99 target response time, both target groups"))
        return aws.ecs.ServiceAlarmsArgs(alarm_names=names, enable=True, rollback=True)

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


def _weighted_forward(primary: aws.lb.TargetGroup, alternate: aws.lb.TargetGroup) -> aws.lb.ListenerRuleActionArgs:
    """A traffic-shifting rule's one action: forward to the primary group (weight 100) and the
    alternate (weight 0), the weights ECS moves."""
    return aws.lb.ListenerRuleActionArgs(
        type="forward",
        forward=aws.lb.ListenerRuleActionForwardArgs(target_groups=[
            aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=primary.arn, weight=PRIMARY_WEIGHT),
            aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=alternate.arn, weight=ALTERNATE_WEIGHT),
        ]),
    )


def _lifecycle_hook(hook: LifecycleHookSpec, role: aws.iam.Role | None
                    ) -> aws.ecs.ServiceDeploymentConfigurationLifecycleHookArgs:
    """A Lambda hook (invoked with the hooks' role) or a pause (with its timeout, where set)."""
    if hook.pause:
        timeout = None
        if hook.timeout_minutes is not None or hook.timeout_action is not None:
            timeout = aws.ecs.ServiceDeploymentConfigurationLifecycleHookTimeoutConfigurationArgs(
                timeout_in_minutes=str(hook.timeout_minutes) if hook.timeout_minutes is not None else None,
                action=hook.timeout_action,
            )
        return aws.ecs.ServiceDeploymentConfigurationLifecycleHookArgs(
            lifecycle_stages=list(hook.stages), target_type="PAUSE", timeout_configuration=timeout)
    return aws.ecs.ServiceDeploymentConfigurationLifecycleHookArgs(
        lifecycle_stages=list(hook.stages), target_type="AWS_LAMBDA", hook_target_arn=hook.function_arn,
        role_arn=role.arn)


GROUP_IDS = ("primary", "alternate")
"""The metric-math query ids of a service's target groups: the primary (`<name>-tg`) and, for a
traffic-shifting service, the alternate (`<name>-tg-alt`)."""


def _metric(lb: LoadBalancerAttachment, groups: list[aws.lb.TargetGroup], metric: str, statistic: str,
            expression: str, label: str) -> dict:
    """A MetricAlarm's metric arguments: the metric of the one target group, or of both through
    metric math (`expression` over the queries `primary` and `alternate`)."""
    if len(groups) == 1:
        stat = {"extended_statistic": statistic} if statistic.startswith("p") else {"statistic": statistic}
        return dict(namespace="AWS/ApplicationELB", metric_name=metric, dimensions=_dimensions(lb, groups[0]),
                    period=60, **stat)
    queries = [_query(lb, query_id, group, metric, statistic) for query_id, group in zip(GROUP_IDS, groups, strict=True)]
    queries.append(_expression("total" if statistic == "Sum" else "slowest", expression, label))
    return dict(metric_queries=queries)


def _error_rate(lb: LoadBalancerAttachment, groups: list[aws.lb.TargetGroup]) -> dict:
    """A MetricAlarm's metric arguments for the percentage of requests answered with a target 5xx:
    per target group `100 * FILL(errors, 0) / FILL(requests, 1)` (ELB reports neither count in a
    minute without one: no requests is 0 %, never a division by zero), and of both groups the
    higher (`MAX` of an array of time series is a time series, taken per timestamp): a canary's own
    error rate, whatever its share of the traffic. Exactly one query, `rate`, returns data."""
    queries, rates = [], []
    for group_id, group in zip(GROUP_IDS[:len(groups)], groups, strict=True):
        errors, requests = f"errors_{group_id}", f"requests_{group_id}"
        queries += [_query(lb, errors, group, "HTTPCode_Target_5XX_Count", "Sum"),
                    _query(lb, requests, group, "RequestCount", "Sum")]
        rates.append((f"rate_{group_id}", f"100 * FILL({errors}, 0) / FILL({requests}, 1)"))
    if len(rates) == 1:
        [(_, expression)] = rates
        label = "Target 5xx responses, % of requests"
    else:
        queries += [_expression(rate_id, rate_expression, None, result=False) for rate_id, rate_expression in rates]
        expression = f"MAX([{', '.join(rate_id for rate_id, _ in rates)}])"
        label = "Target 5xx responses, % of requests, the higher of both target groups"
    queries.append(_expression("rate", expression, label))
    return dict(metric_queries=queries)


def _dimensions(lb: LoadBalancerAttachment, group: aws.lb.TargetGroup) -> dict:
    return {"LoadBalancer": lb.arn_suffix, "TargetGroup": group.arn_suffix}


def _query(lb: LoadBalancerAttachment, query_id: str, group: aws.lb.TargetGroup, metric: str, statistic: str
           ) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    """A metric-math query of one target group's load balancer metric, per minute."""
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query_id,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace="AWS/ApplicationELB", metric_name=metric, dimensions=_dimensions(lb, group), period=60,
            stat=statistic),
    )


def _expression(query_id: str, expression: str, label: str | None, *, result: bool = True
                ) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    """A metric-math expression query; `result`: the one whose data the alarm watches."""
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(id=query_id, expression=expression, label=label,
                                                     return_data=result)
