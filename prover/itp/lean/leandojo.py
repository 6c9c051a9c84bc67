"""LeanDojo adapter (the optional ``lean`` extra: ``pip install -e '.[lean]'`` in a checkout).

LeanDojo helps where the REPL backend does not: tracing a whole Lean repository into theorem and
tactic records (training data), and ``Dojo`` tactic interaction on a theorem of a traced repository.
It is a different stack from the REPL (its own instrumented build, pexpect, its own cache; see
``docs/protocols/lean-repl.md`` §7), tracing Mathlib takes hours, and it is deprecated upstream in
favour of LeanDojo-v2. A proof found through it still has to pass ``LeanBackend.check``: LeanDojo's
``ProofFinished`` does not check axioms or the statement.

Nothing here imports ``lean_dojo`` at module load, so the package works without it.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass
from types import ModuleType, TracebackType
from typing import Any

from prover.itp.base import BackendUnavailable

INSTALL_HINT = (
    "lean-dojo is not installed: pip install 'prover-itp[lean]' (in a checkout: pip install -e '.[lean]')"
)


def require_lean_dojo() -> ModuleType:
    try:
        return importlib.import_module("lean_dojo")
    except ImportError as exc:
        raise BackendUnavailable(INSTALL_HINT) from exc


@dataclass(frozen=True)
class TacticStep:
    tactic: str
    state_before: str
    state_after: str


@dataclass(frozen=True)
class TheoremRecord:
    """One traced theorem, as plain data (JSON-ready) for datasets and the problem store."""

    repo_url: str
    commit: str
    file_path: str
    full_name: str
    statement: str
    proof: str | None  # the tactic proof (``by ...``) when the theorem has one
    start_line: int
    end_line: int
    steps: tuple[TacticStep, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "steps": [asdict(step) for step in self.steps]}


def record_from_traced(traced: Any) -> TheoremRecord:
    """Convert a ``lean_dojo.TracedTheorem`` (read through its documented attributes only)."""
    theorem = traced.theorem
    return TheoremRecord(
        repo_url=str(theorem.repo.url),
        commit=str(theorem.repo.commit),
        file_path=str(theorem.file_path),
        full_name=str(theorem.full_name),
        statement=traced.get_theorem_statement(),
        proof=traced.get_tactic_proof(),
        start_line=int(traced.start.line_nb),
        end_line=int(traced.end.line_nb),
        steps=tuple(TacticStep(t.tactic, t.state_before, t.state_after) for t in traced.get_traced_tactics()),
    )


def trace_repository(url: str, commit: str, build_deps: bool = False) -> list[TheoremRecord]:
    """Trace a Lean 4 repository at ``commit`` (slow the first time; cached by LeanDojo)."""
    dojo = require_lean_dojo()
    traced_repo = dojo.trace(dojo.LeanGitRepo(url, commit), build_deps=build_deps)
    return [record_from_traced(t) for t in traced_repo.get_traced_theorems()]


@dataclass(frozen=True)
class DojoStep:
    """What one tactic did: ``state`` (goals remain), ``finished``, ``error`` or ``given_up`` (sorry)."""

    kind: str
    text: str  # the pretty-printed goals, or the error
    handle: Any = None  # LeanDojo's own state object, to continue from


_KINDS = {
    "TacticState": "state",
    "ProofFinished": "finished",
    "LeanError": "error",
    "ProofGivenUp": "given_up",
}


def step_from_result(result: Any) -> DojoStep:
    """Convert a LeanDojo ``TacticResult`` by its class (the classes live in the optional package)."""
    kind = _KINDS.get(type(result).__name__)
    if kind is None:
        raise TypeError(f"not a LeanDojo tactic result: {type(result).__name__}")
    text = {"state": "pp", "error": "error", "finished": "message"}.get(kind)
    return DojoStep(kind, str(getattr(result, text, "") or "") if text else "", result)


class DojoSession:
    """Tactic interaction with one theorem of a traced repository::

    with DojoSession(url, commit, "Mathlib/Foo.lean", "Foo.bar") as (session, start):
        step = session.run(start, "simp")
    """

    def __init__(self, url: str, commit: str, file_path: str, full_name: str, timeout_s: int = 600) -> None:
        dojo = require_lean_dojo()
        theorem = dojo.Theorem(dojo.LeanGitRepo(url, commit), file_path, full_name)
        self._dojo = dojo.Dojo(theorem, timeout=timeout_s)
        self._inner: Any = None

    def __enter__(self) -> tuple[DojoSession, DojoStep]:
        self._inner, initial = self._dojo.__enter__()
        return self, step_from_result(initial)

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._dojo.__exit__(kind, value, tb)

    def run(self, step: DojoStep, tactic: str) -> DojoStep:
        if step.kind != "state":
            raise ValueError(f"cannot run a tactic after a {step.kind} step")
        return step_from_result(self._inner.run_tac(step.handle, tactic))
