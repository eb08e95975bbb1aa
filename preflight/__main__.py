"""preflight: render a Pulumi Python program offline and run a policy pack on it.

    python -m preflight --stack prod [--cwd DIR] [--policy-pack DIR] [--policy-config FILE]
                        [--preview] [--json]
    python -m preflight diff --base GIT_REF --stack prod [--cwd DIR] [--json]   (see preflight/diff.py)

Exit status of the policy check: 0 no mandatory violation, 1 at least one (or a component
preflight could not expand, named under "Not evaluated"), 2 the program, its config or the pack
is broken (one message on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from preflight import diff
from preflight.policy_engine import (
    PolicyPackError, configure, evaluate, load_pack, read_config_file, reconcile_config,
)
from preflight.program import PreflightError, load_stack, render_stack, require_program
from preflight.report import Result, to_json, to_text

DEFAULT_PACK = Path(__file__).resolve().parent.parent / "policies"
ENVIRONMENT_KEY = "ecs-fargate:environment"
SUBCOMMANDS = {"diff": diff.main, diff.RENDER_COMMAND: diff.render_main}
"""`python -m preflight diff ...`; the other is the process `diff` renders each tree in."""


def _environment(config: dict, project: str) -> tuple[str, str | None]:
    """The key that names the stack's environment, and its value."""
    key = ENVIRONMENT_KEY if ENVIRONMENT_KEY in config else f"{project}:environment"
    value = config.get(key)
    return key, value if isinstance(value, str) else None


def _environment_policy_config(pack_dir: Path, key: str, environment: str) -> str:
    """The pack's config file for the environment (what CI passes as --policy-pack-config)."""
    path = pack_dir / "config" / f"{environment}.json"
    if not path.is_file():
        valid = ", ".join(sorted(p.stem for p in (pack_dir / "config").glob("*.json"))) or "none"
        raise PreflightError(f"{key}: {environment!r} has no policy config in the pack; valid: {valid} "
                             "(or pass --policy-config FILE)")
    return str(path)


def policy_config_for(args: argparse.Namespace) -> str:
    """The config file CI passes with --policy-pack-config: the stack's environment's file."""
    if args.policy_config:
        return args.policy_config
    stack = load_stack(Path(args.cwd), args.stack)
    key, environment = _environment(stack.config, stack.project)
    if not environment:
        raise PreflightError(f"stack {args.stack} sets no {ENVIRONMENT_KEY}; pass --policy-config FILE")
    return _environment_policy_config(Path(args.policy_pack), key, environment)


def run(args: argparse.Namespace) -> Result:
    program_dir = Path(args.cwd).resolve()
    stack = load_stack(program_dir, args.stack)
    require_program(program_dir)

    key, environment = _environment(stack.config, stack.project)
    pack_dir = Path(args.policy_pack).resolve()
    try:
        pack = load_pack(pack_dir)
    except PolicyPackError as error:
        raise PreflightError(str(error)) from None
    policy_config = args.policy_config
    no_policy_config = None
    if policy_config is None and environment:
        try:
            policy_config = _environment_policy_config(pack_dir, key, environment)
        except PreflightError as error:
            # The program may refuse the environment itself, with every other problem of its
            # config: that is the message to show, as `pulumi up` would.
            no_policy_config = error

    rendering = render_stack(program_dir, stack, preview=args.preview)
    if no_policy_config:
        raise no_policy_config
    try:
        file_config = read_config_file(policy_config) if policy_config else {}
        unknown = sorted(set(file_config) - set(pack.policy_names) - {"all"})
        if unknown:
            # The CLI ignores these silently; a typo here would silently disable a rule's config.
            print(f"warning: {policy_config} names policies the pack does not have: {', '.join(unknown)}",
                  file=sys.stderr)
        configure(pack, reconcile_config(pack, file_config))
    except PolicyPackError as error:
        raise PreflightError(str(error)) from None
    try:
        diagnostics = evaluate(pack, rendering)
    except Exception as error:  # noqa: BLE001 - a crashing rule is a broken pack, exit 2
        raise PreflightError(f"the policy pack crashed: {type(error).__name__}: {error}") from None
    return Result(rendering=rendering, environment=environment, pack_name=pack.name,
                  policy_config=policy_config, preview=args.preview, diagnostics=diagnostics)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]](argv[1:])
    parser = argparse.ArgumentParser(prog="python -m preflight", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")
    parser.add_argument("--policy-pack", default=str(DEFAULT_PACK), help="policy pack directory")
    parser.add_argument("--policy-config", help="CrossGuard config file (default: "
                                                "<pack>/config/<ecs-fargate:environment>.json)")
    parser.add_argument("--preview", action="store_true",
                        help="first-time preview: outputs of resources not yet created are unknown")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--print-policy-config", action="store_true",
                        help="only print the policy config file this stack uses (for `pulumi preview`)")
    args = parser.parse_args(argv)
    try:
        if args.print_policy_config:
            print(policy_config_for(args))
            return 0
        result = run(args)
    except PreflightError as error:
        if args.json:
            print(json.dumps({"stack": args.stack, "error": str(error)}, indent=2))
        print(f"preflight: {error}", file=sys.stderr)
        return 2
    print(to_json(result) if args.json else to_text(result))
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
