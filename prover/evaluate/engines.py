"""The search engines an eval run can drive, behind one small interface: one ``attempt`` per sample.

Only ``portfolio`` (the tactic portfolio of ``prover/search``) exists; ``model`` and ``hybrid`` join
with the generation backend and plug in here. This module is light to import (the command line's
parser reads ``ENGINES``); the search itself is imported when an attempt runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from prover.evaluate.benchmarks import BenchProblem
    from prover.pool import VerifierPool

ENGINES = ("portfolio",)
PLANNED_ENGINES = ("model", "hybrid")  # join with the generation backend (prover/generate)


@dataclass
class SampleOutcome:
    """What an engine reports for one sample. ``proved`` only when the verifier pool certified
    ``proof``; ``tokens`` is what a model spent (0 for the portfolio)."""

    proved: bool
    proof: str | None
    time_s: float
    verify_time_s: float
    tokens: int = 0
    technique: str | None = None
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    def attempt(
        self, problem: BenchProblem, pool: VerifierPool, budget_s: float, seed: int, workdir: Path
    ) -> SampleOutcome: ...


class PortfolioEngine:
    """The best-first tactic portfolio (``prover/search``); deterministic, so ``seed`` is unused."""

    def attempt(
        self, problem: BenchProblem, pool: VerifierPool, budget_s: float, seed: int, workdir: Path
    ) -> SampleOutcome:
        from prover.search.portfolio import SearchConfig
        from prover.search.runner import Problem, prove

        config = SearchConfig(budget_s=budget_s)
        result = prove(Problem(problem.name, problem.statement), pool, config, workdir)
        detail = {
            "tactics": result.tactics,
            "rules": result.rules,
            "rejected": result.rejected,
            "attempts": len(result.attempts),
            "partial": result.partial,
            "goals_left": result.goals_left,
        }
        proof = result.proof if result.proved else None
        return SampleOutcome(
            result.proved, proof, result.time_s, result.verify_time_s,
            technique=result.technique, error=result.error, detail=detail,
        )


def make_engine(name: str) -> Engine:
    if name == "portfolio":
        return PortfolioEngine()
    raise ValueError(f"unknown engine {name!r}; engines: {', '.join(ENGINES)}")
