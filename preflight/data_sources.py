"""Invokes (data sources) answered as AWS would, consistently with the mocks' own resources.

`aws.iam.get_policy_document` is computed for real (it is local in the provider too); the
lookups answer with plausible values built from their arguments, the mock account and region:
the same arguments always give the same ids. Any other token is answered with nothing and
recorded on the mocks (`unanswered`), so the report can name it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

DEFAULT_VPC_CIDR = "172.31.0.0/16"


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _seed(args: dict) -> str:
    return json.dumps(args, sort_keys=True, default=str)


def _one_or_list(values: list) -> Any:
    return values[0] if len(values) == 1 else values


# -- aws.iam.get_policy_document ---------------------------------------------------------------

def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _statement(spec: dict) -> dict:
    # A statement given as a plain dict reaches the invoke with the program's keys untranslated
    # (`not_actions`); the provider (tfbridge) reads snake_case as the Terraform name, so both work.
    spec = {_camel(key): value for key, value in spec.items()}
    statement: dict[str, Any] = {}
    if spec.get("sid"):
        statement["Sid"] = spec["sid"]
    statement["Effect"] = spec.get("effect") or "Allow"
    for key, field in (("actions", "Action"), ("notActions", "NotAction"),
                       ("resources", "Resource"), ("notResources", "NotResource")):
        values = spec.get(key)
        if values:
            statement[field] = _one_or_list(sorted(set(values), reverse=False))
    for key, field in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        principals = spec.get(key)
        if not principals:
            continue
        if len(principals) == 1 and principals[0].get("type") == "*" and principals[0].get("identifiers") == ["*"]:
            statement[field] = "*"
            continue
        merged: dict[str, list] = {}
        for principal in principals:
            merged.setdefault(principal.get("type"), []).extend(principal.get("identifiers") or [])
        statement[field] = {kind: _one_or_list(sorted(set(ids))) for kind, ids in merged.items()}
    conditions = spec.get("conditions")
    if conditions:
        block: dict[str, dict] = {}
        for condition in conditions:
            values = condition.get("values") or []
            block.setdefault(condition.get("test"), {})[condition.get("variable")] = _one_or_list(list(values))
        statement["Condition"] = block
    return statement


def _merge(statements: list[dict], overriding: list[dict]) -> list[dict]:
    """Statements with a Sid in `overriding` replace those with that Sid; the others are added."""
    result = list(statements)
    for statement in overriding:
        sid = statement.get("Sid")
        index = next((i for i, s in enumerate(result) if sid and s.get("Sid") == sid), None)
        if index is None:
            result.append(statement)
        else:
            result[index] = statement
    return result


def policy_document(args: dict) -> dict:
    """What the provider's getPolicyDocument returns: `json` (indented), `minifiedJson`, `id`."""
    statements: list[dict] = []
    for source in args.get("sourcePolicyDocuments") or []:
        statements = _merge(statements, _statements_of(source))
    statements = _merge(statements, [_statement(s) for s in args.get("statements") or []])
    for override in args.get("overridePolicyDocuments") or []:
        statements = _merge(statements, _statements_of(override))
    document: dict[str, Any] = {"Version": args.get("version") or "2012-10-17"}
    if args.get("policyId"):
        document["Id"] = args["policyId"]
    document["Statement"] = statements
    text = json.dumps(document, indent=2)
    minified = json.dumps(document, separators=(",", ":"))
    return {**args, "id": str(int(_hex(minified, 8), 16)), "json": text, "minifiedJson": minified}


def _statements_of(text: Any) -> list[dict]:
    try:
        statements = json.loads(text).get("Statement") or []
    except (TypeError, ValueError, AttributeError):
        return []
    return statements if isinstance(statements, list) else [statements]


# -- lookups -----------------------------------------------------------------------------------

_MANAGED_POLICIES = {
    "AdministratorAccess": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    "AmazonECSTaskExecutionRolePolicy": [{"Effect": "Allow", "Resource": "*", "Action": [
        "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"]}],
    "ReadOnlyAccess": [{"Effect": "Allow", "Action": ["*:Describe*", "*:Get*", "*:List*"], "Resource": "*"}],
}


