"""awsx components expanded as awsx 3.x builds them, so the pack sees their `pulumi_aws` children.

awsx is a multi-language package: its Python SDK only registers a remote component, and the
children are created by the awsx provider (TypeScript: `awsx/ec2/vpc.ts`, `awsx/ecs/*.ts`,
`awsx/lb/applicationLoadBalancer.ts`, `awsx/ecr/*.ts`). Under mocks nothing runs that code, so the
mock monitor hands each remote registration to `expand`, which registers the same children with
the same names, parents, inputs and defaults, and answers with the component's outputs built
from them (resource references where awsx returns resources: `lb.load_balancer.dns_name` works).

Written from awsx's source as of 3.8–3.11 (the files above are unchanged across those releases).
Another major version is not guessed at: `expand` refuses it and the component is reported as
not evaluated, as is any remote component this module has no expansion for.
"""

from __future__ import annotations

import hashlib
import inspect
import ipaddress
import json
import math
import re
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2

SUPPORTED_MAJOR = 3

_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_SPECIAL = "4dabf18193072939515e22adb298388d"
UNKNOWN = rpc.UNKNOWN

EXECUTION_ROLE_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


class NotExpanded(Exception):
    """preflight cannot expand this component (unsupported version or input): not evaluated."""


class AwsxError(Exception):
    """awsx itself would refuse these inputs: the program fails, as under the engine."""


def sha1hash(text: str) -> str:
    """awsx's `utils.sha1hash`: the first 8 hex digits of the SHA-1."""
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def aws_input_names(args_class: type) -> set[str]:
    """The input properties of a `pulumi_aws` resource (the TS SDK copies only these)."""
    return {_camel(p) for p in inspect.signature(args_class.__init__).parameters if p != "__self__"}


def _only(args: dict, args_class: type) -> dict:
    names = aws_input_names(args_class)
    return {k: v for k, v in args.items() if k in names and v is not None}


class Ref:
    """A resource reference in a component's inputs: its URN, id and registered state."""

    def __init__(self, urn: str, id_: str | None, state: dict):
        self.urn, self.id, self.state = urn, id_, state

    def get(self, key: str, default: Any = None) -> Any:
        return self.state.get(key, default)


class Child:
    """A registered child: its URN, id and outputs (as the mock provider answered)."""

    def __init__(self, urn: str, id_: str, outputs: dict):
        self.urn, self.id, self.outputs = urn, id_ or UNKNOWN, outputs

    def __getitem__(self, key: str) -> Any:
        value = self.outputs.get(key)
        return UNKNOWN if value is None else value

    def ref(self) -> dict:
        return {_SPECIAL: _RESOURCE_SIG, "urn": self.urn, "id": self.id, "packageVersion": ""}


