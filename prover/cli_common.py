"""What every command of the command line shares: the one-line usage error, settings from the flags,
a backend that is usable here, reading a user's file."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from prover.batch import read_text
from prover.config import Settings, load_settings
from prover.generate.base import GenerationConfig, Generator
from prover.itp import get_backend
from prover.itp.base import Backend


class UsageError(Exception):
    """Bad input or environment: one line on stderr, exit 2."""


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command ``args.func`` with the command line's contract: exit 2 and one line on
    stderr for bad input, 130 when interrupted, never a traceback (``PROVER_DEBUG=1`` shows it)."""
    try:
        code: int = args.func(args)
        return code
    except UsageError as exc:
        print(f"prover: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("prover: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("PROVER_DEBUG"):
            raise
        print(f"prover: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


def generator_from(gen: GenerationConfig) -> Generator:
    """The generator ``gen`` names; bad settings, a missing package or a model that cannot be loaded
    are a ``UsageError``."""
    from prover.generate import make_generator

    try:
        return make_generator(gen)
    except (ValueError, RuntimeError, OSError) as exc:
        raise UsageError(str(exc).splitlines()[0]) from exc


def backend_from(name: str, settings: Settings, usable: bool = True) -> Backend:
    """The backend from settings; unless ``usable`` is False, one whose proof assistant is installed."""
    try:
        backend = get_backend(name, settings)
    except ImportError as exc:
        raise UsageError(f"backend {name} cannot be loaded: {exc}") from exc
    if not usable:
        return backend
    status = backend.availability()
    if not status.usable:
        raise UsageError(f"backend {name} is not usable here: {status.detail}")
    return backend


def settings_from(args: argparse.Namespace) -> Settings:
    try:
        settings = load_settings(args.config)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    for name in ("workers", "timeout_s", "memory_gib"):
        value = getattr(args, name, None)
        if value is not None:
            if value <= 0:
                raise UsageError(f"--{name.replace('_', '-').removesuffix('-s')} must be positive")
            setattr(settings.pool, name, value)
    if getattr(args, "no_sandbox", False):
        settings.rocq.sandbox = False
        settings.lean.sandbox = False
    return settings


def read_file(path: Path) -> str:
    """A user's file as text, or a one-line ``UsageError``."""
    try:
        return read_text(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
