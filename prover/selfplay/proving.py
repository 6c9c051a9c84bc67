"""The prove stage: k samples per problem through the model engine (revisions from the checker's
errors, tool correction when the settings ask), the portfolio as a fallback teacher, everything
recorded in the store.

Problems run on a few threads (the checks overlap; the generator is shared and serialised). Each
problem's attempts, corrections and proof are written from the calling thread in one transaction,
so a resumed stage skips exactly the problems whose results are in the store and never half of one.
A proof row is filed only with a verdict the pool gave for exactly that text and the problem's
trusted statement: the proof found is checked once more (twice when that check fails, as a timeout
under load does), and when it still does not verify, its attempts are recorded as not verified and
the teacher takes over as for a problem the model missed.

A problem's rate comes from its attempts in the round alone, read the same way whether they were
just written or are read back by a resumed stage: proof rows are unique per text and keep the round
that first found it, so they cannot say what a later round proved.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.generate.base import Generator
from prover.itp.base import CheckRequest, Verdict
from prover.search.model_engine import ModelEngineConfig, ModelResult, prove_with_model
from prover.search.runner import Problem
from prover.store import AttemptRow, CorrectionRow, ProblemRow, Store
from prover.verify.pool import CheckPool


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
    attempted before are read back from the store), in the order of ``problems`` whatever order the
    threads finished in (the seeds a round picks depend on it)."""
    rates: dict[int, Rate] = {}
    todo: list[ProblemRow] = []
    for p in problems:
        assert p.id is not None
        done = store.attempts(round=job.round, problem_id=p.id, role="prover")
        if done:
            rates[p.id] = rate_of(done, job.engine.k)
        else:
            todo.append(p)
    scratch = Path(tempfile.mkdtemp(prefix="prover-selfplay-"))
    with ThreadPoolExecutor(max_workers=max(1, job.workers)) as threads:
        futures = {threads.submit(_prove_one, p, generator, pool, job, scratch): p for p in todo}
        for future in as_completed(futures):
            problem = futures[future]
            assert problem.id is not None
            rates[problem.id] = _record(store, problem, future.result(), job)
            if on_done is not None:
                on_done(problem, rates[problem.id])
    return {p.id: rates[p.id] for p in problems if p.id is not None}


def rate_of(attempts: Sequence[AttemptRow], k: int) -> Rate:
    """A problem's rate from its prover attempts of one round: the first ``k`` model samples, and
    whether a model attempt (any kind) or the teacher verified."""
    model = [a for a in attempts if a.engine != "portfolio"]
    first = sorted((a for a in model if a.kind == "prover"), key=lambda a: a.sample)[:k]
    by_model = any(a.verified for a in model)
    proved = by_model or any(a.verified for a in attempts if a.engine == "portfolio")
    return Rate(sum(a.verified for a in first), len(first), proved, by_model)


@dataclass
class _Outcome:
    """What proving one problem gave: the model's run, the teacher's (if it ran), and the proof that
    passed the final check with its verdict."""

    result: ModelResult
    teacher: Any = None
    proof: str | None = None
    verdict: Verdict | None = None
    technique: str | None = None
    winner: int | None = None  # the model attempt whose candidate is the proof
    refused: dict[str, Verdict] = field(default_factory=dict)  # verified once, not on the final check


_TECHNIQUES = {"prover": "sampled", "corrector": "revision", "tool_correction": "tool correction"}


def confirm(pool: CheckPool, proof: str, statement: str) -> Verdict:
    """The final check of a proof about to be filed; checked a second time when the first is not
    verified, since a timeout under load says nothing about the proof."""
    verdict = pool.check(CheckRequest(proof, statement))
    return verdict if verdict.verified else pool.check(CheckRequest(proof, statement))


