"""The ECS CreateService and UpdateService requests pulumi-aws sends for an aws:ecs/service:Service.

pulumi-aws 7.x wraps terraform-provider-aws's `aws_ecs_service`; this follows its
internal/service/ecs/service.go (resourceServiceCreate, resourceServiceUpdate and the expand*
functions they call), read from hashicorp/terraform-provider-aws. The inputs are the rendered
resource's (`RenderedResource.inputs`): pulumi-aws's camelCase names - the ones the engine sends and
the policy pack reads - with numbers as floats. The request uses the API's names (botocore's ECS
model), so `aws_shapes.validation_errors("ecs", "CreateService", request)` judges it.

What the provider does on the way, and is done here too:
- it always sends a `deploymentConfiguration`: the alarms, the circuit breaker, for a REPLICA service
  `maximumPercent`/`minimumHealthyPercent` (its defaults 200/100) and `desiredCount` (0 when unset);
- `strategy` and everything that depends on it (bake time, linear and canary configuration) only
  when a strategy is set; `linearConfiguration` only with LINEAR and `canaryConfiguration` only with
  CANARY (any other block is dropped); lifecycle hooks only with a strategy on create, always on update;
- bake times are strings parsed with Go's strconv.ParseInt: an empty `bakeTimeInMinutes` is not sent,
  an empty canary or step bake time is sent as 0, and an unparsable one is refused before any request
  (`ProviderRefuses`); an unset `canaryPercent`/`stepPercent` in its block is sent as 0.0;
- `assignPublicIp` becomes ENABLED/DISABLED, `iamRole` becomes `role`, `elbName` `loadBalancerName`,
  `orderedPlacementStrategies` `placementStrategy`, `enableEcsManagedTags` `enableECSManagedTags`;
  `hookDetails` (a JSON string) becomes a JSON document, dropped when it does not parse.
- lifecycle hooks' `targetType` and `timeoutConfiguration` (pulumi-aws 7.51, newer than the provider
  source read) are sent when set, the timeout as a whole number like the other minutes.

Values of a type the schema does not declare (a string where a number belongs) are passed through as
they are, so the shape check reports them; the provider's own coercion may be more lenient. Inputs
this module does not translate (service connect, managed EBS volumes) raise `Untranslated`, so a
stack that starts using them is noticed rather than half-checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

SOURCE = ("https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/ecs/service.go "
          "(resourceServiceCreate, resourceServiceUpdate, expand*)")

PROVIDER_ONLY = {"waitForSteadyState", "forceDelete", "sigintRollback", "triggers", "region", "tagsAll", "arn"}
"""Inputs that steer the provider (waiting, deletion, replacement triggers) and send nothing."""
UNTRANSLATED = {"serviceConnectConfiguration", "volumeConfiguration"}

_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT32 = (-(2 ** 31), 2 ** 31 - 1)


class ProviderRefuses(ValueError):
    """The provider returns an error for these inputs before it sends any request."""


class Untranslated(KeyError):
    """An input this module does not translate."""


def _int(value: Any) -> Any:
    """A TypeInt input (a float over gRPC) as the provider sends it; anything else as it is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _float(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _nullable_int(value: Any, where: str) -> int | None:
    """terraform-provider-aws's nullable.Int: "" is null; otherwise strconv.ParseInt(s, 10, 32)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        text = str(int(value))  # the bridge turns a number into its decimal string
    elif isinstance(value, str):
        text = value
    else:
        raise ProviderRefuses(f"{where}: {value!r} is not a whole number of minutes")
    if not _GO_INT.fullmatch(text) or not _INT32[0] <= int(text) <= _INT32[1]:
        raise ProviderRefuses(f"{where}: cannot parse {text!r} as int (strconv.ParseInt)")
    return int(text)


def _mapping(value: Any) -> Mapping[str, Any] | None:
    """A configuration block (pulumi-aws gives MaxItems=1 blocks as one object, or a one-item list)."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str) and value and isinstance(value[0], Mapping):
        return value[0]
    return None


def _blocks(value: Any) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    return [item for item in value if isinstance(item, Mapping)]


def _strings(value: Any) -> list[Any]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _alarms(block: Mapping[str, Any]) -> dict[str, Any]:
    """expandAlarms: enable and rollback always (required members), the names when there are any."""
    alarms: dict[str, Any] = {"enable": bool(block.get("enable")), "rollback": bool(block.get("rollback"))}
    names = _strings(block.get("alarmNames"))
    if names:
        alarms["alarmNames"] = names
    return alarms


def _circuit_breaker(block: Mapping[str, Any]) -> dict[str, Any]:
    return {"enable": bool(block.get("enable")), "rollback": bool(block.get("rollback"))}


def _traffic_percent(block: Mapping[str, Any], key: str) -> Any:
    """expandCanaryConfiguration/expandLinearConfiguration read the percentage as the schema's
    float: an unset one is 0.0."""
    value = block.get(key)
    return 0.0 if value is None else _float(value)


def _shift_bake(block: Mapping[str, Any], key: str, where: str) -> int:
    """The canary's or a linear step's bake time: "" (unset) is parsed to 0 and sent."""
    minutes = _nullable_int(block.get(key), where)
    return 0 if minutes is None else minutes


def _hooks(hooks: Any) -> list[dict[str, Any]]:
    """expandLifecycleHooks, plus pulumi-aws 7.51's targetType and timeoutConfiguration."""
    expanded = []
    for index, hook in enumerate(_blocks(hooks)):
        where = f"deploymentConfiguration.lifecycleHooks[{index}]"
        item: dict[str, Any] = {}
        for key in ("hookTargetArn", "roleArn", "targetType"):
            if hook.get(key):
                item[key] = hook[key]
        stages = [stage for stage in _strings(hook.get("lifecycleStages")) if stage != ""]
        if stages:
            item["lifecycleStages"] = stages
        details = hook.get("hookDetails")
        if isinstance(details, str) and details:
            try:
                item["hookDetails"] = json.loads(details)
            except ValueError:
                pass  # the provider drops hook details that are not JSON
        timeout = _mapping(hook.get("timeoutConfiguration"))
        if timeout is not None:
            configuration: dict[str, Any] = {}
            minutes = _nullable_int(timeout.get("timeoutInMinutes"), f"{where}.timeoutConfiguration.timeoutInMinutes")
            if minutes is not None:
                configuration["timeoutInMinutes"] = minutes
            if timeout.get("action"):
                configuration["action"] = timeout["action"]
            item["timeoutConfiguration"] = configuration
        expanded.append(item)
    return expanded


def _strategy(deployment: Mapping[str, Any], into: dict[str, Any], *, update: bool) -> None:
    """The `deployment_configuration` block into the request's deploymentConfiguration."""
    strategy = deployment.get("strategy")
    if strategy:
        into["strategy"] = strategy
        bake = _nullable_int(deployment.get("bakeTimeInMinutes"), "deploymentConfiguration.bakeTimeInMinutes")
        if bake is not None:
            into["bakeTimeInMinutes"] = bake
        linear = _mapping(deployment.get("linearConfiguration"))
        if strategy == "LINEAR" and linear is not None:
            into["linearConfiguration"] = {
                "stepPercent": _traffic_percent(linear, "stepPercent"),
                "stepBakeTimeInMinutes": _shift_bake(linear, "stepBakeTimeInMinutes",
                                                     "deploymentConfiguration.linearConfiguration.stepBakeTimeInMinutes")}
        canary = _mapping(deployment.get("canaryConfiguration"))
        if strategy == "CANARY" and canary is not None:
            into["canaryConfiguration"] = {
                "canaryPercent": _traffic_percent(canary, "canaryPercent"),
                "canaryBakeTimeInMinutes": _shift_bake(canary, "canaryBakeTimeInMinutes",
                                                       "deploymentConfiguration.canaryConfiguration.canaryBakeTimeInMinutes")}
    # Create expands the hooks inside `if strategy != ""`, update after it.
    if (strategy or update) and _blocks(deployment.get("lifecycleHooks")):
        into["lifecycleHooks"] = _hooks(deployment.get("lifecycleHooks"))


def _load_balancers(value: Any) -> list[dict[str, Any]]:
    """expandServiceLoadBalancers."""
    balancers = []
    for block in _blocks(value):
        balancer: dict[str, Any] = {"containerName": block.get("containerName"),
                                    "containerPort": _int(block.get("containerPort"))}
        if block.get("elbName"):
            balancer["loadBalancerName"] = block["elbName"]
        if block.get("targetGroupArn"):
            balancer["targetGroupArn"] = block["targetGroupArn"]
        advanced = _mapping(block.get("advancedConfiguration"))
        if advanced is not None:
            balancer["advancedConfiguration"] = {
                "alternateTargetGroupArn": advanced.get("alternateTargetGroupArn") or "",
                "productionListenerRule": advanced.get("productionListenerRule") or "",
                "roleArn": advanced.get("roleArn") or ""}
            if advanced.get("testListenerRule"):
                balancer["advancedConfiguration"]["testListenerRule"] = advanced["testListenerRule"]
        balancers.append(balancer)
    return balancers


def _network(value: Any) -> dict[str, Any] | None:
    """expandNetworkConfiguration: awsvpc only; assignPublicIp always, as ENABLED or DISABLED."""
    block = _mapping(value)
    if block is None:
        return None
    return {"awsvpcConfiguration": {"subnets": _strings(block.get("subnets")),
                                    "securityGroups": _strings(block.get("securityGroups")),
                                    "assignPublicIp": "ENABLED" if block.get("assignPublicIp") else "DISABLED"}}


def _capacity(value: Any) -> list[dict[str, Any]]:
    items = []
    for block in _blocks(value):
        item: dict[str, Any] = {"capacityProvider": block.get("capacityProvider")}
        for key in ("weight", "base"):
            if block.get(key):
                item[key] = _int(block[key])
        items.append(item)
    return items


def _placement_strategy(value: Any) -> list[dict[str, Any]]:
    strategies = []
    for block in _blocks(value):
        strategy = {"type": block.get("type")}
        if block.get("field"):
            strategy["field"] = block["field"]  # omitted, not "", for the random strategy
        strategies.append(strategy)
    return strategies


def _placement_constraints(value: Any) -> list[dict[str, Any]]:
    constraints = []
    for block in _blocks(value):
        constraint = {"type": block.get("type")}
        if block.get("expression"):
            constraint["expression"] = block["expression"]
        constraints.append(constraint)
    return constraints


def _registries(value: Any) -> list[dict[str, Any]]:
    registries = []
    for block in _blocks(value):
        registry: dict[str, Any] = {"registryArn": block.get("registryArn")}
        for key in ("port", "containerPort"):
            if block.get(key):
                registry[key] = _int(block[key])
        if block.get("containerName"):
            registry["containerName"] = block["containerName"]
        registries.append(registry)
    return registries


def _lattice(value: Any) -> list[dict[str, Any]]:
    return [{"roleArn": block.get("roleArn"), "targetGroupArn": block.get("targetGroupArn"),
             "portName": block.get("portName")} for block in _blocks(value)]


def _check_inputs(inputs: Mapping[str, Any]) -> None:
    for key in inputs:
        if key in UNTRANSLATED:
            raise Untranslated(f"{key} is not translated into the ECS request here; extend tests/ecs_service_request.py")


def _deployment_configuration(inputs: Mapping[str, Any], request: dict[str, Any], *, update: bool) -> dict:
    deployment: dict[str, Any] = {}
    alarms = _mapping(inputs.get("alarms"))
    if alarms is not None:
        deployment["alarms"] = _alarms(alarms)
    scheduling = inputs.get("schedulingStrategy") or "REPLICA"
    minimum = _int(inputs.get("deploymentMinimumHealthyPercent", 100.0))
    if scheduling == "DAEMON":
        if minimum != 100:
            deployment["minimumHealthyPercent"] = minimum
    elif scheduling == "REPLICA":
        deployment["maximumPercent"] = _int(inputs.get("deploymentMaximumPercent", 200.0))
        deployment["minimumHealthyPercent"] = minimum
        request["desiredCount"] = _int(inputs.get("desiredCount") or 0)
    breaker = _mapping(inputs.get("deploymentCircuitBreaker"))
    if breaker is not None:
        deployment["deploymentCircuitBreaker"] = _circuit_breaker(breaker)
    configuration = _mapping(inputs.get("deploymentConfiguration"))
    if configuration is not None:
        _strategy(configuration, deployment, update=update)
    return deployment


def create_service_request(inputs: Mapping[str, Any], default_tags: Mapping[str, str] | None = None
                           ) -> dict[str, Any]:
    """The CreateService request for these inputs (resourceServiceCreate); `default_tags` are the
    provider's, merged under the resource's own tags as the provider merges them."""
    _check_inputs(inputs)
    controller = _mapping(inputs.get("deploymentController"))
    request: dict[str, Any] = {
        "clientToken": "terraform-20260101000000000000000001",
        "serviceName": inputs.get("name"),
        "schedulingStrategy": inputs.get("schedulingStrategy") or "REPLICA",
        "enableECSManagedTags": bool(inputs.get("enableEcsManagedTags")),
        "enableExecuteCommand": bool(inputs.get("enableExecuteCommand")),
    }
    capacity = _capacity(inputs.get("capacityProviderStrategies"))
    if capacity:
        request["capacityProviderStrategy"] = capacity
    if controller is not None:
        request["deploymentController"] = {"type": controller.get("type") or "ECS"}
    network = _network(inputs.get("networkConfiguration"))
    if network is not None:
        request["networkConfiguration"] = network
    tags = {**(default_tags or {}), **(inputs.get("tags") or {})}
    tags = {key: value for key, value in tags.items() if not str(key).startswith("aws:")}
    if tags:
        request["tags"] = [{"key": key, "value": value} for key, value in tags.items()]
    if "vpcLatticeConfigurations" in inputs:
        request["vpcLatticeConfigurations"] = _lattice(inputs["vpcLatticeConfigurations"])
    request["deploymentConfiguration"] = _deployment_configuration(inputs, request, update=False)
    for key, target in (("availabilityZoneRebalancing", "availabilityZoneRebalancing"), ("cluster", "cluster"),
                        ("iamRole", "role"), ("platformVersion", "platformVersion"),
                        ("propagateTags", "propagateTags"), ("taskDefinition", "taskDefinition")):
        if inputs.get(key):
            request[target] = inputs[key]
    if inputs.get("healthCheckGracePeriodSeconds"):
        request["healthCheckGracePeriodSeconds"] = _int(inputs["healthCheckGracePeriodSeconds"])
    if inputs.get("launchType"):
        external = controller is not None and controller.get("type") == "EXTERNAL"
        request["launchType"] = "" if external else inputs["launchType"]
    balancers = _load_balancers(inputs.get("loadBalancers"))
    if balancers:
        request["loadBalancers"] = balancers
    if inputs.get("orderedPlacementStrategies"):
        request["placementStrategy"] = _placement_strategy(inputs["orderedPlacementStrategies"])
    constraints = _placement_constraints(inputs.get("placementConstraints"))
    if constraints:
        request["placementConstraints"] = constraints
    registries = _registries(inputs.get("serviceRegistries"))
    if registries:
        request["serviceRegistries"] = registries
    return request


def update_service_request(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The UpdateService request of an update in which every argument these inputs set has
    changed (resourceServiceUpdate sends only what changed, so this is the largest one)."""
    _check_inputs(inputs)
    request: dict[str, Any] = {
        "cluster": inputs.get("cluster") or "",
        "service": inputs.get("name"),
        "forceNewDeployment": bool(inputs.get("forceNewDeployment")),
        "enableECSManagedTags": bool(inputs.get("enableEcsManagedTags")),
        "enableExecuteCommand": bool(inputs.get("enableExecuteCommand")),
        "healthCheckGracePeriodSeconds": _int(inputs.get("healthCheckGracePeriodSeconds") or 0),
    }
    request["deploymentConfiguration"] = _deployment_configuration(inputs, request, update=True)
    controller = _mapping(inputs.get("deploymentController"))
    if controller is not None:
        request["deploymentController"] = {"type": controller.get("type") or "ECS"}
    if inputs.get("availabilityZoneRebalancing"):
        request["availabilityZoneRebalancing"] = inputs["availabilityZoneRebalancing"]
    if "capacityProviderStrategies" in inputs:
        request["capacityProviderStrategy"] = _capacity(inputs["capacityProviderStrategies"])
    if "loadBalancers" in inputs:
        request["loadBalancers"] = _load_balancers(inputs["loadBalancers"])
    network = _network(inputs.get("networkConfiguration"))
    if network is not None:
        request["networkConfiguration"] = network
    if "orderedPlacementStrategies" in inputs:
        request["placementStrategy"] = _placement_strategy(inputs["orderedPlacementStrategies"])
    if "placementConstraints" in inputs:
        request["placementConstraints"] = _placement_constraints(inputs["placementConstraints"])
    if "platformVersion" in inputs:
        request["platformVersion"] = inputs["platformVersion"] or ""
    if inputs.get("propagateTags"):
        request["propagateTags"] = inputs["propagateTags"]
    if "serviceRegistries" in inputs:
        request["serviceRegistries"] = _registries(inputs["serviceRegistries"])
    if "taskDefinition" in inputs:
        request["taskDefinition"] = inputs["taskDefinition"] or ""
    if "vpcLatticeConfigurations" in inputs:
        request["vpcLatticeConfigurations"] = _lattice(inputs["vpcLatticeConfigurations"])
    return request
