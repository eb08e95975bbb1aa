"""Preflight's output: a readable report, or one JSON document."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

from preflight.policy_engine import Diagnostic
from preflight.render import Rendering
from preflight.rollout import FARGATE_TASK_START_SECONDS, ServiceRollout, rollouts


@dataclass
class Result:
    rendering: Rendering
    environment: str | None
    pack_name: str
    policy_config: str | None
    preview: bool
    diagnostics: list[Diagnostic]

    @property
    def violations(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.skipped]

    @property
    def skipped(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.skipped]

    def count(self, level: str) -> int:
        return sum(1 for d in self.violations if d.enforcement_level == level)

    @cached_property
    def rollouts(self) -> list[ServiceRollout]:
        """Each ECS service's modeled deployment and rollback (preflight/rollout.py). Its
        timeout warnings leave the exit status alone (see there why)."""
        return rollouts(self.rendering)

    @property
    def exit_code(self) -> int:
        # A component preflight could not evaluate is not a pass: its children were never judged.
        return 1 if self.count("mandatory") or self.rendering.not_evaluated else 0


def _short(urn: str) -> str:
    """`TYPE NAME` of a URN, for humans."""
    parts = urn.split("::")
    return f"{parts[-2].split('$')[-1]} {parts[-1]}" if len(parts) >= 4 else urn


def to_json(result: Result) -> str:
    rendering = result.rendering
    return json.dumps({
        "project": rendering.project,
        "stack": rendering.stack,
        "environment": result.environment,
        "preview": result.preview,
        "policyPack": result.pack_name,
        "policyConfig": result.policy_config,
        "resources": [{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent}
                      for r in rendering.resources],
        "violations": [{"policy": d.policy, "enforcementLevel": d.enforcement_level, "urn": d.urn,
                        "message": d.message} for d in result.violations],
        "skipped": [{"policy": d.policy, "urn": d.urn, "message": d.message} for d in result.skipped],
        "notEvaluated": [{"urn": n.urn, "type": n.type, "name": n.name, "reason": n.reason}
                         for n in rendering.not_evaluated],
        "answeredWithNothing": list(rendering.unanswered_invokes),
        "rollout": [r.to_json() for r in result.rollouts],
        "summary": {"resources": len(rendering.resources), "mandatory": result.count("mandatory"),
                    "advisory": result.count("advisory"), "skipped": len(result.skipped),
                    "notEvaluated": len(rendering.not_evaluated)},
    }, indent=2)


def _tree(rendering: Rendering) -> list[str]:
    children: dict[str | None, list] = {}
    urns = {r.urn for r in rendering.resources}
    for resource in rendering.resources:
        parent = resource.parent if resource.parent in urns else None
        children.setdefault(parent, []).append(resource)
    lines: list[str] = []

    def walk(parent: str | None, prefix: str) -> None:
        kids = sorted(children.get(parent, []), key=lambda r: (r.type, r.name))
        for index, resource in enumerate(kids):
            last = index == len(kids) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            lines.append(f"{prefix}{branch}{resource.type} {resource.name}")
            walk(resource.urn, prefix + ("" if parent is None else ("   " if last else "│  ")))

    walk(None, "  ")
    return lines


def to_text(result: Result) -> str:
    rendering = result.rendering
    mode = "first preview (outputs unknown)" if result.preview else "update (outputs known)"
    lines = [
        f"Preflight {rendering.project}/{rendering.stack}: environment {result.environment or '-'}, "
        f"{mode}, policy pack {result.pack_name} with {result.policy_config or 'its default levels'}",
        "",
        f"Resources ({len(rendering.resources)})",
        *_tree(rendering),
    ]
    for level in ("mandatory", "advisory"):
        found = [d for d in result.violations if d.enforcement_level == level]
        if not found:
            continue
        lines += ["", f"{level.capitalize()} violations ({len(found)})"]
        for d in sorted(found, key=lambda d: (d.policy, d.urn)):
            lines.append(f"  [{d.policy}] {_short(d.urn)}")
            lines += [f"      {line}" for line in d.message.splitlines()]
    if result.skipped:
        lines += ["", f"Skipped: values unknown until deployment ({len(result.skipped)})"]
        for d in sorted(result.skipped, key=lambda d: (d.policy, d.urn)):
            lines.append(f"  [{d.policy}] {_short(d.urn)}: {d.message.split(': ', 1)[-1]}")
    if rendering.not_evaluated:
        lines += ["", f"Not evaluated: components preflight could not expand ({len(rendering.not_evaluated)})"]
        for n in rendering.not_evaluated:
            lines.append(f"  {n.type} {n.name}: {n.reason}; its children were not checked")
    if rendering.unanswered_invokes:
        lines += ["", f"Data sources answered with nothing ({len(rendering.unanswered_invokes)})"]
        lines += [f"  {token}" for token in rendering.unanswered_invokes]
    if result.rollouts:
        lines += ["", f"Rollout: modeled deployment and rollback per ECS service (task start assumed "
                      f"{FARGATE_TASK_START_SECONDS} s; AWS defaults: 300 s deregistration, 5 × 30 s health checks)"]
        lines += [f"  {r.line()}" for r in result.rollouts]
        lines += [f"  warning: {r.warning}" for r in result.rollouts if r.warning]
    if result.count("mandatory"):
        verdict = "FAILED: mandatory policy violations"
    elif rendering.not_evaluated:
        verdict = "FAILED: components not evaluated"
    else:
        verdict = "passed"
    not_evaluated = f", {len(rendering.not_evaluated)} not evaluated" if rendering.not_evaluated else ""
    lines += ["", f"Summary: {len(rendering.resources)} resources, {result.count('mandatory')} mandatory, "
                  f"{result.count('advisory')} advisory, {len(result.skipped)} skipped{not_evaluated}: {verdict}"]
    return "\n".join(lines)
