"""Rules for ECS services and clusters."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, PolicyResource, Severity
from pulumi_policy.proxy import UnknownValueError

from ._common import (
    ECS_CLUSTER,
    ECS_SERVICE,
    TASK_DEFINITION,
    Config,
    MalformedDocument,
    Props,
    ResourceRule,
    StackRule,
    as_list,
    mapping,
    of_type,
    read_container_definitions,
    shown,
)

SCALING_TARGET = "aws:appautoscaling/target:Target"
SCHEDULE = "aws:scheduler/schedule:Schedule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"


# ---------------------------------------------------------------------------------------------
# Joining a service to its cluster, task definition and scaling target within the stack.


class _Links:
    """Finds the stack's resources a property names, by its known value or, when the value is
    unknown (a first preview), by the resources the property depends on. A property that names
    nothing in the stack (an existing cluster) links to nothing; one that is unknown and depends
    on nothing of the kind is recorded as unresolved, so the rule reports itself not runnable."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.resources = resources
        self.unresolved: list[UnknownValueError] = []

    def find(self, resource: PolicyResource, key: str, read: Callable[[], Any], resource_type: str,
             matches: Callable[[PolicyResource, str], bool]) -> list[PolicyResource]:
        try:
            value = read()
        except UnknownValueError as unknown:
            dependencies = [d for d in (getattr(resource, "property_dependencies", None) or {}).get(key, [])
                            if d.resource_type == resource_type]
            if not dependencies:
                self.unresolved.append(unknown)
            urns = {d.urn for d in dependencies}
            return [r for r in self.resources if r.urn in urns]
        if not isinstance(value, str) or not value:
            return []
        found = []
        for candidate in of_type(self.resources, resource_type):
            try:
                if matches(candidate, value):
                    found.append(candidate)
            except UnknownValueError:
                continue  # a candidate whose ARN/name is unknown is not the one a known value names
        return found

    def finish(self) -> None:
        if self.unresolved:
            raise self.unresolved[0]


def _last(value: str, marker: str) -> str:
    return value.rsplit(marker, 1)[-1] if marker in value else value


def _is_cluster(cluster: PolicyResource, value: str) -> bool:
    """`cluster` of a service: the cluster's ARN or its name."""
    return value == cluster.props.get("arn") or _last(value, "cluster/") == cluster.props.get("name")


def _is_task_definition(task: PolicyResource, value: str) -> bool:
    """`taskDefinition`: the ARN, `family:revision` or `family`."""
    if value == task.props.get("arn"):
        return True
    family = _last(value, "task-definition/").split(":", 1)[0]
    return family == task.props.get("family")


def _cluster_of(links: _Links, service: PolicyResource) -> list[PolicyResource]:
    return links.find(service, "cluster", lambda: service.props.get("cluster"), ECS_CLUSTER, _is_cluster)


def _task_definitions_of(links: _Links, resource: PolicyResource, key: str,
                         read: Callable[[], Any]) -> list[PolicyResource]:
    return links.find(resource, key, read, TASK_DEFINITION, _is_task_definition)


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


def _service_minimum(service: Props, targets: list[PolicyResource]) -> tuple[Any, str]:
    """(the fewest tasks the service runs, where that number comes from)."""
    desired = service.get("desiredCount")
    if desired is not None or not targets:
        return (0 if desired is None else desired), "desiredCount"  # the provider's default is 0
    # desiredCount unset: Application Auto Scaling keeps the service at or above its minimum.
    return min(t.props.get("minCapacity") or 0 for t in targets), "the autoscaling minCapacity"


def _scales(target: PolicyResource, service: PolicyResource) -> bool:
    """Whether an ecs:service:DesiredCount target (`resourceId` service/CLUSTER/SERVICE) is this
    service's."""
    props = target.props
    if props.get("serviceNamespace") != "ecs" or props.get("scalableDimension") != "ecs:service:DesiredCount":
        return False
    try:
        resource_id = props.get("resourceId")
    except UnknownValueError:
        dependencies = (getattr(target, "property_dependencies", None) or {}).get("resourceId", [])
        if any(d.urn == service.urn for d in dependencies):
            return True
        raise
    parts = str(resource_id or "").split("/")
    if len(parts) != 3 or parts[0] != "service":
        return False
    cluster = str(service.props.get("cluster") or "")
    return parts[2] == service.props.get("name") and parts[1] == _last(cluster, "cluster/")