class Lookups:
    def __init__(self, mocks):
        self.mocks = mocks
        self.region = mocks.region
        self.account = mocks.account_id

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"

    def default_vpc_id(self) -> str:
        return f"vpc-{_hex('default-vpc', 17)}"

    def caller_identity(self, args: dict) -> dict:
        return {"accountId": self.account, "id": self.account,
                "arn": f"arn:aws:iam::{self.account}:user/preflight", "userId": "AIDA" + _hex("u", 17).upper()}

    def region_(self, args: dict) -> dict:
        region = args.get("region") or args.get("name") or self.region
        return {"id": region, "name": region, "region": region, "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region}

    def partition(self, args: dict) -> dict:
        return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}

    def ecr_token(self, args: dict) -> dict:
        return {"id": self.region, "userName": "AWS", "password": "mock-ecr-password",
                "authorizationToken": "QVdTOm1vY2s=", "expiresAt": "2030-01-01T00:00:00Z",
                "proxyEndpoint": f"https://{self.account}.dkr.ecr.{self.region}.amazonaws.com"}

    def availability_zones(self, args: dict) -> dict:
        region = args.get("region") or self.region
        names = [f"{region}{letter}" for letter in "abcdef"]
        return {"id": region, "names": names, "zoneIds": [f"use1-az{i}" for i in range(1, 7)],
                "groupNames": [region] * 6, "state": args.get("state")}

    def role(self, args: dict) -> dict:
        name = args.get("name") or "preflight-role"
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": self.account}}}]}
        return {"id": name, "name": name, "arn": f"arn:aws:iam::{self.account}:role/{name}",
                "assumeRolePolicy": json.dumps(trust), "createDate": "2024-01-01T00:00:00Z", "path": "/",
                "description": "", "maxSessionDuration": 3600, "permissionsBoundary": "",
                "uniqueId": "AROA" + _hex(name, 17).upper(), "tags": {}, "roleLastUseds": []}

    def policy(self, args: dict) -> dict:
        arn = args.get("arn")
        name = args.get("name") or (arn.rsplit("/", 1)[-1] if arn else "preflight-policy")
        managed = arn.startswith("arn:aws:iam::aws:") if arn else name in _MANAGED_POLICIES
        path = "/service-role/" if name == "AmazonECSTaskExecutionRolePolicy" else (args.get("pathPrefix") or "/")
        arn = arn or (f"arn:aws:iam::aws:policy{path}{name}" if managed
                      else f"arn:aws:iam::{self.account}:policy{path}{name}")
        statements = _MANAGED_POLICIES.get(name) or [
            {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]
        return {"id": arn, "arn": arn, "name": name, "path": path, "description": "",
                "policy": json.dumps({"Version": "2012-10-17", "Statement": statements}),
                "policyId": "ANPA" + _hex(arn, 17).upper(), "attachmentCount": 0, "tags": {}}

    def security_group(self, args: dict) -> dict:
        group_id = args.get("id") or f"sg-{_hex(_seed(args), 17)}"
        name = args.get("name") or _filter(args, "group-name") or "preflight-sg"
        vpc_id = args.get("vpcId") or _filter(args, "vpc-id") or self.default_vpc_id()
        return {**args, "id": group_id, "arn": self.arn("ec2", f"security-group/{group_id}"), "name": name,
                "vpcId": vpc_id, "description": "Looked up by preflight", "tags": args.get("tags") or {}}

    def vpc(self, args: dict) -> dict:
        is_default = bool(args.get("default")) or not (args.get("id") or args.get("filters") or args.get("tags")
                                                       or args.get("cidrBlock"))
        vpc_id = args.get("id") or (self.default_vpc_id() if is_default else f"vpc-{_hex(_seed(args), 17)}")
        cidr = args.get("cidrBlock") or (DEFAULT_VPC_CIDR if is_default else "10.0.0.0/16")
        return {**args, "id": vpc_id, "arn": self.arn("ec2", f"vpc/{vpc_id}"), "cidrBlock": cidr,
                "default": is_default, "enableDnsHostnames": True, "enableDnsSupport": True,
                "instanceTenancy": "default", "mainRouteTableId": f"rtb-{_hex(vpc_id, 17)}",
                "dhcpOptionsId": f"dopt-{_hex(vpc_id, 17)}", "ownerId": self.account, "state": "available",
                "cidrBlockAssociations": [{"associationId": f"vpc-cidr-assoc-{_hex(vpc_id, 17)}",
                                           "cidrBlock": cidr, "state": "associated"}],
                "ipv6AssociationId": "", "ipv6CidrBlock": "", "tags": args.get("tags") or {}}

    def _subnets_of(self, vpc_id: str) -> list[dict]:
        base = DEFAULT_VPC_CIDR if vpc_id == self.default_vpc_id() else "10.0.0.0/16"
        first, second = (int(part) for part in base.split(".")[:2])
        return [{"id": f"subnet-{_hex(f'{vpc_id}-{i}', 17)}", "vpcId": vpc_id,
                 "availabilityZone": f"{self.region}{'abc'[i]}", "cidrBlock": f"{first}.{second}.{16 * i}.0/20",
                 "mapPublicIpOnLaunch": vpc_id == self.default_vpc_id()} for i in range(3)]

    def subnets(self, args: dict) -> dict:
        vpc_id = _filter(args, "vpc-id") or self.default_vpc_id()
        subnets = self._subnets_of(vpc_id)
        self.mocks.known_subnets.update({s["id"]: s for s in subnets})
        return {**args, "id": self.region, "ids": [s["id"] for s in subnets]}

    def subnet(self, args: dict) -> dict:
        subnet_id = args.get("id") or _filter(args, "subnet-id")
        known = self.mocks.known_subnets.get(subnet_id)
        if known is None:
            vpc_id = args.get("vpcId") or _filter(args, "vpc-id") or self.default_vpc_id()
            known = dict(self._subnets_of(vpc_id)[0])
            if subnet_id:
                known["id"] = subnet_id
            elif args.get("availabilityZone"):
                known["availabilityZone"] = args["availabilityZone"]
        return {**args, **known, "arn": self.arn("ec2", f"subnet/{known['id']}"), "ownerId": self.account,
                "availableIpAddressCount": 4091, "defaultForAz": known["vpcId"] == self.default_vpc_id(),
                "state": "available", "tags": args.get("tags") or {}}

    def certificate(self, args: dict) -> dict:
        domain = args.get("domain") or "example.com"
        arn = self.arn("acm", f"certificate/{_hex(domain, 8)}-{_hex(domain, 4)}-4{_hex(domain, 3)}-"
                              f"8{_hex(domain, 3)}-{_hex(domain, 12)}")
        return {**args, "id": arn, "arn": arn, "domain": domain, "status": "ISSUED",
                "type": "AMAZON_ISSUED", "keyType": "RSA_2048", "tags": {}, "certificate": "", "certificateChain": ""}

    def ecr_image(self, args: dict) -> dict:
        repo = args.get("repositoryName") or "preflight"
        tag = args.get("imageTag") or "latest"
        digest = args.get("imageDigest") or f"sha256:{_hex(repo + ':' + tag, 64)}"
        registry = args.get("registryId") or self.account
        return {**args, "id": digest, "imageDigest": digest, "imageTags": [tag], "registryId": registry,
                "imagePushedAt": 1704067200, "imageSizeInBytes": 52428800,
                "imageUri": f"{registry}.dkr.ecr.{self.region}.amazonaws.com/{repo}@{digest}"}

    def ecr_repository(self, args: dict) -> dict:
        name = args.get("name") or "preflight"
        registry = args.get("registryId") or self.account
        return {**args, "id": name, "name": name, "registryId": registry,
                "arn": self.arn("ecr", f"repository/{name}"),
                "repositoryUrl": f"{registry}.dkr.ecr.{self.region}.amazonaws.com/{name}",
                "imageTagMutability": "MUTABLE", "mostRecentImageTags": [], "tags": {},
                "imageScanningConfigurations": [{"scanOnPush": False}],
                "encryptionConfigurations": [{"encryptionType": "AES256", "kmsKey": ""}]}


def _filter(args: dict, name: str) -> str | None:
    for entry in args.get("filters") or args.get("filter") or []:
        if entry.get("name") == name and entry.get("values"):
            return entry["values"][0]
    return None


ANSWERS = {
    "aws:index/getCallerIdentity:getCallerIdentity": Lookups.caller_identity,
    "aws:index/getRegion:getRegion": Lookups.region_,
    "aws:index/getPartition:getPartition": Lookups.partition,
    "aws:index/getAvailabilityZones:getAvailabilityZones": Lookups.availability_zones,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": Lookups.ecr_token,
    "aws:iam/getRole:getRole": Lookups.role,
    "aws:iam/getPolicy:getPolicy": Lookups.policy,
    "aws:ec2/getSecurityGroup:getSecurityGroup": Lookups.security_group,
    "aws:ec2/getVpc:getVpc": Lookups.vpc,
    "aws:ec2/getSubnets:getSubnets": Lookups.subnets,
    "aws:ec2/getSubnet:getSubnet": Lookups.subnet,
    "aws:acm/getCertificate:getCertificate": Lookups.certificate,
    "aws:ecr/getImage:getImage": Lookups.ecr_image,
    "aws:ecr/getRepository:getRepository": Lookups.ecr_repository,
}
"""What preflight answers (besides getPolicyDocument, computed)."""


def answer(mocks, token: str, args: dict) -> dict:
    if token == "aws:iam/getPolicyDocument:getPolicyDocument":
        return policy_document(args)
    handler = ANSWERS.get(token)
    if handler is None:
        mocks.unanswered.append(token)
        return {}
    if not hasattr(mocks, "known_subnets"):
        mocks.known_subnets = {}
    return handler(Lookups(mocks), args)
