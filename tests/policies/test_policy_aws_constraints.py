"""aws-api-constraints: every entry of aws_constraints.json just inside and just outside, the
grammars case by case, autonames, unknown values, the stack part, and our rendered stacks.

Resources go through the SDK's own objects (policy_testkit), the whole pack through preflight's
analyzer servicer, as the engine would run them.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
import time
import typing
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest
from policy_testkit import (
    COMPLIANT_SAMPLES,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    POLICY_PACK,
    READ_SECRET,
    SECURITY_GROUP,
    analyze,
    configure,
    container,
    ecs_trust_policy,
    environment_config,
    evaluate_pack,
    listener_rule,
    load_pack,
    log_group,
    metric_alarm,
    policy_document,
    reconcile_config,
    role,
    schedule,
    stack_violations,
    target_group,
    task_definition,
)
from pulumi import _types
from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy
from test_policy_prop_names import _resolve

from testkit import SHIPPED_STACKS, render_config, render_stack
from ecs_fargate_rules import POLICIES_BY_NAME, aws_constraints
from ecs_fargate_rules.aws_constraints import (
    CATALOGUE,
    CHECKS,
    DATA_FILE,
    GRAMMARS,
    PROVIDER_TYPE,
    STACK_CHECKS,
    botocore_shape,
    compile_pattern,
    load_catalogue,
    parse_path,
)
from policy_evaluation import UNKNOWN, UNKNOWN_NUMBER, evaluate, over_the_wire, resource_args, urn_for

RULE = "aws-api-constraints"
STACK_RULE = "aws-api-constraints-stack"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
ALB_TARGET_GROUP = "aws:alb/targetGroup:TargetGroup"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
LISTENER = "aws:lb/listener:Listener"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
CLUSTER = "aws:ecs/cluster:Cluster"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
OLD_EGRESS_DESCRIPTION = "Outbound: image pulls, logs, secrets and the task's own calls"
PROVIDER_SAMPLE = {"region": "us-east-1", "skipCredentialsValidation": "false",
                   "defaultTags": json.dumps({"tags": {"Project": "ecs-fargate", "Environment": "prod"}})}
SAMPLES = {**COMPLIANT_SAMPLES, PROVIDER_TYPE: PROVIDER_SAMPLE}


def judged(resource_type: str, props: dict[str, Any], name: str = "example", **kwargs: Any) -> list[str]:
    """The rule's messages for one resource, through the SDK's args (name = logical name)."""
    policy = POLICIES_BY_NAME[RULE]
    return [v.message for v in evaluate(policy, resource_args(resource_type, props, name=name, **kwargs))]


# ---------------------------------------------------------------------------------------------
# The data file itself.

DATA = json.loads(DATA_FILE.read_text())
DATA_BY_ID = {entry["id"]: entry for entry in DATA["constraints"]}


def test_every_entry_is_complete_and_names_its_source():
    ids = [entry["id"] for entry in DATA["constraints"] + DATA["stackConstraints"]]
    assert len(ids) == len(set(ids)), "ids are unique"
    for entry in DATA["constraints"]:
        assert entry["check"] in CHECKS or entry["check"] in ("grammar", "required"), entry["id"]
        if entry["check"] == "grammar":
            assert entry["grammar"] in GRAMMARS, entry["id"]
        assert re.fullmatch(r"[a-z0-9-]+:\S.*|defaultTags -> .+", entry["awsField"]), entry["id"]
        assert entry["doc"].startswith("https://"), entry["id"]
        assert "inside" in entry and "outside" in entry, entry["id"]
        for target in entry["targets"]:
            assert target["types"] and target["paths"], entry["id"]
            for path in target["paths"]:
                parse_path(path)


@pytest.mark.parametrize("entry", DATA["constraints"], ids=lambda e: e["id"])
def test_paths_are_pulumi_aws_properties(entry):
    """Each path, up to a JSON document, names real camelCase inputs of the pulumi-aws type."""
    for target in entry["targets"]:
        for resource_type in target["types"]:
            if resource_type == PROVIDER_TYPE:
                continue
            for path in target["paths"]:
                names: list[str] = []
                for segment in parse_path(path):
                    names.append(segment.name)
                    if segment.json:
                        break
                    if segment.sub in ("[]",) or (segment.sub or "").startswith("["):
                        names.append("[]")
                _resolve(resource_type, tuple(names))
                when = target.get("when") or {}
                keys = [*when.get("anySet", []), *when.get("noneSet", []), *when.get("allSet", []),
                        *when.get("equals", {}), *when.get("notEquals", {}), *when.get("in", {})]
                for key in keys:
                    parent = [] if key.startswith("/") else [n for n in names[:-1]]
                    _resolve(resource_type, (*parent, *key.lstrip("/").split(".")))


def test_botocore_backed_entries_take_their_limits_from_botocore_not_the_file():
    backed = [entry for entry in DATA["constraints"] if "botocore" in entry]
    assert len(backed) > 60
    for entry in backed:
        assert not {"min", "max", "pattern", "values"} & set(entry), f"{entry['id']} copies a botocore limit"
        constraint = next(c for c in CATALOGUE.constraints if c.id == entry["id"])
        shape = botocore_shape(entry["botocore"])
        read = {"length": ("min", "max"), "range": ("min", "max"), "count": ("min", "max"),
                "pattern": ("pattern",), "enum": (), "excludes": ()}[entry["check"]]
        for key in read:
            if key in shape:
                assert constraint.params[key] == shape[key], entry["id"]
        if "enum" in shape:
            assert constraint.params["values"] == shape["enum"], entry["id"]


def test_limits_read_from_botocore_are_the_documented_ones():
    params = {c.id: c.params for c in CATALOGUE.constraints}
    assert (params["iam-role-name-length"]["min"], params["iam-role-name-length"]["max"]) == (1, 64)
    assert params["iam-role-name-charset"]["pattern"] == r"[\w+=,.@-]+"
    assert (params["elb-target-group-interval"]["min"], params["elb-target-group-interval"]["max"]) == (5, 300)
    assert (params["elb-target-group-timeout"]["min"], params["elb-target-group-timeout"]["max"]) == (2, 120)
    assert (params["elb-listener-rule-priority"]["min"], params["elb-listener-rule-priority"]["max"]) == (1, 50000)
    assert params["logs-retention-in-days"]["values"] == [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
    assert params["logs-log-group-name-charset"]["pattern"] == r"[\.\-_/#A-Za-z0-9]+"
    assert (params["scheduler-schedule-name-length"]["min"], params["scheduler-schedule-name-length"]["max"]) == (1, 64)
    assert params["cloudwatch-alarm-dimension-count"]["max"] == 30


def test_java_patterns_translate_as_java_reads_them():
    assert not compile_pattern(r"[\w+=,.@-]+").fullmatch("rôle")  # Java's \w is ASCII
    tag = compile_pattern(r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$")
    assert tag.fullmatch("Équipe 1 ½ 東京 +=@") and not tag.fullmatch("it's") and not tag.fullmatch("a\tb")
    assert compile_pattern(r"\p{Print}+").fullmatch("scale on CPU (60%)")
    assert not compile_pattern(r"\p{Print}+").fullmatch("scale\ton")


def test_autonames_follow_pulumi_aws():
    """Types whose `name` pulumi-aws generates, with the maximum its AutoName allows (the
    provider's resources.go: 64 for IAM roles, 32 for aws:lb target groups, 255 otherwise)."""
    autonames = DATA["autonames"]
    assert autonames[IAM_ROLE]["maxLength"] == 64
    assert autonames[TARGET_GROUP]["maxLength"] == 32
    assert autonames[ALB_TARGET_GROUP]["maxLength"] == 255
    for resource_type, autoname in autonames.items():
        _resolve(resource_type, (autoname["property"],))
        if "prefixProperty" in autoname:
            _resolve(resource_type, (autoname["prefixProperty"],))
    defaults = DATA["autonameDefaults"]
    assert (defaults["separator"], defaults["randomLength"], defaults["prefixRandomLength"]) == ("-", 7, 26)


def test_the_catalogue_loads_quickly():
    aws_constraints._service_shapes.cache_clear()
    started = time.monotonic()
    load_catalogue()
    assert time.monotonic() - started < 3


def test_every_stack_constraint_has_its_test():
    for entry in DATA["stackConstraints"]:
        assert entry["check"] in STACK_CHECKS, entry["id"]
        assert callable(globals().get(entry["test"])), f"{entry['id']}: no test named {entry['test']}"


# ---------------------------------------------------------------------------------------------
# Every entry just inside and just outside, on every type and path it applies to.


def expand(example: Any) -> Any:
    """The data file's compact examples: {"$repeat": x, "$times": n[, "$join": s]}, {"$concat": [...]}."""
    if isinstance(example, Mapping):
        if "$repeat" in example:
            copies = [expand(example["$repeat"]) for _ in range(example["$times"])]
            return example["$join"].join(copies) if "$join" in example else copies
        if "$concat" in example:
            return "".join(expand(part) for part in example["$concat"])
        return {key: expand(value) for key, value in example.items()}
    if isinstance(example, list):
        return [expand(item) for item in example]
    return example


def _resource_class(resource_type: str) -> type:
    _, module, name = resource_type.split(":")
    return getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), name)


