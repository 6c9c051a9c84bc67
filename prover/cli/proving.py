"""``prover prove``: find a proof of one statement (or of a batch) and print it, certified.

Glue between the command line and the search package: reading the inputs, streaming what the engine
tries to stderr, and the JSON/text output. Exit codes follow the contract: 0 proved, 1 not proved,
2 bad input or environment (raised by the caller as one-line errors).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tqdm import tqdm

from prover.itp.base import Backend
from prover.search.correction import Correction
from prover.search.language import search_language
from prover.search.policy import Policy
from prover.search.portfolio import SearchConfig
from prover.search.result import Attempt, SearchResult
from prover.search.runner import Problem, prove, repair
from prover.verify.pool import CheckPool

if TYPE_CHECKING:
    from prover.generate.base import Generator
    from prover.search.model_engine import ModelAttempt, ModelEngineConfig, ModelResult

# portfolio: tactic search; model: sampled proofs revised from the checker's errors; hybrid: model
# with tool correction of the sampled proofs' failing steps first
ENGINES = ("portfolio", "model", "hybrid")
EXTENSIONS = {".v": "rocq", ".lean": "lean", ".thy": "isabelle"}
_COMMENTS = {"rocq": ("(*", "*)"), "lean": ("/-", "-/"), "isabelle": ("(*", "*)")}


@dataclass
class Outcome:
    """What ``prover prove`` reports for one statement."""

    name: str
    search: SearchResult
    correction: Correction | None = None

    @property
    def proved(self) -> bool:
        return (self.correction is not None and self.correction.repaired) or self.search.proved

    @property
    def proof(self) -> str | None:
        if self.correction is not None and self.correction.repaired:
            return self.correction.proof
        return self.search.proof

    def to_json(self, engine: str, budget_s: float) -> dict[str, Any]:
        repairs = [] if self.correction is None else [r.to_json() for r in self.correction.repairs]
        attempts = self.search.attempts + ([] if self.correction is None else self.correction.attempts)
        time_s = self.search.time_s + (0.0 if self.correction is None else self.correction.time_s)
        repaired = self.correction is not None and self.correction.repaired
        return {
            "name": self.name,
            "proved": self.proved,
            "proof": self.proof,
            "engine": engine,
            "budget_s": budget_s,
            "technique": "tool correction" if repaired else self.search.technique,
            "tactics": self.search.tactics,
            "repairs": repairs,
            "attempts": [a.to_json() for a in attempts],
            "partial": self.search.partial,
            "goals_left": self.search.goals_left,
            "time_s": round(time_s, 3),
            "verify_time_s": round(self.search.verify_time_s, 3),
            "error": self.search.error,
        }


def prove_one(
    problem: Problem,
    pool: CheckPool,
    budget_s: float,
    start_from: str | None = None,
    stream: IO[str] | None = None,
    policy: Policy | None = None,
    backend: Backend | None = None,
) -> Outcome:
    """Tool correction of ``start_from`` first (when given; Rocq only), then the search with what is
    left of the budget, in ``backend``'s goal session (default: Rocq's), ordered by ``policy``
    (default: the table); ``stream`` receives one line per tactic tried."""
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="prover-prove-"))
    correction = None
    if start_from is not None:
        correction = repair(problem, start_from, pool, budget_s, workdir / "repair")
        if stream is not None:
            for r in correction.repairs:
                fixed = " ".join(r.replacement) or "nothing found"
                print(f"repair at line {r.line}: {r.failing!r} -> {fixed}", file=stream)
        if correction.repaired:
            return Outcome(problem.name, SearchResult(problem.name, time_s=0.0), correction)
    left = max(1.0, budget_s - (time.monotonic() - started))
    config = search_config(left, policy, backend)
    result = prove(problem, pool, config, workdir / "search", _printer(stream), backend)
    return Outcome(problem.name, result, correction)


def _printer(stream: IO[str] | None) -> Any:
    if stream is None:
        return None
    started = time.monotonic()

    def show(attempt: Attempt) -> None:
        goals = "" if attempt.goals_after is None else f" -> {attempt.goals_after} goal(s)"
        print(
            f"{time.monotonic() - started:7.2f}s  depth {attempt.depth}  {attempt.tactic}  "
            f"[{attempt.rule}] {attempt.outcome}{goals}",
            file=stream,
            flush=True,
        )

    return show


def print_outcome(
    outcome: Outcome, as_json: bool, engine: str, budget_s: float, language: str = "rocq"
) -> None:
    """The proof file, or why not as a comment of ``language`` (the output stays a file its proof
    assistant reads)."""
    start, end = _COMMENTS.get(language, _COMMENTS["rocq"])
    if as_json:
        print(json.dumps(outcome.to_json(engine, budget_s), ensure_ascii=False))
        return
    if outcome.proved and outcome.proof is not None:
        print(outcome.proof, end="")
        return
    search = outcome.search
    if search.error:
        print(f"{start} not proved: {search.error} {end}")
        return
    left = search.goals_left
    print(f"{start} not proved within {budget_s:g} s; best partial attempt, {left} goal(s) left: {end}")
    for tactic in search.partial:
        print(f"  {tactic}")


def search_config(
    budget_s: float, policy: Policy | None = None, backend: Backend | None = None
) -> SearchConfig:
    """The search's settings for ``backend``'s language (default: Rocq's): the table's order unless a
    step-level ``policy`` is given. ``ValueError`` for a backend with no goal-level session."""
    language = search_language("rocq" if backend is None else backend.name)
    config = SearchConfig(budget_s=budget_s, language=language)
    if policy is not None:
        config.policy = policy
    return config


def prove_batch(
    problems: list[Problem], pool: CheckPool, budget_s: float, workers: int, out: IO[str], progress: bool,
    policy: Policy | None = None, backend: Backend | None = None,
) -> int:
    """One JSON line per problem, in input order; returns how many were proved."""
    from prover.search.runner import prove_all

    engine = "portfolio" if policy is None else "step"
    proved = 0
    bar = tqdm(total=len(problems), unit="thm", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    with bar:
        config = search_config(budget_s, policy, backend)
        for result in prove_all(problems, pool, config, workers, backend=backend):
            outcome = Outcome(result.name, result)
            out.write(json.dumps(outcome.to_json(engine, budget_s), ensure_ascii=False) + "\n")
            out.flush()
            proved += outcome.proved
            bar.update(1)
            bar.set_postfix(proved=proved, refresh=False)
    return proved


def prove_model(
    problem: Problem,
    generator: Generator,
    pool: CheckPool,
    config: ModelEngineConfig,
    stream: IO[str] | None = None,
    language: str = "rocq",
) -> ModelResult:
    """The model (or, with ``config.tool_correction``, hybrid) engine on one statement in ``language``
    (a backend name); ``stream`` receives one line per attempt."""
    from prover.search.model_engine import prove_with_model

    started = time.monotonic()

    def show(a: ModelAttempt) -> None:
        of = "" if a.revision_of is None else f" of #{a.revision_of}"
        said = a.detail or next((m.text for m in a.messages if m.severity == "error"), "")
        why = "verified" if a.verified else f"{a.reason}: {' '.join(said.split())[:100]}"
        print(f"{time.monotonic() - started:7.2f}s  round {a.round}  #{a.index} {a.kind}{of}  "
              f"[{a.checked}] {why}", file=stream, flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="prover-model-"))
    return prove_with_model(problem, generator, pool, config, workdir, language,
                            None if stream is None else show)


def print_model_result(result: ModelResult, as_json: bool, engine: str, config: ModelEngineConfig) -> None:
    if as_json:
        data = {**result.to_json(), "engine": engine, "k": config.k, "max_rounds": config.rounds,
                "seed": config.seed, "temperature": config.temperature, "budget_s": config.budget_s}
        print(json.dumps(data, ensure_ascii=False))
    elif result.proved and result.proof is not None:
        print(result.proof, end="")
    else:
        reasons = ", ".join(f"{k} {v}" for k, v in result.to_json()["reasons"].items())
        why = f"generation failed: {result.error}; " if result.error else ""
        print(f"(* not proved: {why}{len(result.attempts)} attempt(s) in {result.rounds} round(s), "
              f"{result.revisions} revision(s), {result.corrections} tool correction(s); {reasons} *)")