def _prove_one(
    problem: ProblemRow, generator: Generator, pool: CheckPool, job: ProveJob, scratch: Path
) -> _Outcome:
    workdir = scratch / f"p{problem.id}"
    target = Problem(problem.name, problem.statement)
    out = _Outcome(prove_with_model(target, generator, pool, job.engine, workdir, problem.language))
    found = [a for a in out.result.attempts if a.verified]
    found.sort(key=lambda a: a.candidate != out.result.proof)  # the engine's proof first
    for a in found:
        if a.candidate in out.refused:
            continue
        verdict = confirm(pool, a.candidate, problem.statement)
        if verdict.verified:
            out.proof, out.verdict, out.winner = a.candidate, verdict, a.index
            out.technique = _TECHNIQUES.get(a.kind, a.kind)
            return out
        out.refused[a.candidate] = verdict
    if job.teacher_budget_s is not None and problem.language == "rocq":
        from prover.search.portfolio import SearchConfig
        from prover.search.runner import prove

        out.teacher = prove(target, pool, SearchConfig(budget_s=job.teacher_budget_s), workdir / "teacher")
        if out.teacher.proved:
            verdict = confirm(pool, out.teacher.proof, problem.statement)
            if verdict.verified:
                out.proof, out.verdict = out.teacher.proof, verdict
                out.technique = f"teacher: {out.teacher.technique}"
            else:
                out.refused[out.teacher.proof] = verdict
    return out


def _engine(job: ProveJob) -> str:
    return "hybrid" if job.engine.tool_correction else "model"


def _record(store: Store, problem: ProblemRow, out: _Outcome, job: ProveJob) -> Rate:
    """Write one problem's attempts, corrections and proof in one transaction."""
    assert problem.id is not None
    result, teacher = out.result, out.teacher
    rows = [_verdict_on(AttemptRow(
        round=job.round, role="prover", problem_id=problem.id, engine=_engine(job), sample=a.index,
        kind=a.kind, text=a.completion or a.candidate, candidate=a.candidate, verified=a.verified,
        model=job.model, prompt=None if a.prompt is None else result.prompts[a.prompt], reason=a.reason,
        errors=[m.to_json() for m in a.messages if m.severity == "error"],
        time_s=round(a.gen_time_s + a.check_time_s, 3), tokens=a.tokens,
    ), out.refused) for a in result.attempts]
    if teacher is not None:
        rows.append(_verdict_on(AttemptRow(
            round=job.round, role="prover", problem_id=problem.id, engine="portfolio", sample=0,
            kind="teacher", text=teacher.proof or "\n".join(teacher.partial or []), verified=teacher.proved,
            candidate=teacher.proof, reason=None if teacher.proved else (teacher.error or "not found"),
            time_s=round(teacher.time_s, 3),
        ), out.refused))
    with store.transaction():
        ids = store.add_attempts(rows)
        by_index = dict(zip((a.index for a in result.attempts), ids, strict=False))
        store.add_corrections([CorrectionRow(
            attempt_id=by_index[a.revision_of], revision_id=by_index[a.index],
            method="tool" if a.kind == "tool_correction" else "model", detail={"notes": a.notes},
        ) for a in result.attempts if a.revision_of is not None])
        if out.proof is not None and out.verdict is not None:
            attempt_id = by_index[out.winner] if out.winner is not None else ids[-1]
            request = CheckRequest(out.proof, problem.statement)
            store.add_proof(problem.id, request, out.verdict, problem.language, job.toolchain, job.round,
                            attempt_id, out.technique)
    return rate_of(rows, job.engine.k)


def _verdict_on(row: AttemptRow, refused: dict[str, Verdict]) -> AttemptRow:
    """``row`` as not verified when its candidate failed the final check: the rates read from the
    attempts then say "proved" exactly when a proof was filed."""
    verdict = refused.get(row.candidate or "") if row.verified else None
    if verdict is None:
        return row
    return dataclasses.replace(row, verified=False, reason=str(verdict.reason or "not verified"),
                               errors=[m.to_json() for m in verdict.messages if m.severity == "error"])
