"""preflight diff: what deploying the working tree would change in a stack, against a git ref.

    python -m preflight diff --base GIT_REF --stack S [--cwd DIR] [--json]

Both trees are rendered under mocks, each in a process of its own (a program imports its own
modules, `components`, `settings`, and one process would keep the first tree's): the commit
GIT_REF, extracted with `git archive` into a temporary directory, and the working tree as it is.
What each program declares (its inputs, by URN) is compared:

- create / delete: a URN only in the working tree / only at GIT_REF;
- replace: a changed property its provider cannot update in place (replace_properties.json,
  each type's list taken from its provider's schema); types not listed there are updates;
- update: any other change. A property that carries an ARN, id or generated name of a replaced
  resource is shown "(known after replace)", and replaces its own resource if it must.

Secrets (Output.secret values, secret config) are shown as [secret], never echoed.
Exit status 0 whatever changes; 2 a bad ref, no git repository, a program that fails to render.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi.runtime import rpc

from preflight import ignore_changes
from preflight.program import PreflightError, load_stack, render_stack, require_program
from preflight.render import RenderedResource
from preflight.stack_config import SECRET_PLACEHOLDER, StackConfig, _full_key, _read_yaml

RENDER_COMMAND = "_render-for-diff"
"""The internal command each tree is rendered with: prints what the program declares as JSON."""
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
RULES = json.loads(Path(__file__).with_name("replace_properties.json").read_text())["types"]

OPS = ("replace", "update", "create", "delete")
SYMBOLS = {"replace": "+-", "update": "~", "create": "+", "delete": "-"}
SECRET = SECRET_PLACEHOLDER
KNOWN_AFTER_REPLACE = "(known after replace)"
KNOWN_AFTER_APPLY = "(known after apply)"
MAX_LINES = 25
"""Property lines shown per resource in the text report."""
_ABSENT = object()


# -- each tree's rendering, in its own process -------------------------------------------------

def _with_distinct_secrets(program_dir: Path, stack: StackConfig) -> StackConfig:
    """Secure values cannot be decrypted offline; each one's placeholder gets a digest of its
    ciphertext, so a changed secret changes what the program declares (shown as [secret])."""
    if not stack.secret_keys:
        return stack
    path = program_dir / f"Pulumi.{stack.stack}.yaml"
    raw = {_full_key(key, stack.project, path): value for key, value in (_read_yaml(path).get("config") or {}).items()}

    def tagged(value: Any, tag: str) -> Any:
        if isinstance(value, dict):
            return {k: tagged(v, tag) for k, v in value.items()}
        if isinstance(value, list):
            return [tagged(v, tag) for v in value]
        return tag if value == SECRET_PLACEHOLDER else value

    config = dict(stack.config)
    for key in stack.secret_keys:
        digest = hashlib.sha256(json.dumps(raw.get(key), sort_keys=True, default=str).encode()).hexdigest()[:12]
        config[key] = tagged(config[key], SECRET_PLACEHOLDER + digest)
    return dataclasses.replace(stack, config=config)


def _numbers(value: Any) -> Any:
    """Wire numbers are doubles: 3000.0 is shown as the 3000 the program wrote."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _regenerated(resource: RenderedResource) -> list[str]:
    """Values a replacement of the resource makes anew: its id, ARNs, DNS name and a name it did
    not declare (an autoname); a value it declares itself stays."""
    declared = {v for v in resource.wire_inputs.values() if isinstance(v, str)}
    keys = [k for k in resource.outputs if k.startswith("arn") or k == "dnsName"
            or (k == "name" and k not in resource.wire_inputs)]
    values = {resource.id, *(resource.outputs[k] for k in keys)}
    return sorted(v for v in values if isinstance(v, str) and len(v) >= 8 and v not in declared)


def render_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m preflight {RENDER_COMMAND}")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--cwd", required=True)
    args = parser.parse_args(argv)
    program_dir = Path(args.cwd).resolve()
    try:
        stack = _with_distinct_secrets(program_dir, load_stack(program_dir, args.stack))
        require_program(program_dir)
        rendering = render_stack(program_dir, stack)
    except PreflightError as error:
        print(f"preflight: {error}", file=sys.stderr)
        return 2
    json.dump([{"urn": r.urn, "type": r.type, "name": r.name, "custom": r.custom,
                "inputs": _numbers(r.wire_inputs), "dependencies": r.property_dependencies,
                "ignoreChanges": r.ignore_changes, "regenerated": _regenerated(r)}
               for r in rendering.resources if r.type != "pulumi:pulumi:Stack"], sys.stdout)
    return 0