def _properties_at(resource_type: str, names: Sequence[str]) -> dict[str, Any]:
    """The property types pulumi-aws declares for the object at `names` (lists looked through)."""
    properties = _types.resource_types(_resource_class(resource_type))
    for name in names:
        kind = _types.unwrap_type(properties[name])
        while typing.get_origin(kind) in (Sequence, list, typing.Sequence):
            kind = _types.unwrap_type(typing.get_args(kind)[0])
        properties = _types.output_type_types(kind) if _types.is_output_type(kind) else {}
    return properties


def _plausible(resource_type: str, names: Sequence[str], key: str) -> Any:
    """A value of the declared type for a sibling a `when` needs set (a group reference)."""
    declared = _types.unwrap_type(_properties_at(resource_type, names)[key])
    if declared is bool:
        return True
    if typing.get_origin(declared) in (Sequence, list, typing.Sequence):
        return ["sg-0123456789abcdef0"]
    return "sg-0123456789abcdef0"


def _satisfy(parent: dict, root: dict, when: Mapping[str, Any] | None, resource_type: str,
             names: Sequence[str]) -> None:
    def holder(key: str) -> tuple[dict, str]:
        if not key.startswith("/"):
            return parent, key
        *above, name = key[1:].split(".")  # "/deploymentConfiguration.strategy": below the root
        node = root
        for step in above:
            node = node.setdefault(step, {})
        return node, name

    for kind, operand in (when or {}).items():
        if kind == "anySet":
            parent[operand[0]] = _plausible(resource_type, names, operand[0])
        elif kind == "noneSet":
            for key in operand:
                parent.pop(key, None)
        elif kind == "allSet":
            for key in operand:
                parent.setdefault(key, _plausible(resource_type, names, key))
        elif kind == "equals":
            for key, value in operand.items():
                node, name = holder(key)
                node[name] = value
        elif kind == "notEquals":
            for key, value in operand.items():
                node, name = holder(key)
                if node.get(name) == value:
                    node.pop(name)
        elif kind == "in":
            for key, values in operand.items():
                node, name = holder(key)
                node[name] = values[0]
        elif kind == "contains":
            for path, value in operand.items():
                root[path.lstrip("/")] = [value]


def _count_value(name: str, count: int) -> Any:
    if name in ("tags", "dimensions"):
        return {f"Key{index}": "value" for index in range(count)}
    return [f"arn:aws:sns:us-east-1:123456789012:topic-{index}" for index in range(count)]


def place(resource_type: str, path: str, value: Any, when: Mapping[str, Any] | None, check: str) -> dict:
    """The type's compliant sample with `value` at `path` (the first element of each list),
    and `when` made true around it."""
    root = copy.deepcopy(SAMPLES[resource_type])
    if isinstance(value, Mapping) and "set" in value:
        root.update(copy.deepcopy(value["set"]))
        return root
    segments = parse_path(path)

    def into(node: dict, index: int, names: list[str]) -> None:
        segment = segments[index]
        last = index == len(segments) - 1
        if segment.json:
            document = json.loads(node[segment.name]) if isinstance(node.get(segment.name), str) else {}
            holder = {"doc": document}
            into_json(holder, segment, index, names)
            node[segment.name] = json.dumps(holder["doc"])
            return
        if last:
            assign(node, segment, names)
            return
        child = node.get(segment.name)
        if segment.sub is not None:
            items = node.setdefault(segment.name, []) if isinstance(child, list) or child is None else [child]
            if not items:
                items.append({})
            node[segment.name] = items
            child = items[0]
        elif not isinstance(child, dict):
            child = node[segment.name] = {}
        into(child, index + 1, [*names, segment.name])

    def into_json(holder: dict, segment: Any, index: int, names: list[str]) -> None:
        document = holder["doc"]
        last = index == len(segments) - 1
        if segment.sub is not None:
            if not isinstance(document, list) or not document:
                document = holder["doc"] = [document or {}]
            target = document[0]
        else:
            target = document
        if last:
            holder["doc"] = value
            return
        into(target, index + 1, [*names, segment.name])

    def assign(node: dict, segment: Any, names: list[str]) -> None:
        _satisfy(node, root, when, resource_type, names)
        example = _count_value(segment.name, value) if check == "count" else value
        if segment.sub is None:
            if example is None:
                node.pop(segment.name, None)
            elif isinstance(node.get(segment.name), str) and isinstance(example, (Mapping, list)):
                node[segment.name] = json.dumps(example)
            else:
                node[segment.name] = example
        elif segment.sub == "{keys}":
            node[segment.name] = {example: "value"}
        elif segment.sub == "{}":
            node[segment.name] = {"Team": example}
        else:
            items = node.get(segment.name)
            items = list(items) if isinstance(items, list) and items else [None]
            items[0] = json.dumps(example) if isinstance(example, (Mapping, list)) and names and names[-1] in (
                "inlinePolicies",) else example
            node[segment.name] = items

    into(root, 0, [])
    return root


CASES = [pytest.param(constraint, resource_type, path, target.when, id=f"{constraint.id}|{resource_type}|{path}")
         for constraint in CATALOGUE.constraints for target in constraint.targets
         for resource_type in target.types for path in target.paths]


def _label(path: str) -> str:
    """The start of the property path a message names (`containerDefinitions[0].name` for
    `containerDefinitions@json[].name`)."""
    return re.sub(r"@json|\[\]|\{\}|\{keys\}|\[\d+\]", "", path).split(".")[0]


@pytest.mark.parametrize("constraint, resource_type, path, when", CASES)
def test_value_just_inside_passes_and_just_outside_fails(constraint, resource_type, path, when):
    inside = place(resource_type, path, expand(constraint.inside), when, constraint.check)
    assert judged(resource_type, inside) == [], f"{constraint.id}: inside {constraint.inside!r} must pass"
    outside = place(resource_type, path, expand(constraint.outside), when, constraint.check)
    found = judged(resource_type, outside)
    also = DATA_BY_ID[constraint.id].get("outsideAlsoViolates", [])
    assert len(found) == 1 + len(also), f"{constraint.id}: outside must violate this constraint (and {also}), got {found}"
    [message] = [m for m in found if constraint.aws_field in m and constraint.doc in m][:1]
    assert constraint.aws_field in message and constraint.doc in message, message
    assert f": {_label(path)}" in message, message


def _other_bound(constraint) -> tuple[Any, Any] | None:
    """For a numeric range, the (inside, outside) pair at the bound the data file's pair does not
    exercise: the data file gives one bound, this gives the other (min vs min - 1, max vs max + 1)."""
    low, high = constraint.params.get("min"), constraint.params.get("max")
    if constraint.check != "range" or low is None or high is None or isinstance(constraint.outside, Mapping):
        return None  # whole-resource examples ({"set": ...}) are tested on both bounds on their own
    step = 1 if constraint.params.get("integer") else 0.5
    tested_high = float(constraint.outside) > high  # bake times are strings in pulumi-aws
    return (low, low - step) if tested_high else (high, high + step)


BOTH_BOUNDS = [case for case in CASES if _other_bound(case.values[0])]


@pytest.mark.parametrize("constraint, resource_type, path, when", BOTH_BOUNDS)
def test_the_other_bound_of_a_range_too(constraint, resource_type, path, when):
    inside, outside = _other_bound(constraint)

    def of_this_constraint(value: Any) -> list[str]:
        # Only this constraint's messages: a bound may break a relation (timeout < interval).
        found = judged(resource_type, place(resource_type, path, value, when, constraint.check))
        return [m for m in found if constraint.aws_field in m and constraint.doc in m]

    assert of_this_constraint(inside) == [], f"{constraint.id}: {inside!r} must pass"
    assert of_this_constraint(outside), f"{constraint.id}: {outside!r} must violate it"


def test_every_type_the_rule_checks_has_an_entry_tested_here():
    assert {case.values[1] for case in CASES} == set(POLICIES_BY_NAME[RULE].checks) | {PROVIDER_TYPE}


# ---------------------------------------------------------------------------------------------
# Security groups: the description that broke a deploy, and the group-reference charset.


def test_the_egress_description_with_an_apostrophe_fails_naming_resource_and_character():
    [message] = judged(EGRESS, {"securityGroupId": "sg-0a1b2c3d4e5f60002", "cidrIpv4": "0.0.0.0/0",
                                "ipProtocol": "-1", "description": OLD_EGRESS_DESCRIPTION}, name="api-egress")
    assert message.startswith("aws.vpc.SecurityGroupEgressRule 'api-egress': description ")
    assert "has characters AWS refuses (\"'\")" in message
    assert "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*" in message


def test_a_rule_referencing_a_group_may_not_use_an_ampersand_but_a_cidr_rule_may():
    description = "From the ALB & the NLB"
    assert judged(EGRESS, {"cidrIpv4": "10.0.0.0/8", "ipProtocol": "-1", "description": description}) == []
    [message] = judged(EGRESS, {"referencedSecurityGroupId": "sg-0a1b2c3d4e5f60002", "ipProtocol": "-1",
                                "description": description})
    assert "('&')" in message and "UserIdGroupPairs" in message


