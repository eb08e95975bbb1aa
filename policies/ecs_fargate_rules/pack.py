"""Build a CrossGuard policy pack from these rules in one call, as AWSGuard does
(`new AwsGuard({all: "mandatory"})`).

A team's own pack - `__main__.py` beside its `PulumiPolicy.yaml` - is then a few lines:

    from pathlib import Path

    from ecs_fargate_rules import build_pack, pack_version

    build_pack(name="platform", version=pack_version(Path(__file__).parent),
               levels={"all": "mandatory", "ecs-image-allowed-registries": "disabled"},
               config={"ecs-service-min-tasks": {"minimum": 3}},
               extra_policies=[my_own_policy])

`levels` and `config` become the pack's initial config, which the engine applies over each
rule's own level and schema defaults and under the `--policy-pack-config` file, as it does for
AWSGuard: a config file can still change any of them. `all` means every policy of the pack,
extra policies included (as in a config file); a policy named in `levels` keeps its own entry.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, PolicyPack

from . import ALL_POLICIES, PACK_ENFORCEMENT_LEVEL, PACK_NAME, POLICIES_BY_NAME

Level = EnforcementLevel | str
"""An enforcement level: the SDK's enum or its value ("advisory", "mandatory", ...)."""

LEVEL_NAMES = tuple(level.value for level in EnforcementLevel)


class PackConfigError(ValueError):
    """Arguments that do not describe a pack of these rules; the message lists every problem."""


def _did_you_mean(name: str, valid: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _level(value: Any, where: str, problems: list[str]) -> EnforcementLevel | None:
    if isinstance(value, EnforcementLevel):
        return value
    if isinstance(value, str) and value in LEVEL_NAMES:
        return EnforcementLevel(value)
    problems.append(f"{where}: {value!r} is not an enforcement level (valid: {', '.join(LEVEL_NAMES)})")
    return None


def _unknown(kind: str, name: str, valid: Iterable[str]) -> str:
    valid = list(valid)
    listed = ", ".join(valid) or "none"
    if name in POLICIES_BY_NAME:
        return f"{kind}: {name!r} is not in this pack (policies leaves it out); valid: {listed}"
    return f"{kind}: unknown policy {name!r}{_did_you_mean(name, valid)}; valid: {listed}"


def _select(policies: Iterable[str] | None, problems: list[str]) -> list[Policy]:
    if policies is None:
        return list(ALL_POLICIES)
    if isinstance(policies, str):
        problems.append(f"policies: expected a list of policy names, got the string {policies!r}")
        return []
    names = list(policies)
    selected = []
    for name in names:
        if name in POLICIES_BY_NAME:
            selected.append(POLICIES_BY_NAME[name])
        else:
            problems.append(_unknown("policies", str(name), POLICIES_BY_NAME))
    if not names:
        problems.append("policies: empty; leave it out (None) for every rule")
    # Keep the library's order, whatever order the names came in.
    return [policy for policy in ALL_POLICIES if policy in selected]


# PolicyPack's own rule for names (pulumi_policy.policy._POLICY_PACK_NAME_RE), checked here so the
# error comes with the others instead of as a TypeError from inside the SDK.
PACK_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_.-]{1,100}$")
_JSON_TYPES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
               "array": (list, tuple), "object": (Mapping,)}


def _value_problem(value: Any, schema: Mapping[str, Any]) -> str | None:
    """What the engine's JSON-schema check of a config value would refuse (type, enum, bounds),
    said now rather than when the CLI configures the pack."""
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    types = tuple(t for kind in kinds for t in _JSON_TYPES.get(kind, ()))
    wrong_bool = isinstance(value, bool) and "boolean" not in kinds
    if kinds and (not isinstance(value, types) or wrong_bool):
        return f"{value!r} is not {' or '.join(kinds)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{value!r} is not one of {', '.join(map(repr, schema['enum']))}"
    for bound, holds in (("minimum", lambda v, b: v >= b), ("maximum", lambda v, b: v <= b)):
        if bound in schema and isinstance(value, (int, float)) and not holds(value, schema[bound]):
            return f"{value!r} is out of range ({bound} {schema[bound]})"
    return None