def _plain(value: Any, lookup: Callable[[str], Ref]) -> Any:
    """The wire encoding (as `MessageToDict` gives it) to plain values; refs become `Ref`s."""
    if isinstance(value, dict):
        sig = value.get(_SPECIAL)
        if sig == _RESOURCE_SIG:
            return lookup(value["urn"])
        if sig == _SECRET_SIG:
            return _plain(value.get("value"), lookup)
        return {k: _plain(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, lookup) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _wire(value: Any) -> Any:
    """Plain values (with `Child`/`Ref` objects) to what a Struct holds."""
    if isinstance(value, Child):
        return value.ref()
    if isinstance(value, Ref):
        return {_SPECIAL: _RESOURCE_SIG, "urn": value.urn, "id": value.id or "", "packageVersion": ""}
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    return value


def _struct(properties: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(_wire(properties))
    return struct


def _known(*values: Any) -> bool:
    return all(v is not None and v != UNKNOWN for v in values)


class Expander:
    """Registers one remote awsx component's children through `monitor` and builds its outputs."""

    def __init__(self, monitor, request):
        self.monitor = monitor
        self.mocks = monitor.mocks
        self.request = request
        self.urn = monitor.make_urn(request.parent, request.type, request.name)
        self.name = request.name
        self.stack = monitor.stack_name()
        self.args = _plain(json_format.MessageToDict(request.object), self._lookup)

    def _lookup(self, urn: str) -> Ref:
        registration = self.monitor.resources.get(urn)
        if registration is None:
            return Ref(urn, None, {})
        return Ref(urn, registration.id, dict(registration.state))

    # -- registering ----------------------------------------------------------------------

    def child(self, typ: str, name: str, inputs: dict, parent: str | Child | None = None,
              custom: bool = True, deps: dict[str, list[Child]] | None = None) -> Child:
        parent_urn = parent.urn if isinstance(parent, Child) else (parent or self.urn)
        inputs = {k: v for k, v in inputs.items() if v is not None}
        property_deps = {key: resource_pb2.RegisterResourceRequest.PropertyDependencies(
            urns=[c.urn for c in children]) for key, children in (deps or {}).items()}
        dependencies = sorted({c.urn for children in (deps or {}).values() for c in children}
                              | ({parent.urn} if isinstance(parent, Child) else set()))
        package = typ.split(":")[0]
        # The component's providers (its own or inherited) are its children's, as in awsx's construct.
        provider = self.request.providers.get(package) or (self.request.provider if package == "aws" else "")
        request = resource_pb2.RegisterResourceRequest(
            type=typ, name=name, parent=parent_urn, custom=custom, object=_struct(inputs),
            dependencies=dependencies, propertyDependencies=property_deps,
            provider=provider if custom else "", providers=dict(self.request.providers) if not custom else {})
        response = self.monitor.RegisterResource(request)
        outputs = _plain(json_format.MessageToDict(response.object), self._lookup) if custom else {}
        return Child(response.urn, response.id, outputs)

    def outputs(self, outputs: dict) -> dict:
        return {k: v for k, v in outputs.items() if v is not None}

    # -- helpers shared by components -----------------------------------------------------

    def default_vpc(self) -> dict:
        """awsx's `getDefaultVpc`: the account's default VPC and its subnets (all public)."""
        vpc = self.mocks.call_token("aws:ec2/getVpc:getVpc", {"default": True})
        ids = self.mocks.call_token("aws:ec2/getSubnets:getSubnets",
                                    {"filters": [{"name": "vpc-id", "values": [vpc["id"]]}]})["ids"]
        subnets = [self.mocks.call_token("aws:ec2/getSubnet:getSubnet", {"id": i}) for i in ids]
        return {"vpcId": vpc["id"],
                "publicSubnetIds": [s["id"] for s in subnets if s.get("mapPublicIpOnLaunch")],
                "privateSubnetIds": [s["id"] for s in subnets if not s.get("mapPublicIpOnLaunch")]}

    def role_with_policies(self, name: str, inputs: dict | None, parent: Child | None = None) -> tuple[Any, Child | None]:
        """awsx's `defaultRoleWithPolicies` with the ECS defaults: (role ARN, role)."""
        import pulumi_aws as aws

        inputs = inputs or {}
        if inputs.get("roleArn") is not None and inputs.get("args") is not None:
            raise AwsxError("Can't define role args if specified an existing role ARN")
        if inputs.get("skip") is True:
            return None, None
        if inputs.get("roleArn") is not None:
            return inputs["roleArn"], None
        execution = name.endswith("-execution")
        args = {"assumeRolePolicy": {
                    "Version": "2012-10-17",
                    "Statement": [{"Action": "sts:AssumeRole", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                                   "Effect": "Allow", "Sid": ""}]},
                "policyArns": [EXECUTION_ROLE_POLICY] if execution else [],
                **(inputs.get("args") or {})}
        policy = args["assumeRolePolicy"]
        args["assumeRolePolicy"] = policy if isinstance(policy, str) else json.dumps(policy, separators=(",", ":"))
        policy_arns = args.pop("policyArns", None) or []
        role = self.child("aws:iam/role:Role", name, _only(args, aws.iam.RoleArgs), parent)
        for arn in policy_arns:
            self.child("aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"{name}-{sha1hash(arn)}",
                       {"role": role["name"], "policyArn": arn}, parent, deps={"role": [role]})
        return role["arn"], role

    # -- awsx:ecs ---------------------------------------------------------------------------

    def task_definition(self, name: str, args: dict, parent: str | None = None) -> dict:
        """`awsx.ecs.FargateTaskDefinition` (as a remote component, or inside a FargateService)."""
        import pulumi_aws as aws

        container, containers = args.get("container"), args.get("containers")
        if (container is None) == (containers is None):
            raise AwsxError("Exactly one of [container] or [containers] must be provided")
        if containers is None:
            containers = {container.get("name") or "container": container}

        log_inputs = args.get("logGroup") or {}
        log_group, log_group_name = None, None
        region = self.mocks.region
        if not log_inputs.get("skip"):
            existing = log_inputs.get("existing")
            if existing and log_inputs.get("args") is not None:
                raise AwsxError("Can't define log group args if specifying an existing log group name")
            if existing:
                if existing.get("arn"):
                    parts = str(existing["arn"]).split(":")
                    log_group_name, region = (parts[6] if len(parts) > 6 else UNKNOWN), parts[3]
                elif existing.get("name"):
                    log_group_name, region = existing["name"], existing.get("region") or region
                else:
                    raise AwsxError("One of an existing log group name or ARN must be specified")
            else:
                log_group = self.child("aws:cloudwatch/logGroup:LogGroup", name,
                                       _only(log_inputs.get("args") or {}, aws.cloudwatch.LogGroupArgs), parent)
                log_group_name = log_group["name"]

        task_role_arn, task_role = self.role_with_policies(f"{name}-task", args.get("taskRole"), parent)
        execution_role_arn, execution_role = self.role_with_policies(
            f"{name}-execution", args.get("executionRole"), parent)

        definitions, load_balancers, target_groups = [], [], []
        for container_name in sorted(containers):
            spec = dict(containers[container_name])
            mappings = None
            if spec.get("portMappings") is not None:
                mappings = []
                for mapping in spec["portMappings"]:
                    target_group = mapping.get("targetGroup")
                    tg_port = target_group.get("port") if isinstance(target_group, Ref) else None
                    mappings.append({k: v for k, v in {
                        "name": mapping.get("name"),
                        "containerPortRange": mapping.get("containerPortRange"),
                        "appProtocol": mapping.get("appProtocol"),
                        "containerPort": _first(mapping.get("containerPort"), mapping.get("hostPort"), tg_port),
                        "hostPort": _first(mapping.get("hostPort"), tg_port, mapping.get("containerPort")),
                        "protocol": mapping.get("protocol"),
                    }.items() if v is not None})
                    if isinstance(target_group, Ref) and tg_port is not None and target_group.get("arn"):
                        load_balancers.append({"containerName": container_name, "containerPort": tg_port,
                                               "targetGroupArn": target_group.get("arn")})
                        target_groups.append(Child(target_group.urn, target_group.id, {}))
            definition = {**spec, "portMappings": mappings, "name": container_name}
            if definition.get("logConfiguration") is None and log_group_name is not None:
                definition["logConfiguration"] = {"logDriver": "awslogs", "options": {
                    "awslogs-group": log_group_name, "awslogs-region": region,
                    "awslogs-stream-prefix": container_name}}
            definitions.append({k: v for k, v in definition.items() if v is not None})

        container_json = json.dumps(definitions, separators=(",", ":"))
        inputs = _only(args, aws.ecs.TaskDefinitionArgs)
        if inputs.get("cpu") is None or inputs.get("memory") is None:
            cpu, memory = fargate_memory_and_cpu(definitions)
            inputs.setdefault("cpu", cpu)
            inputs.setdefault("memory", memory)
        family = args.get("family") or f"{name}-{sha1hash(self.stack + container_json)}"
        deps = {"taskRoleArn": [task_role] if task_role else [],
                "executionRoleArn": [execution_role] if execution_role else [],
                "containerDefinitions": [log_group] if log_group else []}
        task_definition = self.child("aws:ecs/taskDefinition:TaskDefinition", name, {
            **inputs, "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
            "taskRoleArn": task_role_arn, "executionRoleArn": execution_role_arn,
            "family": family, "containerDefinitions": container_json,
        }, parent, deps={k: v for k, v in deps.items() if v})
        return {"taskDefinition": task_definition, "logGroup": log_group, "taskRole": task_role,
                "executionRole": execution_role, "loadBalancers": load_balancers,
                "targetGroups": target_groups}

    def fargate_task_definition(self) -> dict:
        built = self.task_definition(self.name, self.args)
        built.pop("targetGroups")
        return self.outputs(built)

    def fargate_service(self) -> dict:
        import pulumi_aws as aws

        args, name = self.args, self.name
        if args.get("taskDefinition") is not None and args.get("taskDefinitionArgs") is not None:
            raise AwsxError("Only one of `taskDefinition` or `taskDefinitionArgs` can be provided.")
        if args.get("networkConfiguration") is not None and args.get("assignPublicIp") is not None:
            raise AwsxError("Only one of `networkConfiguration` or `assignPublicIp` can be provided.")
        task_definition_id, built = args.get("taskDefinition"), None
        if args.get("taskDefinitionArgs") is not None:
            component = self.child("awsx:ecs:FargateTaskDefinition", name, {}, custom=False)
            built = self.task_definition(name, args["taskDefinitionArgs"], component.urn)
            task_definition_id = built["taskDefinition"]["arn"]
        if task_definition_id is None:
            raise AwsxError("Either `taskDefinition` or `taskDefinitionArgs` must be provided.")
        if args.get("capacityProviderStrategies") and args.get("useClusterDefaultCapacityProviderStrategy"):
            raise AwsxError("Only one of `capacityProviderStrategies` or "
                            "`useClusterDefaultCapacityProviderStrategy` can be provided.")
        launch_type = (None if args.get("capacityProviderStrategies")
                       or args.get("useClusterDefaultCapacityProviderStrategy") else "FARGATE")

        network = args.get("networkConfiguration")
        security_group = None
        if network is None:
            default_vpc = self.default_vpc()
            security_group = self.child("aws:ec2/securityGroup:SecurityGroup", f"{name}-sg", {
                "vpcId": default_vpc["vpcId"], **_OPEN_RULES})
            assign_public_ip = bool(args.get("assignPublicIp") or False)
            if not assign_public_ip and not default_vpc["privateSubnetIds"]:
                raise AwsxError("The default VPC does not have any private subnets. Set `assignPublicIp` to "
                                "`true`, provide `networkConfiguration`, or add private subnets to the default VPC.")
            network = {"subnets": default_vpc["publicSubnetIds" if assign_public_ip else "privateSubnetIds"],
                       "assignPublicIp": assign_public_ip, "securityGroups": [security_group.id]}
        cluster = args.get("cluster")
        if isinstance(cluster, Ref):
            cluster = cluster.get("arn")
        deps = {"taskDefinition": [built["taskDefinition"]]} if built else {}
        if built and built["targetGroups"] and not args.get("loadBalancers"):
            # The target groups' ARNs are in loadBalancers: the engine records them as its
            # property dependencies (how a first preview finds a service's target group).
            deps["loadBalancers"] = built["targetGroups"]
        if security_group:
            deps["networkConfiguration"] = [security_group]
        service = self.child("aws:ecs/service:Service", name, {
            "desiredCount": 1, **_only(args, aws.ecs.ServiceArgs),
            "networkConfiguration": network, "cluster": cluster, "launchType": launch_type,
            "loadBalancers": args.get("loadBalancers") or (built or {}).get("loadBalancers") or None,
            "waitForSteadyState": not bool(args.get("continueBeforeSteadyState") or False),
            "taskDefinition": task_definition_id,
        }, deps=deps)
        return self.outputs({"service": service, "taskDefinition": (built or {}).get("taskDefinition")})

    # -- awsx:lb ----------------------------------------------------------------------------

    def application_load_balancer(self) -> dict:
        import pulumi_aws as aws

        args, name = dict(self.args), self.name
        subnet_ids, subnets = args.pop("subnetIds", None), args.pop("subnets", None)
        default_tg, default_tg_port = args.pop("defaultTargetGroup", None), args.pop("defaultTargetGroupPort", None)
        default_sg = args.pop("defaultSecurityGroup", None) or {}
        listener, listeners = args.pop("listener", None), args.pop("listeners", None)
        lb_args = _only(args, aws.lb.LoadBalancerArgs)
        if sum(x is not None for x in (subnet_ids, subnets, lb_args.get("subnetMappings"))) > 1:
            raise AwsxError("Only one of [subnets], [subnetIds] or [subnetMappings] can be specified")
        if subnets is not None:
            lb_args["subnets"] = [s.id if isinstance(s, Ref) else s for s in subnets]
            vpc_id = subnets[0].get("vpcId") if subnets and isinstance(subnets[0], Ref) else UNKNOWN
        elif subnet_ids is not None:
            lb_args["subnets"] = subnet_ids
            vpc_id = self._subnet_vpc(subnet_ids[0] if subnet_ids else None)
        elif lb_args.get("subnetMappings"):
            vpc_id = self._subnet_vpc(lb_args["subnetMappings"][0].get("subnetId"))
        else:
            default_vpc = self.default_vpc()
            vpc_id, lb_args["subnets"] = default_vpc["vpcId"], default_vpc["publicSubnetIds"]
        if listener is not None and listeners is not None:
            raise AwsxError("Only one of [listener] and [listeners] can be specified")

        security_group = None
        if not lb_args.get("securityGroups") and not default_sg.get("skip"):
            if default_sg.get("args") is not None and default_sg.get("securityGroupId"):
                raise AwsxError("Only one of [defaultSecurityGroup] [args] or [securityGroupId] can be specified")
            if default_sg.get("securityGroupId"):
                lb_args["securityGroups"] = [default_sg["securityGroupId"]]
            else:
                sg_args = default_sg.get("args")
                security_group = self.child(
                    "aws:ec2/securityGroup:SecurityGroup", name,
                    _only(sg_args, aws.ec2.SecurityGroupArgs) if sg_args is not None
                    else {"vpcId": vpc_id, **_OPEN_RULES})
                lb_args["securityGroups"] = [security_group.id]
        lb_args["loadBalancerType"] = "application"
        load_balancer = self.child("aws:lb/loadBalancer:LoadBalancer", name, lb_args,
                                   deps={"securityGroups": [security_group]} if security_group else None)
        if default_tg is not None and default_tg_port is not None:
            raise AwsxError("Only one of `defaultTargetGroup` or `defaultTargetGroupPort` can be provided.")

        default_protocol = _default_protocol(listener, listeners, default_tg_port)
        target_group = self.child("aws:lb/targetGroup:TargetGroup", name, {
            "vpcId": vpc_id, "targetType": "ip", **(default_protocol or {}),
            **_only(default_tg or {}, aws.lb.TargetGroupArgs)})
        default_actions = [{"type": "forward", "targetGroupArn": target_group["arn"]}]
        deps = {"loadBalancerArn": [load_balancer], "defaultActions": [target_group]}
        if listeners is not None:
            made = [self.child("aws:lb/listener:Listener", f"{name}-{i}", {
                "defaultActions": default_actions, **(_listener_protocol(spec) or {}),
                **_only(spec, aws.lb.ListenerArgs), "loadBalancerArn": load_balancer["arn"]}, deps=deps)
                for i, spec in enumerate(listeners)]
        else:
            made = [self.child("aws:lb/listener:Listener", f"{name}-0", {
                "defaultActions": default_actions, **(default_protocol or {}),
                **_only(listener or {}, aws.lb.ListenerArgs), "loadBalancerArn": load_balancer["arn"]},
                deps=deps)]
        return self.outputs({"loadBalancer": load_balancer, "defaultTargetGroup": target_group,
                             "defaultSecurityGroup": security_group, "listeners": made, "vpcId": vpc_id})

    def _subnet_vpc(self, subnet_id: Any) -> Any:
        if not _known(subnet_id):
            return UNKNOWN
        for registration in self.monitor.resources.values():
            if registration.id == subnet_id and registration.state.get("vpcId"):
                return registration.state["vpcId"]
        return self.mocks.call_token("aws:ec2/getSubnet:getSubnet", {"id": subnet_id})["vpcId"]

    # -- awsx:ecr ---------------------------------------------------------------------------

    def repository(self) -> dict:
        import pulumi_aws as aws

        args, lower = dict(self.args), self.name.lower()
        lifecycle = args.pop("lifecyclePolicy", None) or {}
        repo = self.child("aws:ecr/repository:Repository", lower, _only(args, aws.ecr.RepositoryArgs))
        policy = None
        if not lifecycle.get("skip"):
            rules = lifecycle.get("rules") or [{"description": "remove untagged images",
                                                "tagStatus": "untagged", "maximumNumberOfImages": 1}]
            policy = self.child("aws:ecr/lifecyclePolicy:LifecyclePolicy", lower, {
                "repository": repo["name"], "policy": json.dumps(_lifecycle_document(rules)),
                "region": args.get("region")}, deps={"repository": [repo]})
        return self.outputs({"repository": repo, "lifecyclePolicy": policy, "url": repo["repositoryUrl"]})

    def image(self) -> dict:
        args = self.args
        repository_url = args.get("repositoryUrl")
        image_name = args.get("imageName") or args.get("imageTag")
        if not image_name:
            signature = args.get("context") or "."
            if args.get("dockerfile"):
                signature += f";dockerfile={args['dockerfile']}"
            for key, value in (args.get("args") or {}).items():
                signature += f";arg[{key}]={value}"
            image_name = f"{sha1hash(signature + self.stack)}-container"
        canonical = f"{repository_url}:{image_name}"
        registry = str(repository_url).split("/")[0]
        image = self.child("docker-build:index:Image", image_name, {
            "tags": [canonical], "buildArgs": args.get("args"),
            "cacheFrom": [{"registry": {"ref": c}} for c in args.get("cacheFrom") or []]
            or [{"registry": {"ref": canonical}}],
            "cacheTo": [{"inline": {}}], "context": {"location": args.get("context") or "."},
            "dockerfile": {"location": args.get("dockerfile")},
            "platforms": [args["platform"]] if args.get("platform") else [],
            "target": args.get("target"), "push": True,
            "registries": [{"address": registry, "username": "AWS", "password": "mock-ecr-password"}],
        }, custom=True)
        digest = image.outputs.get("digest")
        uri = f"{repository_url}@{digest}" if _known(digest, repository_url) else UNKNOWN
        return {"imageUri": uri}

    # -- awsx:ec2 ---------------------------------------------------------------------------

    def vpc(self) -> dict:
        import pulumi_aws as aws

        args, name = dict(self.args), self.name
        if args.get("availabilityZoneNames") and args.get("numberOfAvailabilityZones"):
            raise AwsxError("Only one of [availabilityZoneNames] and [numberOfAvailabilityZones] can be specified")
        if args.get("vpcEndpointSpecs"):
            raise NotExpanded("vpcEndpointSpecs are not modelled")
        if args.get("assignGeneratedIpv6CidrBlock") or args.get("ipv4IpamPoolId"):
            raise NotExpanded("IPv6 and IPAM address allocation are not modelled")
        if args.get("subnetNameTagStrategy") not in (None, "Legacy"):
            raise NotExpanded(f"subnetNameTagStrategy {args['subnetNameTagStrategy']!r} is not modelled")
        azs = args.get("availabilityZoneNames") or self.mocks.call_token(
            "aws:index/getAvailabilityZones:getAvailabilityZones", {})["names"][:args.get("numberOfAvailabilityZones") or 3]
        nat = (args.get("natGateways") or {}).get("strategy") or "OnePerAz"
        allocation_ids = (args.get("natGateways") or {}).get("elasticIpAllocationIds") or []
        strategy = args.get("subnetStrategy") or "Legacy"
        cidr = args.get("cidrBlock") or "10.0.0.0/16"
        specs = subnet_layout(name, cidr, azs, args.get("subnetSpecs"), strategy, args.get("availabilityZoneCidrMask"))
        _validate_nat(nat, specs, allocation_ids, azs)

        shared_tags = {"Name": name, **(args.get("tags") or {})}
        vpc = self.child("aws:ec2/vpc:Vpc", name, {**_only(args, aws.ec2.VpcArgs), "cidrBlock": cidr,
                                                    "tags": shared_tags})
        region = args.get("region")
        igw = self.child("aws:ec2/internetGateway:InternetGateway", name,
                         {"region": region, "vpcId": vpc.id, "tags": shared_tags}, vpc, deps={"vpcId": [vpc]})
        out: dict[str, list] = {k: [] for k in ("subnets", "publicSubnets", "privateSubnets", "isolatedSubnets",
                                                "routeTables", "routes", "routeTableAssociations", "natGateways",
                                                "eips", "publicSubnetIds", "privateSubnetIds", "isolatedSubnetIds")}
        order = {"public": 0, "private": 1, "isolated": 2}
        for i, az in enumerate(azs):
            for spec in sorted((s for s in specs if s["azName"] == az and s["type"] != "Unused"),
                               key=lambda s: order.get(s["type"].lower(), 3)):
                kind = spec["type"].lower()
                subnet = self.child("aws:ec2/subnet:Subnet", spec["name"], {
                    "region": region, "vpcId": vpc.id, "availabilityZone": az,
                    "mapPublicIpOnLaunch": kind == "public", "cidrBlock": spec["cidrBlock"],
                    "assignIpv6AddressOnCreation": bool(spec.get("assignIpv6AddressOnCreation") or False),
                    "tags": {**shared_tags, **(spec.get("tags") or {}), "Name": spec["name"],
                             "SubnetType": spec["type"]},
                }, vpc, deps={"vpcId": [vpc]})
                out["subnets"].append(subnet)
                bucket = kind if kind in ("public", "private") else "isolated"
                out[f"{bucket}Subnets"].append(subnet)
                out[f"{bucket}SubnetIds"].append(subnet.id)
                table = self.child("aws:ec2/routeTable:RouteTable", spec["name"], {
                    "region": region, "vpcId": vpc.id,
                    "tags": {**shared_tags, "Name": spec["name"], "SubnetType": spec["type"]}},
                    subnet, deps={"vpcId": [vpc]})
                out["routeTables"].append(table)
                out["routeTableAssociations"].append(self.child(
                    "aws:ec2/routeTableAssociation:RouteTableAssociation", spec["name"],
                    {"region": region, "routeTableId": table.id, "subnetId": subnet.id}, table,
                    deps={"routeTableId": [table], "subnetId": [subnet]}))
                if kind == "public" and _should_create_nat(nat, len(out["natGateways"]), i):
                    eip = None
                    if not allocation_ids:
                        eip = self.child("aws:ec2/eip:Eip", f"{name}-{i + 1}", {
                            "region": region, "tags": {**(args.get("tags") or {}), "Name": f"{name}-{i + 1}"}},
                            subnet)
                        out["eips"].append(eip)
                    out["natGateways"].append(self.child("aws:ec2/natGateway:NatGateway", f"{name}-{i + 1}", {
                        "region": region, "subnetId": subnet.id,
                        "allocationId": eip["allocationId"] if eip else allocation_ids[i],
                        "tags": {**(args.get("tags") or {}), "Name": f"{name}-{i + 1}"}}, subnet,
                        deps={"subnetId": [subnet], **({"allocationId": [eip]} if eip else {})}))
                if kind == "public":
                    out["routes"].append(self.child("aws:ec2/route:Route", spec["name"], {
                        "region": region, "routeTableId": table.id, "gatewayId": igw.id,
                        "destinationCidrBlock": "0.0.0.0/0"}, table, deps={"routeTableId": [table], "gatewayId": [igw]}))
                elif kind == "private" and nat.lower() != "none":
                    gateway = out["natGateways"][0 if nat.lower() == "single" else i]
                    out["routes"].append(self.child("aws:ec2/route:Route", spec["name"], {
                        "region": region, "routeTableId": table.id, "natGatewayId": gateway.id,
                        "destinationCidrBlock": "0.0.0.0/0"}, table,
                        deps={"routeTableId": [table], "natGatewayId": [gateway]}))
        return self.outputs({**out, "vpc": vpc, "internetGateway": igw, "vpcEndpoints": [], "vpcId": vpc.id})


_OPEN_RULES = {  # awsx's default security group: "we default to open SG rules at this point"
    "ingress": [{"fromPort": 0, "toPort": 0, "protocol": "-1", "cidrBlocks": ["0.0.0.0/0"],
                 "ipv6CidrBlocks": ["::/0"]}],
    "egress": [{"fromPort": 0, "toPort": 65535, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"],
                "ipv6CidrBlocks": ["::/0"]}],
}


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _listener_protocol(listener: dict | None, default_port: Any = None) -> dict | None:
    if listener:
        port, protocol = listener.get("port"), listener.get("protocol")
        if port and protocol:
            return {"port": port, "protocol": protocol}
        if port:
            return {"port": port, "protocol": "HTTPS" if port == 443 else "HTTP"}
        if protocol:
            return {"protocol": protocol, "port": 443 if protocol == "HTTPS" else 80}
    return {"port": default_port if default_port is not None else 80, "protocol": "HTTP"}


def _default_protocol(listener: dict | None, listeners: list | None, default_port: Any) -> dict | None:
    if listeners is not None:
        if len(listeners) != 1:
            listener = listeners[0] if listeners else None
        else:
            return None
    return _listener_protocol(listener, default_port)


def _lifecycle_document(rules: list[dict]) -> dict:
    ordered = [r for r in rules if r.get("tagStatus") != "any"] + [r for r in rules if r.get("tagStatus") == "any"]
    if len(ordered) - len([r for r in rules if r.get("tagStatus") != "any"]) >= 2:
        raise AwsxError('At most one [selection: "any"] rule can be provided.')
    converted = []
    for priority, rule in enumerate(ordered, start=1):
        if rule.get("tagStatus") in ("any", "untagged"):
            selection = {"tagStatus": rule["tagStatus"]}
        else:
            if not rule.get("tagPrefixList"):
                raise AwsxError("tagPrefixList cannot be empty.")
            selection = {"tagStatus": "tagged", "tagPrefixList": rule["tagPrefixList"]}
        if rule.get("maximumNumberOfImages") is not None:
            selection |= {"countType": "imageCountMoreThan", "countNumber": rule["maximumNumberOfImages"]}
        elif rule.get("maximumAgeLimit") is not None:
            selection |= {"countType": "sinceImagePushed", "countNumber": rule["maximumAgeLimit"], "countUnit": "days"}
        else:
            raise AwsxError("Either [maximumNumberOfImages] or [maximumAgeLimit] must be provided with a rule.")
        converted.append({"rulePriority": priority, "description": rule.get("description"),
                          "selection": selection, "action": {"type": "expire"}})
    return {"rules": [{k: v for k, v in r.items() if v is not None} for r in converted]}


# -- Fargate CPU and memory (awsx/ecs/fargateMemoryAndCpu.ts) -------------------------------

def _fargate_configs() -> list[tuple[float, float]]:
    table = [(0.25, [0.5, 1, 2]), (0.5, range(1, 5)), (1, range(2, 9)), (2, range(4, 17)), (4, range(8, 31)),
             (8, range(16, 61)), (16, range(32, 121)), (32, [60, 120, 244])]
    configs = [(vcpu, mem) for vcpu, mems in table for mem in mems]
    return sorted(configs, key=lambda c: 0.04048 * c[0] + 0.004445 * c[1])


def fargate_memory_and_cpu(definitions: list[dict]) -> tuple[str, str]:
    """The cheapest Fargate size that holds the containers' cpu and memory: (cpu, memory)."""
    memory_mb = sum((d.get("memoryReservation") or d.get("memory") or 0) for d in definitions
                    if isinstance(d.get("memoryReservation") or d.get("memory") or 0, (int, float)))
    cpu_units = sum(d.get("cpu") or 0 for d in definitions if isinstance(d.get("cpu") or 0, (int, float)))
    vcpu, gb = cpu_units / 1024, memory_mb / 1024
    if vcpu > 32 or gb > 244:
        raise AwsxError(f"Requested resources exceed the maximum allowed for Fargate. Requested: {vcpu} vCPU "
                        f"and {gb}GB. Max: 32 vCPU and 244GB.")
    chosen = next(c for c in _fargate_configs() if c[0] >= vcpu and c[1] >= gb)
    return _js_number(chosen[0] * 1024), _js_number(chosen[1] * 1024)


def _js_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# -- VPC subnet layout (awsx/ec2/subnetDistributorLegacy.ts, subnetDistributorNew.ts) ---------

_VALID_SIZES = [2 ** n for n in range(4, 17)]


def _new_bits(count: int) -> int:
    return 0 if count == 0 else math.ceil(math.log2(count))


def _next_pow2(n: int) -> int:
    return 1 if n == 0 else 1 << (n - 1).bit_length()


def _next_network(previous: ipaddress.IPv4Network, prefix: int) -> ipaddress.IPv4Network:
    widened = ipaddress.ip_network((previous.broadcast_address, prefix), strict=False)
    return ipaddress.ip_network((int(widened.broadcast_address) + 1, prefix))


def _cidr_subnet(network: str | ipaddress.IPv4Network, new_bits: int, num: int) -> ipaddress.IPv4Network:
    network = ipaddress.ip_network(network, strict=False)
    prefix = network.prefixlen + new_bits
    if prefix > 32:
        raise AwsxError(f"Requested {new_bits} new bits, but only {32 - network.prefixlen} are available.")
    return ipaddress.ip_network((int(network.network_address) + (2 ** (32 - prefix)) * num, prefix))


def subnet_layout(vpc_name: str, cidr: str, azs: list[str], specs: list[dict] | None, strategy: str,
                  az_cidr_mask: int | None = None) -> list[dict]:
    """Each subnet awsx creates: {azName, type, name, cidrBlock, tags, assignIpv6AddressOnCreation}."""
    vpc = ipaddress.ip_network(cidr, strict=False)
    specs = [dict(s) for s in specs] if specs else None
    for spec in specs or []:
        if spec.get("cidrBlocks"):
            raise NotExpanded("explicit subnet cidrBlocks are not modelled")
        if spec.get("size") is not None:
            if spec["size"] not in _VALID_SIZES:
                raise AwsxError(f"Invalid subnet size {spec['size']}")
            spec.setdefault("cidrMask", 32 - int(math.log2(spec["size"])))

    def named(spec: dict, az_num: int) -> str:
        return f"{vpc_name}-{spec.get('name') or spec['type'].lower()}-{az_num}"

    if strategy == "Legacy":
        if specs is not None:
            return _legacy_custom_layout(vpc, azs, specs, named)
        new_bits = (az_cidr_mask - vpc.prefixlen) if az_cidr_mask is not None else int(math.log2(_next_pow2(len(azs))))
        bases = [_cidr_subnet(vpc, new_bits, i) for i in range(len(azs))]
        private = [{"azName": az, "type": "Private", "name": named({"type": "Private"}, i + 1),
                    "cidrBlock": str(_cidr_subnet(bases[i], 1, 0))} for i, az in enumerate(azs)]
        public = [{"azName": az, "type": "Public", "name": named({"type": "Public"}, i + 1),
                   "cidrBlock": str(_cidr_subnet(_cidr_subnet(private[i]["cidrBlock"], 0, 1), 1, 0))}
                  for i, az in enumerate(azs)]
        return private + public
    if strategy not in ("Auto", "AutoMerge"):
        raise NotExpanded(f"subnetStrategy {strategy!r} is not modelled")

    az_prefix = az_cidr_mask if az_cidr_mask is not None else vpc.prefixlen + _new_bits(len(azs))
    bare = [{"type": "Private"}, {"type": "Public"}]
    if az_prefix > 26 and (specs is None or strategy == "AutoMerge"):
        raise AwsxError(f"Automatic subnet creation requires a VPC with at least /26 available per AZ, "
                        f"but only /{az_prefix} is available.")
    defaults = [{"type": t["type"], "cidrMask": max(az_prefix, 16) + i + 1} for i, t in enumerate(bare)]
    if strategy == "AutoMerge":
        given = specs or []
        merged = []
        for default in defaults:
            override = next((s for s in given if s["type"].lower() == default["type"].lower() and s.get("name") is None),
                            None)
            merged.append({**default, **override} if override else default)
        merged += [s for s in given if not (s.get("name") is None and s["type"].lower() in ("private", "public"))]
        layout_specs, named_specs = merged, merged
    else:
        layout_specs = specs if specs is not None else defaults
        named_specs = specs if specs is not None else bare
    if not layout_specs:
        raise AwsxError("No subnets specified")
    default_prefix = az_prefix + _new_bits(len(layout_specs))
    az_size = 2 ** (32 - az_prefix)
    needed = sum(2 ** (32 - (s.get("cidrMask") or default_prefix)) for s in layout_specs)
    if needed > az_size:
        raise AwsxError(f"Subnets are too large for VPC. VPC has {az_size} addresses, but subnets require "
                        f"{needed} addresses.")
    out = []
    az_network = ipaddress.ip_network((int(vpc.network_address), az_prefix))
    for i, az in enumerate(azs):
        current = None
        for spec, named_spec in zip(layout_specs, named_specs, strict=True):
            prefix = spec.get("cidrMask") or default_prefix
            current = (ipaddress.ip_network((int(az_network.network_address), prefix)) if current is None
                       else _next_network(current, prefix))
            out.append({"azName": az, "type": named_spec["type"], "name": named(named_spec, i + 1),
                        "cidrBlock": str(current), "tags": named_spec.get("tags"),
                        "assignIpv6AddressOnCreation": named_spec.get("assignIpv6AddressOnCreation")})
        az_network = ipaddress.ip_network((int(az_network.broadcast_address) + 1, az_prefix))
    return out


def _legacy_custom_layout(vpc: ipaddress.IPv4Network, azs: list[str], specs: list[dict],
                          named: Callable[[dict, int], str]) -> list[dict]:
    """getSubnetSpecsLegacy with subnetInputs (awsx/ec2/subnetDistributorLegacy.ts): per AZ, private
    subnets (default /19 or wider), then public (/20) after the last private, then isolated (/24)
    after the last public; a block that overlaps the previous one moves to the next free block
    (nextBlock). Blocks are (address, prefix) as ip-address keeps them, unaligned included."""
    def cidr_v4(block: tuple[int, int], new_bits: int, num: int) -> tuple[int, int]:  # cidrSubnetV4
        prefix = block[1] + new_bits
        if prefix > 32:
            raise AwsxError(f"Requested {new_bits} new bits, but only {32 - block[1]} are available.")
        return block[0] + 2 ** (32 - prefix) * num, prefix

    def span(block: tuple[int, int]) -> tuple[int, int]:
        start = block[0] & ~(2 ** (32 - block[1]) - 1) & 0xFFFFFFFF
        return start, start + 2 ** (32 - block[1]) - 1

    def overlapping(a: tuple[int, int], b: tuple[int, int]) -> bool:
        (a0, a1), (b0, b1) = span(a), span(b)
        return a0 <= b1 and b0 <= a1

    def next_block(previous: tuple[int, int], prefix: int) -> tuple[int, int]:
        return span((span(previous)[1], prefix))[1] + 1, prefix

    def text(block: tuple[int, int]) -> str:
        return f"{ipaddress.IPv4Address(block[0])}/{block[1]}"

    new_bits_per_az = int(math.log2(_next_pow2(len(azs))))
    bases = [cidr_v4((int(vpc.network_address), vpc.prefixlen), new_bits_per_az, i) for i in range(len(azs))]
    base_mask = bases[0][1]
    by_type = {t: [s for s in specs if s["type"].lower() == t] for t in ("private", "public", "isolated")}
    new_bits_per_subnet = 0 if len(specs) == 1 else 1
    out = []
    for i, az in enumerate(azs):
        current = (span(bases[i])[0] - 1, 32)
        made: dict[str, list[tuple[int, int]]] = {"private": [], "public": [], "isolated": []}
        for kind, floor, after in (("private", 19, ()), ("public", 20, ("private",)),
                                   ("isolated", 24, ("public", "private"))):
            previous = next((made[k][-1] for k in after if made[k]), None)
            split_base = cidr_v4(previous, 0, 1) if previous else bases[i]
            base = previous or bases[i]
            for j, spec in enumerate(by_type[kind]):
                prefix = spec.get("cidrMask") or max(base_mask + new_bits_per_subnet, floor)
                block = cidr_v4(split_base, prefix - base[1], j)
                if overlapping(current, block):
                    block = next_block(current, prefix)
                made[kind].append(block)
                out.append({"azName": az, "type": kind.capitalize(), "name": named(spec, i + 1),
                            "cidrBlock": text(block), "tags": spec.get("tags"),
                            "assignIpv6AddressOnCreation": spec.get("assignIpv6AddressOnCreation")})
                current = block
    networks = [(s["name"], ipaddress.ip_network(s["cidrBlock"], strict=False)) for s in out]
    clashing = [(n, c) for n, c in networks if any(m != n and c.overlaps(d) for m, d in networks)]
    if clashing:  # vpc.ts validateSubnets
        raise AwsxError("The following subnets overlap with at least one other subnet: "
                        + ", ".join(f"{n}: {c}" for n, c in clashing))
    return out


def _should_create_nat(strategy: str, count: int, az_index: int) -> bool:
    strategy = strategy.lower()
    if strategy == "none":
        return False
    if strategy == "single":
        return count < 1
    if strategy == "oneperaz":
        return count < az_index + 1
    raise AwsxError(f'Unknown NatGatewayStrategy "{strategy}"')


def _validate_nat(strategy: str, specs: list[dict], allocation_ids: list, azs: list[str]) -> None:
    lowered = strategy.lower()
    if lowered == "none" and allocation_ids:
        raise AwsxError(f"Elastic IP allocation IDs cannot be specified when NAT Gateway strategy is '{strategy}'.")
    if lowered == "single" and len(allocation_ids) > 1:
        raise AwsxError(f"Exactly one Elastic IP may be specified when NAT Gateway strategy is '{strategy}'.")
    if lowered == "oneperaz" and allocation_ids and len(allocation_ids) != len(azs):
        raise AwsxError("The number of Elastic IPs, if specified, must match the number of availability zones "
                        f"for the VPC ({len(azs)}) when NAT Gateway strategy is '{strategy}'")
    if lowered in ("oneperaz", "single"):
        types = {s["type"].lower() for s in specs}
        if not ("public" in types and types & {"private", "isolated"}):
            raise AwsxError("If NAT Gateway strategy is 'OnePerAz' or 'Single', public subnets must be declared "
                            "to host the NAT Gateway resource, along with private or isolated subnets to route "
                            "through it.")
    elif lowered != "none":
        raise AwsxError(f"Unknown NAT Gateway strategy '{strategy}'")


EXPANSIONS: dict[str, Callable[[Expander], dict]] = {
    "awsx:ec2:Vpc": Expander.vpc,
    "awsx:ecs:FargateService": Expander.fargate_service,
    "awsx:ecs:FargateTaskDefinition": Expander.fargate_task_definition,
    "awsx:lb:ApplicationLoadBalancer": Expander.application_load_balancer,
    "awsx:ecr:Repository": Expander.repository,
    "awsx:ecr:Image": Expander.image,
}
"""What each component registers (pinned by tests/test_preflight_awsx.py)."""


def expand(monitor, request) -> dict:
    """Register the children of the remote component in `request`; its outputs (wire values).

    Raises NotExpanded when preflight does not model it, AwsxError when awsx would fail.
    """
    expansion = EXPANSIONS.get(request.type)
    if expansion is None:
        raise NotExpanded("preflight has no model of this component")
    version = request.version or ""
    major = re.match(r"(\d+)\.", version)
    if major and int(major.group(1)) != SUPPORTED_MAJOR:
        raise NotExpanded(f"awsx {version}: preflight models awsx {SUPPORTED_MAJOR}.x only")
    return _wire(expansion(Expander(monitor, request)))
