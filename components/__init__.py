"""The stack's building blocks, one ComponentResource per concern, usable from any Pulumi program.

Each component takes its Args (typed dataclasses with the defaults it applies, documented per
field) and checks them when it is created: every value AWS would refuse is reported at once in
an `ArgsError`, before anything is registered. Values only known at deploy time (Outputs) are
left to AWS. Nothing here reads stack config: settings.py maps a stack file to these Args.

A web service without a `priority` gets `default_priority`, from its name and routing (the one a
stack file derives too). Pass all the web services of one listener through `check_services([...])`:
it does across them what a stack file does (unique priorities, no rule hiding another). Attach
each with its `LoadBalancer`'s `attachment`, which refuses a second service with a priority
already claimed on that listener.
"""

from components.cluster import Cluster, ClusterArgs
from components.deployment import DeploymentSpec, LifecycleHookSpec
from components.fargate_service import (
    AutoscalingSpec, FargateService, FargateServiceArgs, LoadBalancerAttachment, RollbackAlarmSpec, ServiceSpec,
    name_features,
)
from components.image import DockerBuild, ImageSource
from components.listener_rules import check_services, default_priority
from components.load_balancer import LoadBalancer, LoadBalancerArgs, LoadBalancerSpec
from components.network import Network, NetworkArgs
from components.registry import Registry, RegistryArgs
from components.scheduled_task import ScheduledJobSpec, ScheduledTask, ScheduledTaskArgs, ServiceTaskReference
from components.task_definition import ContainerHealthCheck, Placement, TaskSpec
from components.task_roles import TaskRoles, TaskRolesArgs
from components.validation import ArgsError

__all__ = [
    "ArgsError", "AutoscalingSpec", "Cluster", "ClusterArgs", "ContainerHealthCheck", "DeploymentSpec", "DockerBuild",
    "FargateService", "FargateServiceArgs", "ImageSource", "LifecycleHookSpec", "LoadBalancer", "LoadBalancerArgs",
    "LoadBalancerAttachment", "LoadBalancerSpec", "Network", "NetworkArgs", "Placement", "Registry", "RegistryArgs",
    "RollbackAlarmSpec", "ScheduledJobSpec", "ScheduledTask", "ScheduledTaskArgs", "ServiceSpec", "ServiceTaskReference",
    "TaskRoles", "TaskRolesArgs", "TaskSpec", "check_services", "default_priority", "name_features",
]