def test_inline_rules_of_a_security_group_are_judged_each():
    props = {"name": "web", "description": "Tasks", "ingress": [
        {"cidrBlocks": ["10.0.0.0/8"], "protocol": "tcp", "fromPort": 80, "toPort": 80, "description": "ok"},
        {"cidrBlocks": ["10.0.0.0/8"], "protocol": "tcp", "fromPort": 443, "toPort": 443, "description": "it's"}]}
    [message] = judged(SECURITY_GROUP, props)
    assert ": ingress[1].description 'it's'" in message


# ---------------------------------------------------------------------------------------------
# Autonames: what pulumi-aws would generate from the logical name.


def test_a_security_group_named_sg_something_gets_a_name_ec2_refuses():
    [message] = judged(SECURITY_GROUP, {"description": "Tasks", "vpcId": "vpc-1"}, name="sg-tasks")
    assert "name (not set; pulumi-aws generates 'sg-tasks-' + 7 random hex characters)" in message
    assert "'sg-tasks-1a2b3c4' starts with 'sg-'" in message


def test_target_group_autonames_overflow_32():
    fits, overflows = "t" * 24, "t" * 26
    assert judged(TARGET_GROUP, target_group(), name=fits) == []
    [refused] = judged(TARGET_GROUP, target_group(), name=overflows)
    assert "pulumi-aws cannot generate one" in refused and "over the 32 it allows" in refused
    # The older aws:alb type autonames up to 255, so the name reaches AWS, which refuses it.
    [too_long] = judged(ALB_TARGET_GROUP, target_group(), name=overflows)
    assert "is 34 characters long" in too_long and "AWS accepts 1-32 characters" in too_long


def test_an_explicit_name_is_judged_as_it_is_and_a_prefix_with_its_generated_suffix():
    assert judged(SECURITY_GROUP, {"name": "tasks", "description": "x"}, name="sg-tasks") == []
    [message] = judged(SECURITY_GROUP, {"namePrefix": "sg-web-", "description": "x"}, name="web")
    assert "namePrefix 'sg-web-' + 26 characters" in message
    [message] = judged(TARGET_GROUP, target_group(namePrefix="web-api-"), name="web")
    assert "is 34 characters long" in message


def test_an_uppercase_logical_name_makes_an_ecr_repository_name_ecr_refuses():
    [message] = judged(ECR_REPOSITORY, {"imageTagMutability": "IMMUTABLE"}, name="WebImages")
    assert "'WebImages-1a2b3c4' is not accepted" in message


# ---------------------------------------------------------------------------------------------
# IAM documents.

TRUST = json.loads(ecs_trust_policy())


def _trust(**statement: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{**TRUST["Statement"][0], **statement}]})


@pytest.mark.parametrize("document, fragment", [
    ("{not json", "assumeRolePolicy is not valid JSON"),
    (json.dumps([TRUST]), "assumeRolePolicy is not a JSON object"),
    (json.dumps({"Version": "2012-10-18", "Statement": TRUST["Statement"]}), ".Version is '2012-10-18'"),
    (json.dumps({"Version": "2012-10-17"}), "has no Statement"),
    (json.dumps({"Version": "2012-10-17", "Statement": []}), "non-empty list"),
    (_trust(Effect="allow"), "Effect is 'allow'; IAM accepts Allow or Deny"),
    (_trust(Principal={"Services": "ecs-tasks.amazonaws.com"}), "is not a principal type"),
    (_trust(Action="ecs:RunTask"), "is not an STS action"),
    (_trust(Resource="*"), "Resource is not allowed in a trust policy"),
    (_trust(Sid="trust-ecs"), "Sid is 'trust-ecs'; IAM accepts only letters and digits"),
    (_trust(Condition={"StringEquals": "x"}), "must map condition operators to objects"),
    (json.dumps({"Version": "2012-10-17", "Statement": [{k: v for k, v in TRUST["Statement"][0].items()
                                                         if k != "Principal"}]}), "exactly one of Principal"),
])
def test_trust_policy_grammar(document, fragment):
    [message] = judged(IAM_ROLE, role(assumeRolePolicy=document, inlinePolicies=[]))
    assert fragment in message


