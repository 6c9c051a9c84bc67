"""Running the search over many statements with N workers, each proof certified by the verifier pool.

Each worker thread owns one goal session at a time (a coqidetop or Lean REPL process: the heavy
work happens there, so threads suffice); the pool's own sessions certify what the workers find.
Which session a statement gets is the backend's: ``open_session`` dispatches on it, and the
search's ``SearchConfig.language`` must be the same proof assistant's.
"""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from prover.itp.base import Backend, BackendUnavailable, CheckRequest, Limits, Verdict
from prover.itp.goals import GoalSession
from prover.itp.rocq.goals import RocqGoalSession
from prover.itp.rocq.text import parse_statement
from prover.search.correction import Correction, correct
from prover.search.portfolio import SearchConfig, search
from prover.search.result import Attempt, SearchResult
from prover.search.tactics import EXTRA_IMPORTS, HAMMER_IMPORTS
from prover.verify.pool import CheckPool


class WorkerDirs:
    """One scratch folder per worker thread, made on first use: each worker's goal sessions live
    there, so concurrent sessions never share a sandbox's writable folder."""

    def __init__(self, prefix: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self._local = threading.local()
        self._count = itertools.count()
        self._lock = threading.Lock()

    def mine(self) -> Path:
        if not hasattr(self._local, "dir"):
            with self._lock:
                self._local.dir = self.root / f"worker-{next(self._count)}"
        path: Path = self._local.dir
        return path


@dataclass(frozen=True)
class Problem:
    name: str
    statement: str


def open_session(
    statement: str,
    workdir: Path,
    preamble: Sequence[str] = (),
    theorem: str | None = None,
    backend: Backend | None = None,
    limits: Limits | None = None,
) -> GoalSession:
    """A goal session on ``statement`` for ``backend`` (default: Rocq's). ``RuntimeError`` or
    ``ValueError`` when the statement cannot be opened; ``BackendUnavailable`` when the proof
    assistant is not installed. ``limits``: the pool's (memory), for a Lean REPL."""
    name = "rocq" if backend is None else backend.name
    if name == "rocq":
        return _open_rocq(statement, workdir, preamble, theorem)
    if name == "lean":
        from prover.itp.lean.backend import LeanBackend
        from prover.itp.lean.goals import open_lean_goal_session

        if preamble or theorem is not None:  # only tool correction asks, and it splits Rocq proofs
            raise ValueError("a Lean goal session opens the statement itself: no preamble")
        config = backend.config if isinstance(backend, LeanBackend) else None
        return open_lean_goal_session(statement, config, workdir, limits)
    raise ValueError(f"proof search needs a goal-level session, which the {name} backend does not have")


def _open_rocq(
    statement: str, workdir: Path, preamble: Sequence[str], theorem: str | None
) -> RocqGoalSession:
    """A session with the tactic libraries imported; fewer imports when a library clashes with the
    statement's header (then the tactics needing it simply fail). ``preamble`` and ``theorem`` are
    passed on (tool correction opens a proof at its failing step)."""
    last: Exception | None = None
    for extra in ((*EXTRA_IMPORTS, *HAMMER_IMPORTS), EXTRA_IMPORTS, ()):
        try:
            return RocqGoalSession(statement, extra, workdir=workdir, preamble=preamble, theorem=theorem)
        except RuntimeError as exc:
            last = exc
    raise RuntimeError(str(last))


def repair(
    problem: Problem,
    proof: str,
    pool: CheckPool,
    budget_s: float,
    workdir: Path,
    verdict: Verdict | None = None,
) -> Correction:
    """Tool correction of ``proof`` (see ``correction.py``), every candidate checked by ``pool``;
    ``verdict``: the pool's verdict on ``proof`` when the caller has it already."""
    name = theorem_name(problem.statement)

    def open_at(prefix: str, preamble: Sequence[str]) -> GoalSession:
        return open_session(prefix, workdir, preamble, name)

    return correct(proof, problem.statement, name, pool.check, open_at, budget_s, first=verdict)


def theorem_name(statement: str) -> str:
    """The name of the (first) theorem a statement states; raises ``ValueError`` when none."""
    return parse_statement(statement).targets[0].name


def prove(
    problem: Problem,
    pool: CheckPool,
    config: SearchConfig,
    workdir: Path,
    on_attempt: Callable[[Attempt], None] | None = None,
    backend: Backend | None = None,
) -> SearchResult:
    """Search for a proof of one statement in ``backend``'s goal session (default: Rocq's), every
    finished path certified by ``pool``; ``BackendUnavailable`` when the proof assistant is missing
    (that says nothing about the statement, so it is never a "not proved" result)."""
    started = time.monotonic()
    name = "rocq" if backend is None else backend.name
    if config.language.name != name:
        raise ValueError(f"a {config.language.name} search cannot run in a {name} goal session")

    def certify(proof: str) -> Verdict:
        return pool.check(CheckRequest(proof, problem.statement))

    try:
        session = open_session(problem.statement, workdir, backend=backend, limits=pool.limits)
    except BackendUnavailable:
        raise
    except (RuntimeError, ValueError) as exc:
        return SearchResult(problem.name, error=str(exc)[:500], time_s=time.monotonic() - started)
    try:
        # The budget covers opening the statement too: that is part of the per-theorem wall clock.
        left = config.budget_s - (time.monotonic() - started)
        local = dataclasses.replace(config, budget_s=left)
        result = search(session, problem.statement, problem.name, local, certify, on_attempt=on_attempt)
    finally:
        session.close()
    result.time_s = time.monotonic() - started
    return result


def prove_all(
    problems: Sequence[Problem],
    pool: CheckPool,
    config: SearchConfig,
    workers: int = 2,
    on_result: Callable[[SearchResult], None] | None = None,
    backend: Backend | None = None,
) -> Iterator[SearchResult]:
    """Results in input order (each worker proves one statement at a time, in ``backend``'s goal
    session: default Rocq's)."""
    dirs = WorkerDirs("prover-search-")

    def job(problem: Problem) -> SearchResult:
        result = prove(problem, pool, config, dirs.mine(), backend=backend)
        if on_result is not None:
            on_result(result)
        return result

    with ThreadPoolExecutor(max_workers=workers) as executor:
        yield from executor.map(job, problems)