def _render_trees(trees: dict[str, Path], stack: str) -> dict[str, dict[str, dict]]:
    """Each tree's declared resources by URN, rendered in parallel processes."""
    processes = {label: subprocess.Popen(
        [sys.executable, "-m", "preflight", RENDER_COMMAND, "--stack", stack, "--cwd", str(path)],
        cwd=PACKAGE_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for label, path in trees.items()}
    rendered = {}
    try:
        for label, process in processes.items():
            out, err = process.communicate()
            if process.returncode:
                lines = err.strip().splitlines() or [f"exit status {process.returncode}"]
                message = next((line.removeprefix("preflight: ") for line in reversed(lines)
                                if line.startswith("preflight: ")), lines[-1])
                raise PreflightError(f"{label}: {message}")
            rendered[label] = {r["urn"]: r for r in json.loads(out)}
    finally:
        for process in processes.values():  # the other tree's, after one failed
            if process.poll() is None:
                process.kill()
                process.communicate()
    return rendered


# -- the base tree -------------------------------------------------------------------------------

def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise PreflightError("git is not installed (preflight diff reads the base tree from git)") from None


def _extract_base(program_dir: Path, ref: str, into: Path) -> Path:
    """The program directory as it is at `ref`, extracted under `into`."""
    top = _git(program_dir, "rev-parse", "--show-toplevel")
    if top.returncode:
        raise PreflightError(f"{program_dir}: not in a git repository (preflight diff compares with a git ref)")
    commit = _git(program_dir, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if commit.returncode:
        raise PreflightError(f"--base {ref}: no such commit in {top.stdout.decode().strip()}")
    # From the top: in a subdirectory, git archive would take only that subdirectory's files.
    archive = _git(Path(top.stdout.decode().strip()), "archive", "--format=tar", commit.stdout.decode().strip())
    if archive.returncode:
        raise PreflightError(f"git archive {ref}: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / _git(program_dir, "rev-parse", "--show-prefix").stdout.decode().strip()


# -- comparing declarations ----------------------------------------------------------------------

@dataclass
class Diff:
    path: str
    old: Any
    new: Any


@dataclass
class Change:
    urn: str
    type: str
    name: str
    op: str
    diffs: list[Diff]


@dataclass
class DiffResult:
    stack: str
    base: str
    changes: list[Change]
    unchanged: int
    notes: list[str]


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def _document(value: Any) -> Any:
    """A string holding a JSON object or array (containerDefinitions, policies) as what it holds."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


def _join(path: str, key: str) -> str:
    step = f".{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"[{json.dumps(key)}]"
    return step.lstrip(".") if not path else path + step


def _diffs(old: Any, new: Any, path: str = "") -> list[Diff]:
    """The leaves where two declared values differ; a secret is one leaf."""
    old, new = _document(old), _document(new)
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict) and not (_is_secret(old) or _is_secret(new)):
        keys = list(new) + [k for k in old if k not in new]
        return [d for k in keys for d in _diffs(old.get(k, _ABSENT), new.get(k, _ABSENT), _join(path, k))]
    if isinstance(old, list) and isinstance(new, list):
        return [d for i in range(max(len(old), len(new)))
                for d in _diffs(old[i] if i < len(old) else _ABSENT, new[i] if i < len(new) else _ABSENT,
                                f"{path}[{i}]")]
    return [Diff(path, old, new)]


def _top(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def _forces_replacement(resource: dict, old_inputs: dict, diffs: list[Diff]) -> bool:
    rule = RULES.get(resource["type"]) if resource["custom"] else None
    if not rule:
        return False
    if any(_top(d.path) in rule["replace"] for d in diffs):
        return True
    return any({k for k in group if k in old_inputs} != {k for k in group if k in resource["inputs"]}
               for group in rule.get("replaceWhenSwitching", []))


def compare(old: dict[str, dict], new: dict[str, dict]) -> tuple[list[Change], int]:
    """The changes from `old` to `new` (declared resources by URN), and how many are unchanged."""
    def change(resource: dict, op: str, diffs: list[Diff]) -> Change:
        return Change(resource["urn"], resource["type"], resource["name"], op, diffs)

    changes: dict[str, Change] = {}
    for urn, resource in new.items():
        before = old.get(urn)
        if before is None:
            changes[urn] = change(resource, "create", [Diff(k, _ABSENT, v) for k, v in resource["inputs"].items()])
            continue
        # The inputs the engine diffs: each ignored path reset to its old value, as it does it.
        inputs, _ = ignore_changes.process(resource["inputs"], before["inputs"], resource["ignoreChanges"])
        diffs = _diffs(before["inputs"], inputs)
        if diffs:
            op = "replace" if _forces_replacement(resource, before["inputs"], diffs) else "update"
            changes[urn] = change(resource, op, diffs)
    for urn, resource in old.items():
        if urn not in new:
            changes[urn] = change(resource, "delete", [Diff(k, v, _ABSENT) for k, v in resource["inputs"].items()])

    # What depends on a replaced resource's ARN, id or autoname sees a new value at deploy time.
    pending = [urn for urn, c in changes.items() if c.op == "replace"]
    while pending:
        replaced = old[pending.pop()]
        for urn, resource in new.items():
            before = old.get(urn)
            inputs = before["inputs"] if before else {}
            carried = [p for p, sources in resource["dependencies"].items()
                       if replaced["urn"] in sources and p in inputs
                       and any(v in json.dumps(inputs[p]) for v in replaced["regenerated"])
                       and not any(_under(p, ignored) for ignored in resource["ignoreChanges"])]
            if not before or not carried:
                continue
            current = changes.setdefault(urn, change(resource, "update", []))
            current.diffs = ([d for d in current.diffs if _top(d.path) not in carried]
                             + [Diff(p, inputs[p], KNOWN_AFTER_REPLACE) for p in carried])
            if current.op == "update" and _forces_replacement(resource, inputs, current.diffs):
                current.op = "replace"
                pending.append(urn)
    ordered = sorted(changes.values(), key=lambda c: (OPS.index(c.op), c.type, c.name))
    return ordered, sum(1 for urn in new if urn in old and urn not in changes)


def run(base: str, stack: str, cwd: Path) -> DiffResult:
    program_dir = cwd.resolve()
    with tempfile.TemporaryDirectory(prefix="preflight-diff-") as tmp:
        base_dir = _extract_base(program_dir, base, Path(tmp))
        new_stack = not (base_dir / "Pulumi.yaml").is_file() or not (base_dir / f"Pulumi.{stack}.yaml").is_file()
        trees = {"working tree": program_dir, **({} if new_stack else {f"at {base}": base_dir})}
        rendered = _render_trees(trees, stack)
    notes = [f"Pulumi.{stack}.yaml does not exist at {base}: a new stack, every resource is a create."] \
        if new_stack else []
    changes, unchanged = compare(rendered.get(f"at {base}", {}), rendered["working tree"])
    return DiffResult(stack, base, changes, unchanged, notes)


# -- output ----------------------------------------------------------------------------------------

def _shown(value: Any) -> Any:
    """A declared value as the report shows it: secrets masked, unknowns named."""
    if value is _ABSENT:
        return None
    if _is_secret(value) or (isinstance(value, str) and SECRET in value):
        return SECRET
    if value == rpc.UNKNOWN:
        return KNOWN_AFTER_APPLY
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return value


def _pair(diff: Diff) -> tuple[Any, Any]:
    """Old and new as shown; a value that is or becomes secret is masked on both sides."""
    if _is_secret(diff.old) or _is_secret(diff.new):
        return tuple(None if v is _ABSENT else SECRET for v in (diff.old, diff.new))
    return _shown(_document(diff.old)), _shown(_document(diff.new))


def _json_diff(diff: Diff) -> dict:
    old, new = _pair(diff)
    return {"path": diff.path, "old": old, "new": new}


def to_json(result: DiffResult) -> str:
    return json.dumps({"stack": result.stack, "base": result.base, "changes": [
        {"urn": c.urn, "type": c.type, "name": c.name, "op": c.op, "diffs": [_json_diff(d) for d in c.diffs]}
        for c in result.changes]}, indent=2)


def _text(value: Any, width: int = 70) -> str:
    if value is None:
        return "(none)"
    if value in (SECRET, KNOWN_AFTER_REPLACE, KNOWN_AFTER_APPLY):
        return value
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else f"{text[:width // 2 - 1]}…{text[-(width // 2 - 1):]}"


def to_text(result: DiffResult) -> str:
    """GitHub markdown: a heading, the counts per operation, one ```diff block."""
    lines = [f"### preflight diff: stack `{result.stack}`, `{result.base}` → working tree", ""]
    if not result.changes:
        lines.append(f"No changes ({result.unchanged} resources).")
    else:
        counts = Counter(c.op for c in result.changes)
        lines += [" · ".join(f"**{counts[op]}** to {op}" for op in OPS) + f" · {result.unchanged} unchanged",
                  "", "```diff"]
        for c in result.changes:
            lines.append(f"{SYMBOLS[c.op]} {c.op} {c.type} {c.name}")
            if c.op not in ("update", "replace"):
                continue
            replacing = set(RULES.get(c.type, {}).get("replace", ())) if c.op == "replace" else set()
            for d in c.diffs[:MAX_LINES]:
                old, new = _pair(d)
                mark = " (forces replacement)" if _top(d.path) in replacing else ""
                lines.append(f"    {d.path}: {_text(old)} → {_text(new)}{mark}")
            if len(c.diffs) > MAX_LINES:
                lines.append(f"    … {len(c.diffs) - MAX_LINES} more")
        lines.append("```")
    for note in result.notes:
        lines += ["", f"> {note}"]
    lines += ["", "_Rendered offline under mocks: what the program declares, not the stack's real state._"]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight diff", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the git ref to compare with (a branch, tag, HEAD~1, a SHA)")
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml in both trees")
    parser.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    try:
        result = run(args.base, args.stack, Path(args.cwd))
    except PreflightError as error:
        if args.json:
            print(json.dumps({"stack": args.stack, "base": args.base, "error": str(error)}, indent=2))
        print(f"preflight: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(to_json(result))
        for note in result.notes:
            print(f"preflight: {note}", file=sys.stderr)
    else:
        print(to_text(result))
    return 0
