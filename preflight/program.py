"""A program and its stack as the CLI commands load and render them, failures as one message."""

from __future__ import annotations

import contextlib
import sys
import traceback
from pathlib import Path

import pulumi

from preflight.render import Rendering, render
from preflight.stack_config import StackConfig, StackConfigError, load_stack_config


class PreflightError(Exception):
    """Anything that stops preflight from judging the stack: reported as one message, exit 2."""


def _program_failure(error: BaseException, program_dir: Path) -> str:
    if isinstance(error, pulumi.RunError):
        return str(error)
    # Name the program's own line that failed, not the SDK's internals.
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve().is_relative_to(program_dir) and ".venv" not in f.filename]
    where = f" (at {Path(frames[-1].filename).relative_to(program_dir)}:{frames[-1].lineno})" if frames else ""
    return f"the program failed{where}: {type(error).__name__}: {error}"


def load_stack(program_dir: Path, stack: str) -> StackConfig:
    try:
        return load_stack_config(program_dir, stack)
    except StackConfigError as error:
        raise PreflightError(str(error)) from None


def require_program(program_dir: Path) -> None:
    if not (program_dir / "__main__.py").is_file():
        raise PreflightError(f"{program_dir}: no __main__.py (preflight runs Pulumi Python programs)")


def render_stack(program_dir: Path, stack: StackConfig, preview: bool = False) -> Rendering:
    """Run the program for the stack under mocks; its own prints go to stderr."""
    try:
        # The program's own prints must not mix with the report (or the JSON document).
        with contextlib.redirect_stdout(sys.stderr):
            return render(program_dir, project=stack.project, stack=stack.stack, config=stack.config,
                          secret_keys=stack.secret_keys, preview=preview)
    except Exception as error:  # noqa: BLE001 - reported as one message, exit 2
        message = _program_failure(error, program_dir)
        from preflight.render import LAST_NOT_EVALUATED
        if LAST_NOT_EVALUATED:
            # The program most likely failed on a component's missing outputs: say which.
            names = ", ".join(f"{n.type} {n.name} ({n.reason})" for n in LAST_NOT_EVALUATED)
            message += f"; preflight could not evaluate {names}"
        raise PreflightError(message) from None