def _config_entry(name: str, properties: Any, policy: Policy, problems: list[str]) -> dict[str, Any]:
    where = f"config[{name!r}]"
    if not isinstance(properties, Mapping):
        problems.append(f"{where}: expected a mapping of property names to values, got {properties!r}")
        return {}
    schema = policy.config_schema.properties if policy.config_schema else {}
    if not schema:
        problems.append(f"{where}: {name} takes no config (set its level in levels)")
        return {}
    entry = {}
    for key, value in properties.items():
        if key not in schema:
            problems.append(f"{where}: unknown property {key!r}{_did_you_mean(str(key), schema)}; "
                            f"valid: {', '.join(schema)}")
        elif problem := _value_problem(value, schema[key]):
            problems.append(f"{where}[{key!r}]: {problem}")
        else:
            entry[key] = value
    return entry


def pack_options(name: str = PACK_NAME, *, enforcement_level: Level = PACK_ENFORCEMENT_LEVEL,
                 levels: Mapping[str, Level] | Level | None = None,
                 config: Mapping[str, Mapping[str, Any]] | None = None,
                 policies: Iterable[str] | None = None, extra_policies: Iterable[Policy] = (),
                 **metadata: Any) -> dict[str, Any]:
    """The keyword arguments of `PolicyPack` for a pack of these rules, checked; `build_pack`
    constructs the pack from them. Nothing is started, so this is also what tests call.

    - `name`: the pack's name (the engine shows it with every violation).
    - `enforcement_level`: the level of a policy that sets none; every rule here sets its own,
      so this matters only for `extra_policies`.
    - `levels`: `{"all": level}` and/or `{policy name: level}`, over each rule's own level; a
      single level means `{"all": level}`.
    - `config`: `{policy name: {property: value}}`, over the defaults of the rule's schema
      (the engine validates the values against that schema when the pack is configured).
    - `policies`: the names of the rules to include (default: all of them, in library order).
    - `extra_policies`: the team's own `Policy` objects, added after these rules.
    - `metadata`: passed on to `PolicyPack` (description, display_name, readme, ...).

    Raises `PackConfigError` listing every unknown policy name (with the valid ones), invalid
    level, unknown config property and name clash at once.
    """
    problems: list[str] = []
    if not isinstance(name, str) or not PACK_NAME_PATTERN.match(name):
        problems.append(f"name: {name!r} is not a policy pack name (1 to 100 letters, digits, '-', '_', '.')")
    level = _level(enforcement_level, "enforcement_level", problems)
    selected = _select(policies, problems)
    if isinstance(levels, (str, EnforcementLevel)):
        levels = {"all": levels}  # one level for every policy, as AwsGuard({all: ...}) reads
    elif levels is not None and not isinstance(levels, Mapping):
        problems.append(f"levels: expected a level or {{policy name: level}}, got {levels!r}")
        levels = None
    if config is not None and not isinstance(config, Mapping):
        problems.append(f"config: expected {{policy name: {{property: value}}}}, got {config!r}")
        config = None
    if isinstance(extra_policies, (Policy, str)) or not isinstance(extra_policies, Iterable):
        problems.append(f"extra_policies: expected a list of Policy objects, got {extra_policies!r}")
        extra_policies = ()

    by_name = {policy.name: policy for policy in selected}
    for extra in extra_policies:
        if not isinstance(extra, Policy):
            problems.append(f"extra_policies: {extra!r} is not a pulumi_policy Policy")
        elif extra.name in POLICIES_BY_NAME:
            problems.append(f"extra_policies: {extra.name!r} is the name of one of the ecs-fargate rules; "
                            "give yours another name")
        elif extra.name in by_name:
            problems.append(f"extra_policies: two policies are named {extra.name!r}")
        else:
            by_name[extra.name] = extra
    all_policies = list(by_name.values())

    initial: dict[str, Any] = {}
    for key, value in (levels or {}).items():
        if key != "all" and key not in by_name:
            problems.append(_unknown("levels", str(key), ["all", *by_name]))
            continue
        parsed = _level(value, f"levels[{key!r}]", problems)
        if parsed is not None:
            initial[key] = parsed
    for key, properties in (config or {}).items():
        if key not in by_name:
            configurable = [p.name for p in all_policies if p.config_schema and p.config_schema.properties]
            problems.append(_unknown("config", str(key), configurable))
            continue
        policy = by_name[key]
        entry = _config_entry(key, properties, policy, problems)
        if entry:
            # The engine reads an initial-config entry without a level as advisory (proto3's
            # default) and applies it, so config alone would demote a mandatory rule: every
            # entry carries the level the policy has at that point.
            entry["enforcementLevel"] = initial.get(key) or initial.get("all") or policy.enforcement_level or level
            initial[key] = entry

    if problems:
        raise PackConfigError("the policy pack cannot be built:\n  " + "\n  ".join(problems))
    return {"name": name, "policies": all_policies, "enforcement_level": level,
            "initial_config": initial or None, **metadata}


