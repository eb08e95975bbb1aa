"""The stack's building blocks, one ComponentResource per concern."""

from components.cluster import Cluster, ClusterArgs
from components.fargate_service import FargateService, FargateServiceArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.network import Network, NetworkArgs
from components.registry import Registry, RegistryArgs
from components.scheduled_task import ScheduledTask, ScheduledTaskArgs
from components.task_roles import TaskRoles, TaskRolesArgs

__all__ = [
    "Cluster", "ClusterArgs", "FargateService", "FargateServiceArgs", "LoadBalancer",
    "LoadBalancerArgs", "Network", "NetworkArgs", "Registry", "RegistryArgs", "ScheduledTask",
    "ScheduledTaskArgs", "TaskRoles", "TaskRolesArgs",
]
