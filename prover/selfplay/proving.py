"""The prove stage: k samples per problem through the model engine (revisions from the checker's
errors, tool correction when the settings ask), the portfolio as a fallback teacher, everything
recorded in the store.

Problems run on a few threads (the checks overlap; the generator is shared and serialised). Each
problem's attempts, corrections and proof are written from the calling thread in one transaction,
so a resumed stage skips exactly the problems whose results are in the store and never half of one.
A proof row is filed only with a verdict the pool gave for exactly that text and the problem's
trusted statement.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.generate.base import Generator
from prover.itp.base import CheckRequest
from prover.pool import CheckPool
from prover.search.model_engine import ModelEngineConfig, ModelResult, prove_with_model
from prover.search.runner import Problem
from prover.store import AttemptRow, CorrectionRow, ProblemRow, Store


@dataclass(frozen=True)
class ProveJob:
    """Where the stage's results go and how it samples."""

    round: int
    engine: ModelEngineConfig
    model: str  # the generator's identity, recorded with every attempt
    toolchain: str  # the backend's identity, recorded with every proof
    teacher_budget_s: float | None = None  # None: no portfolio teacher
    workers: int = 2


@dataclass(frozen=True)
class Rate:
    """How often the model's first k samples verified, and whether anything proved the problem."""

    verified: int
    total: int
    proved: bool  # by the model (any round, revisions included) or the teacher
    by_model: bool


def prove_problems(
    problems: Sequence[ProblemRow],
    generator: Generator,
    pool: CheckPool,
    store: Store,
    job: ProveJob,
    on_done: Callable[[ProblemRow, Rate], None] | None = None,
) -> dict[int, Rate]:
    """Prove each problem not yet attempted in ``job.round``; returns the rates of all of them (those
    attempted before are read back from the store)."""
    rates: dict[int, Rate] = {}
    todo: list[ProblemRow] = []
    for p in problems:
        assert p.id is not None
        done = store.attempts(round=job.round, problem_id=p.id, role="prover")
        if done:
            rates[p.id] = _rate_from_store(store, p.id, done, job)
        else:
            todo.append(p)
    scratch = Path(tempfile.mkdtemp(prefix="prover-selfplay-"))
    with ThreadPoolExecutor(max_workers=max(1, job.workers)) as threads:
        futures = {threads.submit(_prove_one, p, generator, pool, job, scratch): p for p in todo}
        for future in as_completed(futures):
            problem = futures[future]
            result, teacher = future.result()
            assert problem.id is not None
            rates[problem.id] = _record(store, pool, problem, result, teacher, job)
            if on_done is not None:
                on_done(problem, rates[problem.id])
    return rates


def _prove_one(
    problem: ProblemRow, generator: Generator, pool: CheckPool, job: ProveJob, scratch: Path
) -> tuple[ModelResult, Any]:
    workdir = scratch / f"p{problem.id}"
    target = Problem(problem.name, problem.statement)
    result = prove_with_model(target, generator, pool, job.engine, workdir, problem.language)
    teacher = None
    if not result.proved and job.teacher_budget_s is not None and problem.language == "rocq":
        from prover.search.portfolio import SearchConfig
        from prover.search.runner import prove

        teacher = prove(target, pool, SearchConfig(budget_s=job.teacher_budget_s), workdir / "teacher")
    return result, teacher


def _engine(job: ProveJob) -> str:
    return "hybrid" if job.engine.tool_correction else "model"


def _record(
    store: Store, pool: CheckPool, problem: ProblemRow, result: ModelResult, teacher: Any, job: ProveJob
) -> Rate:
    """Write one problem's attempts, corrections and (re-checked) proof in one transaction."""
    assert problem.id is not None
    first = [a for a in result.attempts if a.round == 0 and a.kind == "prover"]
    rows = [AttemptRow(
        round=job.round, role="prover", problem_id=problem.id, engine=_engine(job), sample=a.index,
        kind=a.kind, text=a.completion or a.candidate, candidate=a.candidate, verified=a.verified,
        model=job.model, prompt=None if a.prompt is None else result.prompts[a.prompt], reason=a.reason,
        errors=[m.to_json() for m in a.messages if m.severity == "error"],
        time_s=round(a.gen_time_s + a.check_time_s, 3), tokens=a.tokens,
    ) for a in result.attempts]
    proof_text, technique, winner = result.proof, result.technique, None
    if result.proved:
        winner = next(a.index for a in result.attempts if a.verified and a.candidate == result.proof)
    elif teacher is not None:
        rows.append(AttemptRow(
            round=job.round, role="prover", problem_id=problem.id, engine="portfolio", sample=0,
            kind="teacher", text=teacher.proof or "\n".join(teacher.partial or []), verified=teacher.proved,
            candidate=teacher.proof, reason=None if teacher.proved else (teacher.error or "not found"),
            time_s=round(teacher.time_s, 3),
        ))
        if teacher.proved:
            proof_text, technique = teacher.proof, f"teacher: {teacher.technique}"
    # The proof is checked once more, here, so the row rests on a verdict for exactly its text.
    verdict = None if proof_text is None else pool.check(CheckRequest(proof_text, problem.statement))
    with store.transaction():
        ids = store.add_attempts(rows)
        by_index = dict(zip((a.index for a in result.attempts), ids, strict=False))
        store.add_corrections([CorrectionRow(
            attempt_id=by_index[a.revision_of], revision_id=by_index[a.index],
            method="tool" if a.kind == "tool_correction" else "model", detail={"notes": a.notes},
        ) for a in result.attempts if a.revision_of is not None])
        if verdict is not None and verdict.verified and proof_text is not None:
            attempt_id = by_index[winner] if winner is not None else ids[-1]
            request = CheckRequest(proof_text, problem.statement)
            store.add_proof(problem.id, request, verdict, problem.language, job.toolchain, job.round,
                            attempt_id, technique)
    proved = verdict is not None and verdict.verified
    return Rate(sum(a.verified for a in first), len(first), proved, proved and winner is not None)


def _rate_from_store(store: Store, problem_id: int, done: Sequence[AttemptRow], job: ProveJob) -> Rate:
    first = [a for a in done if a.kind == "prover" and a.engine != "portfolio"][: job.engine.k]
    proofs = store.proofs(problem_id=problem_id, round=job.round)
    by_model = any(p.technique is not None and not p.technique.startswith("teacher") for p in proofs)
    return Rate(sum(a.verified for a in first), len(first), bool(proofs), by_model)