def check_min_tasks(resources: Sequence[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    minimum = config["minimum"]
    targets = of_type(resources, SCALING_TARGET)
    unresolved: list[UnknownValueError] = []
    for service in of_type(resources, ECS_SERVICE):
        props = service.props
        if props.get("schedulingStrategy") == "DAEMON":
            continue  # a daemon service runs one task per instance; it has no desired count
        mine, unknown = [], None
        if props.get("desiredCount") is None:
            for target in targets:
                try:
                    if _scales(target, service):
                        mine.append(target)
                except UnknownValueError as error:
                    unknown = error
        if unknown is not None and not mine:
            unresolved.append(unknown)
            continue  # which target scales it can't be told yet
        count, source = _service_minimum(props, mine)
        if count < minimum:
            yield (f"{source} is {shown(count)}, below the minimum of {shown(minimum)}; with fewer tasks a "
                   "single task failure or a deploy takes the service down."), service.urn
    if unresolved:
        raise unresolved[0]


# ---------------------------------------------------------------------------------------------
# ECS Exec and Fargate platform versions.


def _exec_logging_gap(cluster: Props, tasks: list[PolicyResource]) -> str | None:
    """Why a cluster does not log ECS Exec sessions, or None when it does.

    `logging` NONE logs nothing; OVERRIDE logs to `logConfiguration`'s CloudWatch log group or S3
    bucket (ECS requires one); DEFAULT (also when unset) logs to the container's awslogs group, so
    it logs only when the task's containers use the awslogs driver (judged when the service's task
    definition is in the stack).
    """
    configuration = mapping(mapping(cluster.get("configuration")).get("executeCommandConfiguration"))
    logging = configuration.get("logging") or "DEFAULT"
    if logging == "NONE":
        return "its executeCommandConfiguration.logging is NONE"
    if logging == "OVERRIDE":
        target = mapping(configuration.get("logConfiguration"))
        if not (target.get("cloudWatchLogGroupName") or target.get("s3BucketName")):
            return ("its executeCommandConfiguration.logging is OVERRIDE without a cloudWatchLogGroupName or "
                    "s3BucketName in logConfiguration")
        return None
    for task in tasks:
        try:
            definitions = read_container_definitions(task.props.get("containerDefinitions")).containers
        except MalformedDocument:
            continue  # the task definition rules report it
        without = [name for name, c in definitions
                   if mapping(c.get("logConfiguration")).get("logDriver") != "awslogs"]
        if without:
            return (f"its executeCommandConfiguration.logging is {logging} (the task's awslogs configuration), "
                    f"and container(s) {', '.join(without)} of {task.name} do not use the awslogs driver")
    return None


def check_exec_logging(resources: Sequence[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    links = _Links(resources)
    for service in of_type(resources, ECS_SERVICE):
        if service.props.get("enableExecuteCommand") is not True:
            continue
        tasks = _task_definitions_of(links, service, "taskDefinition", lambda s=service: s.props.get("taskDefinition"))
        for cluster in _cluster_of(links, service):
            gap = _exec_logging_gap(cluster.props, tasks)
            if gap:
                yield (f"enableExecuteCommand is true, but cluster {cluster.name} does not log ECS Exec sessions: "
                       f"{gap}; a shell in a running task then leaves no record of what was typed."), service.urn
    links.finish()


_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
OLDEST_CURRENT_LINUX_VERSION = (1, 4, 0)


def _old_platform_version(version: Any) -> bool:
    """Whether a Linux Fargate platform version is older than 1.4.0 (1.3.0 and before are
    deprecated; LATEST and unset mean the latest, 1.4.0)."""
    match = _VERSION.match(str(version)) if isinstance(version, str) else None
    return bool(match) and tuple(int(part) for part in match.groups()) < OLDEST_CURRENT_LINUX_VERSION


def _on_fargate(launch_type: Any, strategies: Any) -> bool:
    providers = {mapping(s).get("capacityProvider") for s in as_list(strategies)}
    return launch_type == "FARGATE" or bool(providers & {"FARGATE", "FARGATE_SPOT"})


def _windows(tasks: list[PolicyResource]) -> bool:
    return any(str(mapping(t.props.get("runtimePlatform")).get("operatingSystemFamily") or "").startswith("WINDOWS")
               for t in tasks)


def check_platform_version(resources: Sequence[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    links = _Links(resources)
    runs = []  # (resource, what, version, launch type, strategies, task definition key, reader)
    for service in of_type(resources, ECS_SERVICE):
        p = service.props
        runs.append((service, "platformVersion", p.get("platformVersion"), p.get("launchType"),
                     p.get("capacityProviderStrategies"), "taskDefinition", lambda p=p: p.get("taskDefinition")))
    for schedule in of_type(resources, SCHEDULE):
        ecs = mapping(mapping(schedule.props.get("target")).get("ecsParameters"))
        if ecs:
            runs.append((schedule, "target.ecsParameters.platformVersion", ecs.get("platformVersion"),
                         ecs.get("launchType"), ecs.get("capacityProviderStrategies"), "target",
                         lambda ecs=ecs: ecs.get("taskDefinitionArn")))
    for target in of_type(resources, EVENT_TARGET):
        ecs = mapping(target.props.get("ecsTarget"))
        if ecs:
            runs.append((target, "ecsTarget.platformVersion", ecs.get("platformVersion"), ecs.get("launchType"),
                         ecs.get("capacityProviderStrategies"), "ecsTarget",
                         lambda ecs=ecs: ecs.get("taskDefinitionArn")))
    for resource, what, version, launch_type, strategies, key, read in runs:
        if not _old_platform_version(version) or not _on_fargate(launch_type, strategies):
            continue
        if _windows(_task_definitions_of(links, resource, key, read)):
            continue  # Windows on Fargate has its own versions (1.0.0)
        yield (f"{what} pins Fargate platform version {version}; Linux versions before 1.4.0 are deprecated and "
               "retired (no new tasks, running ones stopped), and lack ECS Exec, EFS and SYS_PTRACE. Use LATEST "
               "or 1.4.0."), resource.urn
    links.finish()


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
    StackRule(
        name="ecs-service-min-tasks",
        description=("ECS services must run at least a minimum number of tasks (desiredCount, or the "
                     "autoscaling minimum when desiredCount is unset)."),
        check=check_min_tasks,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=PolicyConfigSchema(properties={
            "minimum": {
                "type": "integer",
                "minimum": 0,
                "default": 2,
                "description": "The lowest acceptable desiredCount (or autoscaling minCapacity).",
            },
        }),
        rationale=("One task means every crash, host retirement or AZ outage is downtime; two "
                   "tasks spread over AZs survive them."),
        remediation_steps="Set desiredCount (or the autoscaling minimum) to at least the configured minimum.",
    ),
    StackRule(
        name="ecs-exec-session-logging",
        description="ECS services with ECS Exec enabled must run in a cluster that logs Exec sessions.",
        check=check_exec_logging,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        rationale=("ECS Exec opens a shell inside running tasks; without session logging nobody can tell "
                   "afterwards what was run there. The cluster's logging NONE logs nothing, and DEFAULT "
                   "logs only through the task's awslogs driver."),
        remediation_steps=("Set the cluster's configuration.executeCommandConfiguration to logging: OVERRIDE "
                           "with logConfiguration.cloudWatchLogGroupName (or s3BucketName), or keep DEFAULT "
                           "with every container on the awslogs driver; or turn enableExecuteCommand off."),
    ),
    StackRule(
        name="ecs-fargate-platform-version",
        description=("Fargate services and scheduled tasks must not pin a Linux platform version older "
                     "than 1.4.0."),
        check=check_platform_version,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        rationale=("Fargate Linux platform versions 1.0.0-1.3.0 are deprecated and being retired: AWS stops "
                   "launching tasks on them and stops the running ones, and they lack ECS Exec, EFS and "
                   "the task ENI for all traffic. A pinned version is never updated by AWS."),
        remediation_steps="Set platformVersion to LATEST (or 1.4.0), or leave it unset.",
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