def pack_version(pack_dir: str | Path) -> str:
    """The `version` of `PulumiPolicy.yaml` in `pack_dir`, read as the CLI reads it (a string,
    never a number)."""
    import yaml  # PyYAML comes with pulumi; only a pack's entry point needs it

    path = Path(pack_dir) / "PulumiPolicy.yaml"
    return str(yaml.load(path.read_text(), Loader=yaml.BaseLoader)["version"])


@contextmanager
def _reporting_version(version: str | None) -> Iterator[None]:
    """Make the SDK's analyzer report `version` instead of the "0.0.1" PolicyPack hard-codes.

    The CLI already shows PulumiPolicy.yaml's version in place of the pack's, but only in the
    fields it owns (GetAnalyzerInfo, each diagnostic's policyPackVersion); the SDK also writes
    the version into message text ("... from policy pack 'ecs-fargate@v0.0.1' during preview"),
    and anything talking to the pack directly sees it too. PolicyPack takes no version, so the
    analyzer it builds is given ours.
    """
    if version is None:
        yield
        return
    from pulumi_policy import policy as sdk

    sdk_servicer = sdk._PolicyAnalyzerServicer

    def servicer(name, _sdk_version, *args, **kwargs):
        return sdk_servicer(name, version, *args, **kwargs)

    sdk._PolicyAnalyzerServicer = servicer
    try:
        yield
    finally:
        sdk._PolicyAnalyzerServicer = sdk_servicer


def build_pack(name: str = PACK_NAME, *, version: str | None = None,
               enforcement_level: Level = PACK_ENFORCEMENT_LEVEL,
               levels: Mapping[str, Level] | Level | None = None,
               config: Mapping[str, Mapping[str, Any]] | None = None,
               policies: Iterable[str] | None = None, extra_policies: Iterable[Policy] = (),
               **metadata: Any) -> PolicyPack:
    """Construct the `PolicyPack` of these rules: the one call a pack's `__main__.py` makes.

    The arguments are `pack_options`'s, plus `version`: the pack's version as the analyzer
    reports it (pass `pack_version(PACK_DIR)`, PulumiPolicy.yaml's; without it the SDK says
    0.0.1 in its messages). Like `PolicyPack` itself, this starts the analyzer's gRPC server,
    prints its port and serves until interrupted, so under the engine it does not return.
    """
    options = pack_options(name, enforcement_level=enforcement_level, levels=levels, config=config,
                           policies=policies, extra_policies=extra_policies, **metadata)
    with _reporting_version(version):
        return PolicyPack(**options)