def _identity(**statement: Any) -> str:
    return policy_document({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", **statement})


@pytest.mark.parametrize("document, fragment", [
    (_identity(Action="s3 GetObject"), "is not an action"),
    (_identity(Action=":GetObject"), "is not an action"),
    (_identity(Resource="my-bucket"), "is neither an ARN nor *"),
    (_identity(Principal="*"), "Principal is not allowed in an identity-based policy"),
    (_identity(NotAction="s3:PutObject"), "exactly one of Action or NotAction"),
    (policy_document({"Effect": "Allow", "Action": "s3:GetObject"}), "exactly one of Resource or NotResource"),
    (_identity(Effects="Allow"), "Effects is not a statement element"),
    (policy_document({"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                     {"Sid": "A", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}), "used twice"),
])
def test_identity_policy_grammar(document, fragment):
    [message] = judged(IAM_ROLE_POLICY, {"role": "web-task", "policy": document})
    assert fragment in message


@pytest.mark.parametrize("document", [
    _identity(Action=["s3:Get*", "s3:List?ucket"]),
    policy_document({"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:iam::*:role/admin"}),
    json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}}),
])
def test_identity_policies_aws_accepts(document):
    assert judged(IAM_POLICY, {"name": "p", "policy": document}) == []


@pytest.mark.parametrize("entry", [{"name": "x", "policy": ""}, {"name": "", "policy": policy_document(
    {"Effect": "Allow", "Action": "s3 GetObject", "Resource": "*"})}, {"name": "", "policy": ""}])
def test_inline_policy_entries_pulumi_aws_skips_are_not_judged(entry):
    """An entry with an empty name or policy is never sent (iam/role.go addRoleInlinePolicies)."""
    assert judged(IAM_ROLE, role(inlinePolicies=[entry])) == []
    found = stack_violations(STACK_RULE, [(IAM_ROLE, "web-task", role(inlinePolicies=[entry]))])
    assert found == []


def test_inline_policy_entries_with_both_set_are_still_judged():
    [message] = judged(IAM_ROLE, role(inlinePolicies=[{"name": "read secrets", "policy": policy_document(READ_SECRET)}]))
    assert "inlinePolicies[0].name 'read secrets' has characters AWS refuses" in message


def test_trust_policy_length_quota_is_configurable():
    long_trust = _trust(Condition={"StringEquals": {"aws:SourceAccount": ["123456789012"] * 160}})
    [message] = judged(IAM_ROLE, role(assumeRolePolicy=long_trust, inlinePolicies=[]))
    assert "(white space not counted); AWS accepts 1-2048 characters" in message
    raised = {"roleTrustPolicyLength": 4096}
    assert judged(IAM_ROLE, role(assumeRolePolicy=long_trust, inlinePolicies=[]), config=raised) == []


# ---------------------------------------------------------------------------------------------
# ECR lifecycle policies.


def _lifecycle(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"repository": "web", "policy": json.dumps({"rules": list(rules)})}


def _rule(priority: int, status: str = "untagged", action: str = "expire", **selection: Any) -> dict[str, Any]:
    chosen = {"tagStatus": status, "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14,
              **selection}
    return {"rulePriority": priority, "description": "A rule long enough for ECR's minimum text length",
            "selection": {k: v for k, v in chosen.items() if v is not None}, "action": {"type": action}}


@pytest.mark.parametrize("rules, fragment", [
    ([_rule(1), _rule(1, "tagged", tagPrefixList=["v"])], "1 is also rule 0's; priorities must be unique"),
    ([_rule(0)], "rulePriority is 0"),
    ([_rule(1, "any"), _rule(2, "tagged", tagPatternList=["v*"])], "any rule at priority 1"),
    ([_rule(1, "tagged")], "neither tagPrefixList nor tagPatternList"),
    ([_rule(1, "untagged", tagPrefixList=["v"])], "which only tagged rules take"),
    ([_rule(1, "tagged", tagPatternList=["*a*b*c*d*e"])], "more than 4 wildcards"),
    ([_rule(1, countType="imageCountMoreThan")], "countUnit is only for the since* count types"),
    ([_rule(1, countUnit=None)], "countUnit is None; ECR needs days"),
    ([_rule(1, countType="sinceImageCreated")], "countType is 'sinceImageCreated'"),
    ([_rule(1, countNumber=0)], "countNumber is 0"),
    ([_rule(1, action="delete")], "action.type is 'delete'"),
    ([_rule(1, action="transition")], "targetStorageClass"),
])
def test_lifecycle_policy_grammar(rules, fragment):
    [message] = judged(LIFECYCLE, _lifecycle(*rules))
    assert fragment in message


def test_lifecycle_policy_with_an_any_rule_last_and_archive_transitions_passes():
    archive = {**_rule(2, "tagged", action="transition", tagPatternList=["release-*"], countType="sinceImagePulled"),
               "action": {"type": "transition", "targetStorageClass": "archive"}}
    keep = _rule(3, "any", countType="imageCountMoreThan", countUnit=None, countNumber=50)
    assert judged(LIFECYCLE, _lifecycle(_rule(1), archive, keep)) == []


# ---------------------------------------------------------------------------------------------
# EventBridge Scheduler expressions and time zones.


@pytest.mark.parametrize("expression", [
    "cron(0 3 * * ? *)", "cron(15 12 ? * MON-FRI *)", "cron(0/15 * * * ? 2030)", "cron(0 8 L * ? *)",
    "cron(0 9 ? * 3#2 *)", "cron(0 0 1,15 JAN,JUL ? 2026-2028)", "rate(1 minute)", "rate(5 minutes)",
    "rate(1 day)", "rate(12 hours)", "at(2027-01-31T23:59:00)",
    # Scheduler's CreateSchedule reference lists minute|minutes|hour|hours|day|days with no
    # agreement rule, and its guide writes rate(1 hours); only EventBridge rules require it.
    "rate(1 hours)", "rate(5 hour)", "cron(0 9 ? * mon-fri *)", "cron(0 8 1 jan ? *)"])
def test_schedule_expressions_aws_accepts(expression):
    assert judged(SCHEDULE, schedule(scheduleExpression=expression)) == []


@pytest.mark.parametrize("expression, fragment", [
    ("cron(0 3 * * *)", "has 5 fields; cron() takes 6"),
    ("cron(0 3 * * * *)", "exactly one of day-of-month and day-of-week must be ?"),
    ("cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week must be ?"),
    ("cron(60 3 * * ? *)", "minutes '60': 60 is outside 0-59"),
    ("cron(0 24 * * ? *)", "hours '24': 24 is outside 0-23"),
    ("cron(0 3 * 13 ? *)", "month '13': 13 is outside 1-12"),
    ("cron(0 3 ? * 8 *)", "day-of-week '8': 8 is outside 1-7"),
    ("cron(0 3 * * ? 1969)", "year '1969': 1969 is outside 1970-2199"),
    ("cron(0 ? * * ? *)", "hours '?' has characters"),
    ("rate(5 minutess)", "minute(s), hour(s) or day(s)"),
    ("cron(0 12 ? * 6#6 *)", "DAY#N takes a day 1-7 (SUN-SAT) and N from 1 to 5"),
    ("at(2030-1-1T00:00:00)", "at() takes a real date and time"),
    ("rate(0 minutes)", "positive whole number"),
    ("rate(1 week)", "minute(s), hour(s) or day(s)"),
    ("at(2027-02-30T00:00:00)", "at() takes a real date and time as yyyy-mm-ddThh:mm:ss"),
    ("at(2027-01-31 23:59)", "at() takes a real date and time as yyyy-mm-ddThh:mm:ss"),
    ("every 5 minutes", "is not at(...), rate(...) or cron(...)"),
])
def test_schedule_expressions_aws_refuses(expression, fragment):
    [message] = judged(SCHEDULE, schedule(scheduleExpression=expression))
    assert fragment in message


def test_time_zones_are_iana_names():
    assert judged(SCHEDULE, schedule(scheduleExpressionTimezone="America/New_York")) == []
    [message] = judged(SCHEDULE, schedule(scheduleExpressionTimezone="EST5EDT+1"))
    assert "is not an IANA time zone name" in message


def test_a_flexible_window_needs_its_maximum():
    [message] = judged(SCHEDULE, schedule(flexibleTimeWindow={"mode": "FLEXIBLE"}))
    assert "flexibleTimeWindow.maximumWindowInMinutes is not set; AWS requires it here" in message
    assert judged(SCHEDULE, schedule(flexibleTimeWindow={"mode": "FLEXIBLE", "maximumWindowInMinutes": 30})) == []


# ---------------------------------------------------------------------------------------------
# Load balancing: matchers by protocol, listener rule conditions, host headers.


@pytest.mark.parametrize("protocol, version, matcher, accepted", [
    ("HTTP", None, "200-499", True), ("HTTP", None, "200,302,404", True), ("HTTP", None, "200-500", False),
    ("HTTPS", None, "199", False), ("TCP", None, "200-599", True), ("TCP", None, "600", False),
    ("HTTP", "GRPC", "0-99", True), ("HTTP", "GRPC", "200", False), ("HTTP", None, "200-", False),
])
def test_health_check_matchers_follow_the_target_group_protocol(protocol, version, matcher, accepted):
    health = {**target_group()["healthCheck"], "matcher": matcher}
    props = target_group(protocol=protocol, healthCheck=health, **({"protocolVersion": version} if version else {}))
    assert (judged(TARGET_GROUP, props) == []) is accepted


def test_protocols_pulumi_aws_upper_cases_pass_in_any_case():
    """The listener's and the health check's protocol are validated case-insensitively and
    upper-cased by the provider (elbv2/listener.go, target_group.go: StateFunc strings.ToUpper)."""
    assert judged(LISTENER, {"loadBalancerArn": listener_rule()["listenerArn"].split("/f2f7")[0],
                             "port": 80, "protocol": "http", "defaultActions": [{"type": "redirect", "redirect": {
                                 "protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]}) == []
    health = {**target_group()["healthCheck"], "protocol": "https"}
    assert judged(TARGET_GROUP, target_group(protocol="HTTPS", healthCheck=health)) == []


def test_the_target_group_protocol_stays_case_sensitive_as_the_provider_has_it():
    [message] = judged(TARGET_GROUP, target_group(protocol="http"))
    assert "protocol is 'http'; AWS accepts one of: HTTP, HTTPS" in message


@pytest.mark.parametrize("protocol, health, accepted", [
    ("HTTP", "TCP", False), ("HTTPS", "tcp", False), ("HTTP", "HTTPS", True),
    ("TCP", "TCP", True), ("TLS", "HTTP", True), ("UDP", "TCP", True)])
def test_tcp_health_checks_only_for_target_groups_that_are_not_http(protocol, health, accepted):
    check = {"port": "traffic-port", "protocol": health, "interval": 30, "timeout": 10}
    found = judged(TARGET_GROUP, target_group(protocol=protocol, healthCheck=check))
    assert (found == []) is accepted, found
    if not accepted:
        assert "AWS accepts one of: HTTP, HTTPS in any case" in found[0] and "HTTP or HTTPS target groups" in found[0]


@pytest.mark.parametrize("protocol", ["UDP", "TLS", "GENEVE", "tcp_udp"])
def test_health_checks_take_only_http_https_and_tcp(protocol):
    health = {"port": "traffic-port", "protocol": protocol, "interval": 30, "timeout": 10}
    [message] = judged(TARGET_GROUP, target_group(protocol="TCP", healthCheck=health))
    assert f"healthCheck.protocol is '{protocol}'; AWS accepts one of: HTTP, HTTPS, TCP in any case" in message


@pytest.mark.parametrize("protocol, health", [
    ("HTTP", {"matcher": ""}),  # pulumi-aws sends no Matcher for ""
    # nor for a TCP health check (it refuses a non-empty one there itself: elbv2/target_group.go)
    ("TCP", {"protocol": "tcp", "matcher": "200-600"}),
])
def test_matchers_pulumi_aws_does_not_send_are_not_judged(protocol, health):
    check = {**target_group()["healthCheck"], **health}
    if health.get("protocol"):
        del check["path"]  # a TCP health check takes no path either
    assert judged(TARGET_GROUP, target_group(protocol=protocol, healthCheck=check)) == []


@pytest.mark.parametrize("props, fragment", [
    # No timeout: AWS applies its default, at least 5 for instance/ip targets (ALB user guide).
    ({"port": 80, "protocol": "HTTP", "healthCheck": {"interval": 5}},
     "healthCheck.interval is 5; AWS needs it > timeout, which is not set"),
    ({"targetType": "lambda", "healthCheck": {"enabled": True, "interval": 30}},
     "healthCheck.interval is 30; AWS needs it > timeout, which is not set"),
    # No interval: pulumi-aws sends its default, 30.
    ({"port": 80, "protocol": "HTTP", "healthCheck": {"timeout": 30}},
     "healthCheck.timeout is 30; AWS needs it < interval, which is not set"),
])
def test_health_check_timeout_and_interval_compared_with_the_default_of_the_unset_one(props, fragment):
    [message] = judged(TARGET_GROUP, {"vpcId": "vpc-0123456789abcdef0", **props})
    assert fragment in message


@pytest.mark.parametrize("props", [
    {"port": 80, "protocol": "HTTP", "healthCheck": {"interval": 6}},
    {"port": 80, "protocol": "TCP", "healthCheck": {"interval": 6, "protocol": "TCP"}},
    {"targetType": "lambda", "healthCheck": {"interval": 31}},
    {"targetType": "lambda", "healthCheck": {"enabled": False, "interval": 5}},
    {"port": 80, "protocol": "HTTP", "healthCheck": {"timeout": 29}},
])
def test_no_default_that_aws_might_apply_is_held_against_a_value(props):
    assert judged(TARGET_GROUP, {"vpcId": "vpc-0123456789abcdef0", **props}) == []


def test_listener_rule_conditions_count_values_per_condition_and_per_rule():
    five = [{"pathPattern": {"values": ["/a/*", "/b/*", "/c/*"]}}, {"hostHeader": {"values": ["a.example.com"]}},
            {"queryStrings": [{"key": "v", "value": "2"}]}]
    assert judged(LISTENER_RULE, listener_rule(conditions=five)) == []
    six = [*five, {"httpHeader": {"httpHeaderName": "X-Env", "values": ["prod"]}}]
    [message] = judged(LISTENER_RULE, listener_rule(conditions=six))
    assert "have 6 values in all; a rule takes at most 5" in message


@pytest.mark.parametrize("host, accepted", [
    ("api.example.com", True), ("*.example.com", True), ("api-?.example.co", True), ("localhost", False),
    ("api.example.*", False), ("api.example.c0m", False), ("api_1.example.com", False)])
def test_host_header_values(host, accepted):
    props = listener_rule(conditions=[{"hostHeader": {"values": [host]}}])
    assert (judged(LISTENER_RULE, props) == []) is accepted


# ---------------------------------------------------------------------------------------------
# CloudWatch alarms and ECS containers.


@pytest.mark.parametrize("period, periods, accepted", [
    (60, 1440, True), (60, 1441, False), (3600, 168, True), (3600, 169, False), (10, 8640, True)])
def test_alarm_evaluation_window(period, periods, accepted):
    assert (judged(ALARM, metric_alarm(period=period, evaluationPeriods=periods)) == []) is accepted


@pytest.mark.parametrize("props", [
    # 0 is pulumi-aws's "never expire": it calls PutRetentionPolicy only for a non-zero value.
    {"retentionInDays": 0},
    # DELIVERY log groups get no PutRetentionPolicy call at all (AWS fixes them at 2 days).
    {"logGroupClass": "DELIVERY", "retentionInDays": 2},
])
def test_log_retention_values_pulumi_aws_never_sends(props):
    assert judged(LOG_GROUP, log_group(**props)) == []


def test_log_retention_is_still_judged_for_the_other_classes():
    for log_class in ("STANDARD", "INFREQUENT_ACCESS", None):
        props = log_group(retentionInDays=2, **({"logGroupClass": log_class} if log_class else {}))
        [message] = judged(LOG_GROUP, props)
        assert "retentionInDays is 2; AWS accepts one of: 1, 3, 5" in message
        assert "(or 0, which pulumi-aws does not send)" in message


def test_fargate_stop_timeout_is_capped_only_for_fargate():
    slow = [container(stopTimeout=300)]
    [message] = judged("aws:ecs/taskDefinition:TaskDefinition", task_definition(slow))
    assert "containerDefinitions[0].stopTimeout is 300; AWS accepts 2-120" in message
    assert judged("aws:ecs/taskDefinition:TaskDefinition",
                  task_definition(slow, requiresCompatibilities=["EC2"], networkMode="awsvpc")) == []


# ---------------------------------------------------------------------------------------------
# Tags, default tags and messages.


def test_default_tags_count_against_each_resources_limit():
    provider_props = {"defaultTags": json.dumps({"tags": {f"Default{i}": "x" for i in range(10)}})}
    tags = {f"Own{i}": "y" for i in range(45)}
    args = resource_args(CLUSTER, {"name": "main", "tags": tags}, name="main")
    args.provider = _provider(provider_props)
    [violation] = evaluate(POLICIES_BY_NAME[RULE], args)
    assert "tags has 55 entries (with the provider's default tags); AWS accepts at most 50" in violation.message
    args = resource_args(CLUSTER, {"name": "main", "tags": dict(list(tags.items())[:40])}, name="main")
    args.provider = _provider(provider_props)
    assert evaluate(POLICIES_BY_NAME[RULE], args) == []


def _provider(props: dict[str, Any]):
    from pulumi_policy.policy import PolicyProviderResource

    return PolicyProviderResource(PROVIDER_TYPE, unknown_checking_proxy(over_the_wire(props)),
                                  urn_for(PROVIDER_TYPE, "aws"), "aws")


def _with_provider(resource_type: str, props: dict[str, Any], provider_props: dict[str, Any]) -> list[str]:
    args = resource_args(resource_type, props, name="example")
    args.provider = _provider(provider_props)
    return [v.message for v in evaluate(POLICIES_BY_NAME[RULE], args)]


AMPERSAND_DEFAULTS = {"region": "us-east-1", "defaultTags": json.dumps({"tags": {"CostCenter": "R&D (platform)"}})}


def test_default_tags_are_judged_on_the_provider_only_by_what_every_service_enforces():
    assert judged(PROVIDER_TYPE, AMPERSAND_DEFAULTS, name="aws") == []
    assert _with_provider(SECURITY_GROUP, SAMPLES[SECURITY_GROUP], AMPERSAND_DEFAULTS) == []
    assert _with_provider(ECR_REPOSITORY, {"name": "web", "imageTagMutability": "IMMUTABLE"}, AMPERSAND_DEFAULTS) == []
    long_key = {"defaultTags": json.dumps({"tags": {"k" * 129: "x"}})}
    [message] = judged(PROVIDER_TYPE, long_key, name="aws")
    assert "is 129 characters long" in message and "AWS accepts 1-128 characters" in message


@pytest.mark.parametrize("resource_type, props", [
    (CLUSTER, {"name": "main"}), (TARGET_GROUP, target_group()), (IAM_ROLE, role()), (LOG_GROUP, log_group()),
])
def test_default_tags_meet_the_charset_of_each_resources_service(resource_type, props):
    [message] = _with_provider(resource_type, props, AMPERSAND_DEFAULTS)
    assert (": tags[\"CostCenter\"] (a default tag of the provider) 'R&D (platform)' has characters AWS refuses "
            "('&' '(' ')')") in message
    # The resource's own tag replaces the default (pulumi-aws merges its tags over the defaults).
    assert _with_provider(resource_type, {**props, "tags": {"CostCenter": "R-and-D"}}, AMPERSAND_DEFAULTS) == []
    bad_key = {"defaultTags": json.dumps({"tags": {"team's": "x"}})}
    [message] = _with_provider(resource_type, props, bad_key)
    assert "tags key (a default tag of the provider) 'team's' has characters AWS refuses" in message


@pytest.mark.parametrize("ignore", [{"keys": ["CostCenter"]}, {"keyPrefixes": ["Cost"]}])
def test_default_tags_the_provider_ignores_are_sent_nowhere(ignore):
    provider = {**AMPERSAND_DEFAULTS, "ignoreTags": json.dumps(ignore)}
    assert _with_provider(CLUSTER, {"name": "main"}, provider) == []


def test_default_tags_unknown_in_preview_are_not_held_against_a_resource():
    assert _with_provider(CLUSTER, {"name": "main"}, {"defaultTags": UNKNOWN}) == []
    assert _with_provider(CLUSTER, {"name": "main"}, {**AMPERSAND_DEFAULTS, "ignoreTags": UNKNOWN}) == []


def test_ec2_takes_a_default_tag_key_of_127_characters_not_128():
    provider = {"defaultTags": json.dumps({"tags": {"k" * 128: "x"}})}
    assert judged(PROVIDER_TYPE, provider, name="aws") == []
    [message] = _with_provider(SECURITY_GROUP, SAMPLES[SECURITY_GROUP], provider)
    assert "tags key (a default tag of the provider)" in message and "AWS accepts 1-127 characters" in message
    assert _with_provider(ECR_REPOSITORY, {"name": "web", "imageTagMutability": "IMMUTABLE"}, provider) == []


def test_ec2_takes_any_tag_characters_but_ecs_does_not():
    tags = {"Owner": "O'Brien"}
    assert judged(SECURITY_GROUP, {**SAMPLES[SECURITY_GROUP], "tags": tags}) == []
    [message] = judged(CLUSTER, {"name": "main", "tags": tags})
    assert "tags[\"Owner\"] 'O'Brien' has characters AWS refuses" in message


def test_ec2_tag_keys_stop_at_127_characters_where_ecr_takes_128():
    key = "k" * 128
    [message] = judged(SECURITY_GROUP, {**SAMPLES[SECURITY_GROUP], "tags": {key: "x"}})
    assert "is 128 characters long" in message and "AWS accepts 1-127 characters" in message
    assert judged(SECURITY_GROUP, {**SAMPLES[SECURITY_GROUP], "tags": {key[:127]: "x"}}) == []
    assert judged(ECR_REPOSITORY, {"name": "web", "imageTagMutability": "IMMUTABLE", "tags": {key: "x"}}) == []


def test_long_values_are_cut_in_messages():
    [message] = judged(SECURITY_GROUP, {"name": "web", "description": "x" * 300})
    assert "'" + "x" * 57 + "...' (300 characters)" in message and "x" * 58 not in message


# ---------------------------------------------------------------------------------------------
# Unknown values: skipped one by one, everything known still judged.


def test_an_unknown_value_is_skipped_and_every_known_one_still_judged():
    props = target_group(name=UNKNOWN, port=UNKNOWN_NUMBER,
                         healthCheck={**target_group()["healthCheck"], "interval": 400, "matcher": UNKNOWN})
    reported: list[str] = []
    args = resource_args(TARGET_GROUP, props, name="web-tg")
    with pytest.raises(UnknownValueError) as raised:
        POLICIES_BY_NAME[RULE].validate(args, lambda message, urn=None: reported.append(message))
    [message] = reported
    assert "healthCheck.interval is 400" in message
    assert raised.value.message.startswith("name, port, healthCheck.matcher")
    assert raised.value.message.endswith("can't be known during preview and were not judged; every known value was")


def test_unknown_values_reach_the_engine_as_one_advisory_note_next_to_real_violations():
    props = target_group(port=UNKNOWN_NUMBER, healthCheck={**target_group()["healthCheck"], "unhealthyThreshold": 11})
    found = [d for d in analyze([(TARGET_GROUP, "web-tg", props)], environment_config("prod")) if d.policy == RULE]
    assert sorted((d.enforcement_level, d.skipped) for d in found) == [("advisory", True), ("mandatory", False)]


def test_a_condition_that_is_unknown_skips_only_values_that_would_fail():
    passing = {"referencedSecurityGroupId": UNKNOWN, "ipProtocol": "tcp", "description": "From the ALB"}
    assert judged(EGRESS, passing) == []
    failing = {**passing, "description": "ALB & NLB"}
    with pytest.raises(UnknownValueError):
        judged(EGRESS, failing)


# ---------------------------------------------------------------------------------------------
# The stack part.


def _stack_resource(resource_type: str, name: str, props: dict[str, Any],
                    depends: dict[str, list[PolicyResource]] | None = None) -> PolicyResource:
    return PolicyResource(resource_type, unknown_checking_proxy(over_the_wire(props)), urn_for(resource_type, name),
                          name, None, None, None, [], depends or {})


def test_listener_rule_priorities_are_unique_per_listener():
    other_listener = listener_rule()["listenerArn"].replace("f2f7dc8efc522ab2", "0000000000000000")
    found = stack_violations(STACK_RULE, [
        (LISTENER_RULE, "api", listener_rule(priority=10)), (LISTENER_RULE, "web", listener_rule(priority=10)),
        (LISTENER_RULE, "admin", listener_rule(priority=10, listenerArn=other_listener)),
        (LISTENER_RULE, "docs", listener_rule(priority=11))])
    assert sorted(v.urn.rsplit("::", 1)[1] for v in found) == ["api", "web"]
    assert "priority 10 is also aws.lb.ListenerRule 'web''s in the same listenerArn" in found[0].message


def test_listener_rule_priorities_of_a_listener_not_yet_created_are_compared_through_dependencies():
    """A first preview knows no listener ARN; the engine's property dependencies tell which
    listener each rule's listenerArn comes from."""
    https = _stack_resource(LISTENER, "https", {"port": 443, "protocol": "HTTPS"})
    http = _stack_resource(LISTENER, "http", {"port": 80, "protocol": "HTTP"})
    rules = [_stack_resource(LISTENER_RULE, name, listener_rule(listenerArn=UNKNOWN, priority=5),
                             {"listenerArn": [listener]})
             for name, listener in (("a", https), ("b", https), ("c", http))]
    policy = POLICIES_BY_NAME[STACK_RULE]
    from policy_evaluation import stack_args

    found = evaluate(policy, stack_args([https, http, *rules]))
    assert sorted(v.urn.rsplit("::", 1)[1] for v in found) == ["a", "b"]


def test_explicit_names_are_unique_in_their_scope():
    found = stack_violations(STACK_RULE, [
        ("aws:cloudwatch/logGroup:LogGroup", "a", {"name": "/ecs/web"}),
        ("aws:cloudwatch/logGroup:LogGroup", "b", {"name": "/ecs/web"}),
        (TARGET_GROUP, "tg1", target_group(name="web")), (ALB_TARGET_GROUP, "tg2", target_group(name="web")),
        (IAM_ROLE, "r1", role(name="Web-Task")), (IAM_ROLE, "r2", role(name="web-task")),
        (SECURITY_GROUP, "sg1", {"name": "web", "vpcId": "vpc-1"}),
        (SECURITY_GROUP, "sg2", {"name": "web", "vpcId": "vpc-2"}),
        ("aws:ecs/service:Service", "s1", {"name": "web", "cluster": "arn:aws:ecs:us-east-1:1:cluster/a"}),
        ("aws:ecs/service:Service", "s2", {"name": "web", "cluster": "arn:aws:ecs:us-east-1:1:cluster/b"}),
        (SCHEDULE, "n1", schedule(name="nightly")), (SCHEDULE, "n2", schedule(name="nightly", groupName="jobs"))])
    assert sorted(v.urn.rsplit("::", 1)[1] for v in found) == ["a", "b", "r1", "r2", "tg1", "tg2"]


@pytest.mark.parametrize("resource_type, props, outcome", [
    (ALARM, metric_alarm(name="api-5xx"), "AWS does not refuse it: PutMetricAlarm overwrites the first alarm"),
    (CLUSTER, {"name": "main"}, "AWS does not refuse it: CreateCluster returns the existing cluster"),
    (ECR_REPOSITORY, {"name": "web"}, "AWS refuses the second one (ecr:CreateRepository repositoryName"),
    (TARGET_GROUP, target_group(name="web"), "pulumi-aws refuses the second one (it looks the name up"),
])
def test_a_name_taken_twice_says_what_happens_to_the_second(resource_type, props, outcome):
    found = stack_violations(STACK_RULE, [(resource_type, "first", props), (resource_type, "second", props)])
    assert len(found) == 2 and all(outcome in v.message for v in found), [v.message for v in found]


def _provided(resource_type: str, name: str, props: dict[str, Any], provider: dict[str, Any],
              provider_name: str) -> PolicyResource:
    """A stack resource created through an explicit aws provider with these inputs."""
    from pulumi_policy.policy import PolicyProviderResource

    via = PolicyProviderResource(PROVIDER_TYPE, unknown_checking_proxy(over_the_wire(provider)),
                                 urn_for(PROVIDER_TYPE, provider_name), provider_name)
    return PolicyResource(resource_type, unknown_checking_proxy(over_the_wire(props)), urn_for(resource_type, name),
                          name, None, via, None, [], {})


def _assumes(account: str) -> dict[str, Any]:
    return {"region": "eu-west-1", "assumeRoles": json.dumps([{"roleArn": f"arn:aws:iam::{account}:role/deploy"}])}


@pytest.mark.parametrize("first, second, clash", [
    # Two regions, the credentials of the process: one account.
    ({"region": "us-east-1"}, {"region": "eu-west-1"}, True),
    ({"region": "us-east-1", "profile": "prod"}, {"region": "eu-west-1", "profile": "prod"}, True),
    (_assumes("111111111111"), {"region": "us-east-1", "allowedAccountIds": json.dumps(["111111111111"])}, True),
    # Different accounts, or an account not known in preview: no clash claimed.
    (_assumes("111111111111"), _assumes("222222222222"), False),
    ({"region": "us-east-1", "profile": "prod"}, {"region": "us-east-1", "profile": "staging"}, False),
    ({"region": "us-east-1"}, {"region": "us-east-1", "assumeRoles": UNKNOWN}, False),
])
def test_iam_names_are_unique_per_account_in_any_case(first, second, clash):
    for resource_type, props, other in ((IAM_ROLE, role(name="Web-Task"), role(name="web-task")),
                                        (IAM_POLICY, {"name": "ReadSecrets", "policy": policy_document(READ_SECRET)},
                                         {"name": "readsecrets", "policy": policy_document(READ_SECRET)})):
        resources = [_provided(resource_type, "a", props, first, "one"), _provided(resource_type, "b", other, second, "two")]
        found = evaluate(POLICIES_BY_NAME[STACK_RULE], _stack_args(resources))
        assert (len(found) == 2) is clash, [v.message for v in found]
        assert all("in the same account; AWS refuses the second one" in v.message for v in found)


def test_a_schedule_without_a_group_is_in_the_default_group():
    found = stack_violations(STACK_RULE, [
        (SCHEDULE, "n1", schedule(name="nightly")), (SCHEDULE, "n2", schedule(name="nightly", groupName="default")),
        (SCHEDULE, "n3", schedule(name="nightly", groupName="jobs"))])
    assert sorted(v.urn.rsplit("::", 1)[1] for v in found) == ["n1", "n2"]
    assert "in the same groupName/region; AWS refuses the second one" in found[0].message


@pytest.mark.parametrize("regions, clash", [
    ((None, None), True), ((None, "us-east-1"), True), (("eu-west-1", None), False), (("eu-west-1", "eu-central-1"), False)])
def test_regional_names_clash_only_in_one_region(regions, clash):
    """pulumi-aws 7 resources take their own `region`; unset, it is their provider's."""
    provider = {"region": "us-east-1"}
    resources = [_provided(LOG_GROUP, f"g{i}", {"name": "/ecs/web", **({"region": r} if r else {})}, provider, "aws")
                 for i, r in enumerate(regions)]
    found = evaluate(POLICIES_BY_NAME[STACK_RULE], _stack_args(resources))
    assert (len(found) == 2) is clash, [v.message for v in found]


def test_inline_policies_of_a_role_add_up():
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::bucket-0001/*"] * 180}
    document = policy_document(statement)  # about 5,400 characters without white space
    web = _stack_resource(IAM_ROLE, "web-task", role(name="web-task", inlinePolicies=[
        {"name": "one", "policy": document}]))
    by_name = _stack_resource(IAM_ROLE_POLICY, "two", {"role": "web-task", "policy": document})
    found = evaluate(POLICIES_BY_NAME[STACK_RULE], _stack_args([web, by_name]))
    [violation] = found
    assert violation.urn.endswith("::web-task") and "inline policies add up to" in violation.message
    # During a first preview the role's name is unknown: the dependency names the role.
    new_role = _stack_resource(IAM_ROLE, "new-task", role(name=UNKNOWN, inlinePolicies=[
        {"name": "one", "policy": document}]))
    through_dependency = _stack_resource(IAM_ROLE_POLICY, "three", {"role": UNKNOWN, "policy": document},
                                         {"role": [new_role]})
    [violation] = evaluate(POLICIES_BY_NAME[STACK_RULE], _stack_args([new_role, through_dependency]))
    assert violation.urn.endswith("::new-task")
    single = _stack_resource(IAM_ROLE, "small", role(name="small"))
    assert evaluate(POLICIES_BY_NAME[STACK_RULE], _stack_args([single])) == []


def _stack_args(resources: list[PolicyResource]):
    from policy_evaluation import stack_args

    return stack_args(resources)


# ---------------------------------------------------------------------------------------------
# ECS-native traffic-shifting deployments: strategies, bake times, percentages, hooks, load balancers.

SERVICE = "aws:ecs/service:Service"
ALT_TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-alt/fedcba9876543210"
PRIMARY_TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
PRODUCTION_RULE = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/"
                   "f2f7dc8efc522ab2/9683b2d02a6cabee")
INFRASTRUCTURE_ROLE = "arn:aws:iam::123456789012:role/web-ecs-infrastructure"
HOOK_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:web-smoke-test"
HOOK_ROLE = "arn:aws:iam::123456789012:role/web-ecs-hooks"


def _balanced(advanced: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    balancer = {"targetGroupArn": PRIMARY_TG, "containerName": "app", "containerPort": 8080}
    if advanced is not False:
        balancer["advancedConfiguration"] = advanced or {
            "alternateTargetGroupArn": ALT_TG, "productionListenerRule": PRODUCTION_RULE,
            "testListenerRule": PRODUCTION_RULE.replace("9683b2d02a6cabee", "1a2b3c4d5e6f7a8b"),
            "roleArn": INFRASTRUCTURE_ROLE}
    return [balancer]


def _shifting(strategy: str, deployment: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """The compliant sample service deployed with `strategy`, every knob of it set, behind a load
    balancer with its advanced configuration, with a Lambda and a pause hook."""
    knobs: dict[str, Any] = {"strategy": strategy, "bakeTimeInMinutes": "10", "lifecycleHooks": [
        {"targetType": "AWS_LAMBDA", "hookTargetArn": HOOK_FUNCTION, "roleArn": HOOK_ROLE,
         "lifecycleStages": ["POST_SCALE_UP", "TEST_TRAFFIC_SHIFT"], "hookDetails": json.dumps({"path": "/health"})},
        {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
         "timeoutConfiguration": {"timeoutInMinutes": "60", "action": "ROLLBACK"}}]}
    if strategy == "CANARY":
        knobs["canaryConfiguration"] = {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": "10"}
    if strategy == "LINEAR":
        knobs["linearConfiguration"] = {"stepPercent": 10.0, "stepBakeTimeInMinutes": "6"}
    knobs.update(deployment or {})
    return {**SAMPLES[SERVICE], "deploymentConfiguration": {k: v for k, v in knobs.items() if v is not None},
            "loadBalancers": _balanced(), **overrides}


@pytest.mark.parametrize("strategy", ["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"])
def test_a_service_with_every_knob_of_its_strategy_passes(strategy):
    assert judged(SERVICE, _shifting(strategy)) == []


def test_the_documented_ranges_are_read_from_botocore():
    params = {c.id: c.params for c in CATALOGUE.constraints}
    assert {k: params["ecs-service-canary-percent-range"][k] for k in ("min", "max", "step")} == {
        "min": 0.1, "max": 100, "step": 0.1}
    assert {k: params["ecs-service-step-percent-range"][k] for k in ("min", "max", "step")} == {
        "min": 3, "max": 100, "step": 0.1}
    for entry in ("ecs-service-canary-bake-time-range", "ecs-service-step-bake-time-range"):
        assert (params[entry]["min"], params[entry]["max"]) == (0, 1440)
    assert (params["ecs-service-pause-hook-timeout-range"]["min"],
            params["ecs-service-pause-hook-timeout-range"]["max"]) == (1, 20160)
    assert params["ecs-service-pause-hook-stages"]["values"] == ["TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"]
    assert "PRE_PRODUCTION_TRAFFIC_SHIFT" in params["ecs-service-lifecycle-hook-stage"]["values"]
    assert params["ecs-service-deployment-strategy"]["values"] == ["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"]


@pytest.mark.parametrize("strategy, block, key, value, accepted", [
    ("CANARY", "canaryConfiguration", "canaryPercent", 5.1, True),
    ("CANARY", "canaryConfiguration", "canaryPercent", 0.1 + 0.2, True),  # 0.30000000000000004
    ("CANARY", "canaryConfiguration", "canaryPercent", 33.3, True),
    ("CANARY", "canaryConfiguration", "canaryPercent", 5.05, False),
    ("CANARY", "canaryConfiguration", "canaryPercent", 0.05, False),
    ("LINEAR", "linearConfiguration", "stepPercent", 12.5, True),
    ("LINEAR", "linearConfiguration", "stepPercent", 12.55, False),
    ("LINEAR", "linearConfiguration", "stepPercent", 2.9, False),
])
def test_traffic_percentages_are_multiples_of_a_tenth(strategy, block, key, value, accepted):
    props = _shifting(strategy)
    props["deploymentConfiguration"][block][key] = value
    found = judged(SERVICE, props)
    assert (found == []) is accepted, found
    if not accepted:
        [message] = found
        assert f"deploymentConfiguration.{block}.{key} is {value:g}; AWS accepts" in message


@pytest.mark.parametrize("strategy, where, low, high", [
    ("CANARY", ("canaryConfiguration", "canaryBakeTimeInMinutes"), 0, 1440),
    ("LINEAR", ("linearConfiguration", "stepBakeTimeInMinutes"), 0, 1440),
    ("LINEAR", ("bakeTimeInMinutes",), 0, 1440),
    ("CANARY", ("bakeTimeInMinutes",), 0, 1440),
])
def test_bake_times_both_bounds_and_as_the_provider_parses_them(strategy, where, low, high):
    def found(value):
        props = _shifting(strategy)
        holder = props["deploymentConfiguration"]
        for key in where[:-1]:
            holder = holder[key]
        holder[where[-1]] = value
        return judged(SERVICE, props)

    for value in (str(low), str(high), "+7", 7):
        assert found(value) == [], value
    for value in (str(low - 1), str(high + 1)):
        [message] = found(value)
        assert f"is {value}; AWS accepts {low}-{high}" in message
    for value in ("5.0", " 5", "5m", "five"):
        [message] = found(value)
        assert "pulumi-aws reads it as a whole number (Go strconv.ParseInt)" in message


def test_the_pause_timeout_both_bounds():
    def found(minutes):
        return judged(SERVICE, _shifting("BLUE_GREEN", {"lifecycleHooks": [{
            "targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"],
            "timeoutConfiguration": {"timeoutInMinutes": minutes, "action": "CONTINUE"}}]}))

    assert found("1") == [] and found("20160") == []
    assert ["is 0; AWS accepts 1-20160" in m for m in found("0")] == [True]
    assert ["is 20161; AWS accepts 1-20160" in m for m in found("20161")] == [True]


def test_blue_green_needs_a_bake_time_the_others_do_not():
    [message] = judged(SERVICE, _shifting("BLUE_GREEN", {"bakeTimeInMinutes": None}))
    assert "deploymentConfiguration.bakeTimeInMinutes is not set; AWS requires it with the BLUE_GREEN strategy" \
        in message
    assert judged(SERVICE, _shifting("BLUE_GREEN", {"bakeTimeInMinutes": "0"})) == []
    assert judged(SERVICE, _shifting("CANARY", {"bakeTimeInMinutes": None})) == []  # a rule's matter, not AWS's


def test_a_percentage_left_out_of_its_block_is_sent_as_zero():
    [message] = judged(SERVICE, _shifting("CANARY", {"canaryConfiguration": {"canaryBakeTimeInMinutes": "5"}}))
    assert "deploymentConfiguration.canaryConfiguration.canaryPercent is not set; pulumi-aws then sends " \
           "canaryPercent 0" in message
    [message] = judged(SERVICE, _shifting("LINEAR", {"linearConfiguration": {}}))
    assert "linearConfiguration.stepPercent is not set; pulumi-aws then sends stepPercent 0" in message
    # Without the block, ECS's defaults (5 % and 10 %) apply.
    assert judged(SERVICE, _shifting("CANARY", {"canaryConfiguration": None})) == []


@pytest.mark.parametrize("strategy, block", [
    ("LINEAR", "canaryConfiguration"), ("BLUE_GREEN", "canaryConfiguration"), ("ROLLING", "linearConfiguration"),
    ("CANARY", "linearConfiguration"),
])
def test_a_block_of_another_strategy_is_flagged_as_without_effect(strategy, block):
    other = {"canaryConfiguration": {"canaryPercent": 5.0}, "linearConfiguration": {"stepPercent": 10.0}}[block]
    [message] = judged(SERVICE, _shifting(strategy, {block: other}))
    assert f"deploymentConfiguration.{block} is set; it applies only to the" in message
    assert "pulumi-aws does not send it with any other" in message


def test_without_a_strategy_a_strategys_block_is_flagged_too():
    props = {**SAMPLES[SERVICE], "deploymentConfiguration": {"canaryConfiguration": {"canaryPercent": 5.0}}}
    assert len(judged(SERVICE, props)) == 1


@pytest.mark.parametrize("strategy", ["BLUE_GREEN", "LINEAR", "CANARY"])
def test_traffic_shifting_behind_a_load_balancer_needs_its_advanced_configuration(strategy):
    [message] = judged(SERVICE, _shifting(strategy, loadBalancers=_balanced(advanced=False)))
    assert "loadBalancers[0].advancedConfiguration is not set; ECS refuses a BLUE_GREEN, LINEAR or CANARY " \
           "service with a load balancer that has none" in message
    assert "terraform-aws-ecs/issues/377" in message
    # Without a load balancer (or with Service Connect) ECS deploys blue/green without traffic shifting.
    assert judged(SERVICE, _shifting(strategy, loadBalancers=None)) == []
    # Every load balancer of the service needs one.
    two = _balanced() + _balanced(advanced=False)
    assert ["loadBalancers[1].advancedConfiguration is not set" in m for m in judged(
        SERVICE, _shifting(strategy, loadBalancers=two))] == [True]


def test_rolling_behind_a_load_balancer_needs_no_advanced_configuration():
    assert judged(SERVICE, _shifting("ROLLING", loadBalancers=_balanced(advanced=False))) == []
    assert judged(SERVICE, {**SAMPLES[SERVICE], "loadBalancers": _balanced(advanced=False)}) == []


def test_an_unknown_strategy_skips_the_load_balancer_check_until_it_is_known():
    props = _shifting("LINEAR", loadBalancers=_balanced(advanced=False))
    props["deploymentConfiguration"]["strategy"] = UNKNOWN
    with pytest.raises(UnknownValueError) as raised:
        judged(SERVICE, props)
    assert "advancedConfiguration" in raised.value.message


@pytest.mark.parametrize("member", ["alternateTargetGroupArn", "productionListenerRule", "roleArn"])
def test_an_advanced_configuration_needs_its_three_members(member):
    balancers = _balanced()
    del balancers[0]["advancedConfiguration"][member]
    [message] = judged(SERVICE, _shifting("CANARY", loadBalancers=balancers))
    assert f"loadBalancers[0].advancedConfiguration.{member} is not set; pulumi-aws requires it" in message


def _hooked(*hooks: dict[str, Any]) -> dict[str, Any]:
    return _shifting("BLUE_GREEN", {"lifecycleHooks": list(hooks)})


@pytest.mark.parametrize("stage", ["TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"])
def test_a_pause_hook_may_not_wait_while_traffic_moves(stage):
    pause = {"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP", stage]}
    [message] = judged(SERVICE, _hooked(pause))
    assert f"deploymentConfiguration.lifecycleHooks[0].lifecycleStages includes {stage}; AWS refuses a PAUSE hook" \
           in message
    lambda_hook = {"hookTargetArn": HOOK_FUNCTION, "roleArn": HOOK_ROLE, "lifecycleStages": [stage]}
    assert judged(SERVICE, _hooked(lambda_hook)) == []


@pytest.mark.parametrize("target_type", [None, "AWS_LAMBDA"])
@pytest.mark.parametrize("missing", ["hookTargetArn", "roleArn"])
def test_a_lambda_hook_needs_its_function_and_role(target_type, missing):
    hook = {"hookTargetArn": HOOK_FUNCTION, "roleArn": HOOK_ROLE, "lifecycleStages": ["POST_SCALE_UP"]}
    if target_type:
        hook["targetType"] = target_type
    del hook[missing]
    [message] = judged(SERVICE, _hooked(hook))
    assert f"deploymentConfiguration.lifecycleHooks[0].{missing} is not set" in message
    # A pause hook needs neither.
    assert judged(SERVICE, _hooked({"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]})) == []


@pytest.mark.parametrize("hook, fragment", [
    ({"targetType": "PAUSE", "lifecycleStages": []}, "lifecycleHooks[0].lifecycleStages is not set"),
    ({"targetType": "PAUSE", "lifecycleStages": ["AFTER_SCALE_UP"]}, "lifecycleStages[0] is 'AFTER_SCALE_UP'"),
    ({"targetType": "pause", "lifecycleStages": ["POST_SCALE_UP"]}, "lifecycleHooks[0].targetType is 'pause'"),
    ({"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"], "timeoutConfiguration": {"action": "RETRY"}},
     "timeoutConfiguration.action is 'RETRY'; AWS accepts one of: ROLLBACK, CONTINUE"),
])
def test_hook_enums_and_stages(hook, fragment):
    found = judged(SERVICE, _hooked(hook))
    # 'pause' is no PAUSE: the hook is then judged as a Lambda hook too, without function or role.
    assert len(found) == (3 if hook["targetType"] == "pause" else 1), found
    assert any(fragment in message for message in found), found


def test_the_circuit_breaker_is_left_on_with_a_traffic_shifting_strategy():
    """botocore still says the breaker is for rolling updates only (written when that meant the ECS
    controller against CODE_DEPLOY); AWS's failure-detection page lists both methods for rolling and
    blue/green deployments, so nothing here refuses it."""
    props = _shifting("CANARY", deploymentCircuitBreaker={"enable": True, "rollback": True})
    assert judged(SERVICE, props) == []


# ---------------------------------------------------------------------------------------------
# Our stacks, rendered under mocks and judged by the whole pack.


def _judge_rendering(rendering, environment: str = "prod") -> list:
    pack = load_pack(POLICY_PACK)
    configure(pack, reconcile_config(pack, environment_config(environment)))
    return [d for d in evaluate_pack(pack, rendering) if d.policy in (RULE, STACK_RULE)]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_shipped_stacks_pass(stack, preview):
    found = _judge_rendering(render_stack(stack, preview=preview), stack)
    assert [d for d in found if not d.skipped] == [], [d.message for d in found]


def test_the_old_egress_description_on_the_rendered_prod_stack_is_the_one_violation():
    """The task groups' egress description before it was fixed (337ca7d): EC2 refuses the '."""
    prod = render_stack("prod")
    resources = [replace(r, wire_inputs={**r.wire_inputs, "description": OLD_EGRESS_DESCRIPTION})
                 if r.type == EGRESS and r.name.endswith("-egress") and "alb" not in r.name else r
                 for r in prod.resources]
    found = _judge_rendering(replace(prod, resources=resources))
    assert sorted(d.urn.rsplit("::", 1)[1] for d in found) == ["api-egress", "nightly-import-egress", "worker-egress"]
    for diagnostic in found:
        assert diagnostic.enforcement_level == "mandatory"
        name = diagnostic.urn.rsplit("::", 1)[1]
        assert f"aws.vpc.SecurityGroupEgressRule '{name}': description " in diagnostic.message
        assert "has characters AWS refuses (\"'\")" in diagnostic.message


def test_a_fifty_service_stack_passes():
    """50 web services with distinct routes and default listener priorities, plus a job each."""
    services = {f"api{i}": {"image": "public.ecr.aws/nginx/nginx:1.27", "port": 8080, "healthCheckPath": "/health",
                            "pathPatterns": [f"/api{i}/*"]} for i in range(50)}
    jobs = {f"job{i}": {"service": f"api{i}", "schedule": "cron(0 3 * * ? *)"} for i in range(50)}
    rendering = render_config({"ecs-fargate:environment": "prod", "ecs-fargate:services": services,
                               "ecs-fargate:scheduledTasks": jobs})
    rules = [r for r in rendering.resources if r.type == LISTENER_RULE]
    assert len(rules) == 50 and len({r.inputs["priority"] for r in rules}) == 50
    assert _judge_rendering(rendering) == []


def test_the_pinned_botocore_describes_every_entry():
    assert aws_constraints.CATALOGUE.unresolved == ()


def test_an_entry_a_newer_botocore_no_longer_describes_is_left_out_not_fatal(tmp_path):
    """The library allows botocore >=1.44,<2: a renamed shape must cost that check only, not the
    import of every rule (and of another team's pack built on them)."""
    data = json.loads(aws_constraints.DATA_FILE.read_text())
    with_botocore = [entry for entry in data["constraints"] if entry.get("botocore")]
    renamed, reworded = with_botocore[0], next(e for e in with_botocore if "documentedValues" in e["botocore"])
    renamed["botocore"] = {**renamed["botocore"], "shape": "NoSuchShapeInANewerBotocore"}
    reworded["botocore"] = {**reworded["botocore"], "documentedValues": r"No longer written like this: (.*)"}
    path = tmp_path / "aws_constraints.json"
    path.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match=r"aws-api-constraints: 2 check\(s\) left out, botocore 1\.\d+\.\d+"):
        catalogue = aws_constraints.load_catalogue(path)
    assert {entry for entry, _ in catalogue.unresolved} == {renamed["id"], reworded["id"]}
    assert len(catalogue.constraints) == len(data["constraints"]) - 2
    assert "NoSuchShapeInANewerBotocore" in dict(catalogue.unresolved)[renamed["id"]]
