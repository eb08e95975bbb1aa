"""The policy reference table of docs/policies.md, generated from the rules and the config files.

    PYTHONPATH=policies .venv/bin/python -m preflight.policy_reference docs/policies.md

(`make policy-table`, from the project root; `ecs_fargate_rules` imports from `policies/`, or
from wherever `pip install ./policies` put it). The levels are the effective ones per
environment, reconciled from `policies/config/ENV.json` by preflight exactly as the engine does
for `--policy-pack-config`, so the table cannot drift from what is enforced. This is a
repository tool that lives outside the pack: the pack itself never imports it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ecs_fargate_rules import ALL_POLICIES, ResourceRule, StackRule

from preflight.policy_engine import LoadedPack, load_pack, read_config_file, reconcile_config

ROOT = Path(__file__).resolve().parent.parent
PACK_DIR = ROOT / "policies"
ENVIRONMENTS = ("dev", "staging", "prod")


def config_file(environment: str) -> Path:
    """The `--policy-pack-config` file of an environment."""
    return PACK_DIR / "config" / f"{environment}.json"


@functools.cache
def _pack() -> LoadedPack:
    return load_pack(PACK_DIR)


def effective_settings(environment: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """policy name -> (enforcement level, config properties) in an environment."""
    return reconcile_config(_pack(), read_config_file(config_file(environment)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _level(settings: tuple[str, dict[str, Any]], defaults: Mapping[str, Any]) -> str:
    """The level, plus any config property that differs from the rule's default."""
    level, properties = settings
    changed = {k: v for k, v in properties.items() if defaults.get(k) != v}
    return level + "".join(f"<br>`{k}: {v}`" for k, v in sorted(changed.items()))


def _python_class(resource_type: str) -> str:
    """`aws:lb/listener:Listener` -> `aws.lb.Listener`, the name a Python program uses."""
    _, module, name = resource_type.split(":")
    return f"aws.{module.split('/')[0]}.{name}"


def _applies_to(policy: ResourceRule | StackRule) -> str:
    if isinstance(policy, StackRule):
        return "the whole stack"
    return ", ".join(f"`{_python_class(t)}`" for t in sorted(policy.checks))


def markdown_table(policies: Iterable[ResourceRule | StackRule] = ALL_POLICIES,
                   environments: Iterable[str] = ENVIRONMENTS) -> str:
    """A markdown table: policy, what it checks, its level in each environment, and why."""
    environments = list(environments)
    settings = {env: effective_settings(env) for env in environments}
    header = ["Policy", "Checks", "Applies to", *environments, "Why"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for policy in policies:
        schema = policy.config_schema.properties if policy.config_schema else {}
        defaults = {key: spec.get("default") for key, spec in schema.items()}
        control = policy.framework.reference if policy.framework else None
        name = f"`{policy.name}`" + (f" (Security Hub {control})" if control else "")
        row = [name, _cell(policy.description), _applies_to(policy),
               *(_level(settings[env][policy.name], defaults) for env in environments),
               _cell(policy.rationale)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


README_START = "<!-- policy-table:start -->\n"
README_END = "<!-- policy-table:end -->"


def readme_table(readme: str) -> str:
    """The table as it stands in a README, between the policy-table markers."""
    start = readme.index(README_START) + len(README_START)
    return readme[start:readme.index(README_END, start)]


def update_readme(path: Path) -> bool:
    """Rewrite the table in a markdown file from the rules; True when it changed."""
    readme = path.read_text()
    current = readme_table(readme)
    table = markdown_table()
    if current == table:
        return False
    start = readme.index(README_START) + len(README_START)
    path.write_text(readme[:start] + table + readme[start + len(current):])
    return True


if __name__ == "__main__":
    import sys

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "policies.md"
    changed = update_readme(path)
    print(f"{path} policy table updated" if changed else f"{path} policy table already up to date")
