"""What every command of the command line shares: the one-line usage error, settings from the flags,
a backend that is usable here, a pool that stops where the proof assistant is missing, reading a
user's file."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path

from prover.config import Settings, load_settings
from prover.generate.base import GenerationConfig, Generator
from prover.itp import get_backend
from prover.itp.base import Backend, BackendUnavailable, CheckRequest, Limits, Reason, Verdict
from prover.verify.batch import read_text
from prover.verify.pool import CheckPool, PoolStats, ordered_map


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


class RequireVerifier:
    """A ``CheckPool`` over ``pool`` whose first ``unavailable`` verdict raises ``BackendUnavailable``.

    The whole-proof engines sample, extract and statically check without the proof assistant; only
    a check needs it. Where it is missing no later check can succeed either, so the command stops at
    the first one instead of revising proofs from "not installed" errors or recording failures that
    say nothing about the proofs."""

    def __init__(self, pool: CheckPool) -> None:
        self.pool = pool
        self.limits: Limits = pool.limits
        self.stats: PoolStats = pool.stats

    def submit(self, request: CheckRequest, timeout_s: float | None = None) -> Future[Verdict]:
        inner = self.pool.submit(request, timeout_s)
        outer: Future[Verdict] = Future()

        def relay(done: Future[Verdict]) -> None:
            if done.cancelled():
                outer.cancel()
                return
            error = done.exception()
            if error is not None:
                outer.set_exception(error)
            else:
                try:
                    outer.set_result(_available(done.result()))
                except BackendUnavailable as exc:
                    outer.set_exception(exc)

        inner.add_done_callback(relay)
        return outer

    def check(self, request: CheckRequest, timeout_s: float | None = None) -> Verdict:
        return _available(self.pool.check(request, timeout_s))

    def map(self, requests: Iterable[CheckRequest], timeout_s: float | None = None) -> Iterator[Verdict]:
        return ordered_map(self.submit, requests, timeout_s)

    def close(self) -> None:
        self.pool.close()


def _available(verdict: Verdict) -> Verdict:
    if verdict.reason is Reason.UNAVAILABLE:
        said = verdict.detail or next((m.text for m in verdict.messages), "") or "no proof assistant"
        raise BackendUnavailable(" ".join(said.split()))
    return verdict


def verifier_missing(backend: str, exc: BackendUnavailable) -> str:
    """The one line a command ends with when the proofs it generated cannot be checked here."""
    return (f"a generated proof passed the static checks, but the {backend} verifier is not usable "
            f"here: {' '.join(str(exc).split())}")


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
