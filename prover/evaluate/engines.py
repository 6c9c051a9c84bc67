"""The search engines an eval run can drive, behind one small interface: one ``attempt`` per sample.

``portfolio`` is the best-first tactic search of ``prover/search`` ordered by the table; ``step`` is
the same search ordered by a step-level policy model (``--model``: a causal LM trained on
state → tactic pairs, ``prover/search/policy.py``); ``model`` and ``hybrid`` run the model
engine (``prover/search/model_engine.py``; hybrid adds tool correction) on a generator the caller
made (``prover eval`` builds it from ``[generate]`` and ``--model``). This module is light to import
(the command line's parser reads ``ENGINES``); the search itself is
imported when an attempt runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from prover.evaluate.benchmarks import BenchProblem
    from prover.generate.base import Generator
    from prover.pool import CheckPool
    from prover.search.model_engine import ModelEngineConfig
    from prover.search.policy import Policy

ENGINES = ("portfolio", "step", "model", "hybrid")
MODEL_ENGINES = ("model", "hybrid")  # the engines that sample from a generator


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
        self, problem: BenchProblem, pool: CheckPool, budget_s: float, seed: int, workdir: Path
    ) -> SampleOutcome: ...


class PortfolioEngine:
    """The best-first tactic search (``prover/search``), ordered by ``policy`` (default: the table).
    Deterministic, so ``seed`` is unused. The detail keeps the proof's ranked steps: the next
    round's training data."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy

    def attempt(
        self, problem: BenchProblem, pool: CheckPool, budget_s: float, seed: int, workdir: Path
    ) -> SampleOutcome:
        from prover.search.portfolio import SearchConfig
        from prover.search.runner import Problem, prove

        config = SearchConfig(budget_s=budget_s)
        if self.policy is not None:
            config.policy = self.policy
        result = prove(Problem(problem.name, problem.statement), pool, config, workdir)
        detail = {
            "tactics": result.tactics,
            "rules": result.rules,
            "rejected": result.rejected,
            "attempts": len(result.attempts),
            "partial": result.partial,
            "goals_left": result.goals_left,
            "steps": [dataclasses.asdict(step) for step in result.steps],
        }
        proof = result.proof if result.proved else None
        return SampleOutcome(
            result.proved, proof, result.time_s, result.verify_time_s,
            technique=result.technique, error=result.error, detail=detail,
        )


class ModelEngine:
    """Sampled proofs revised from the checker's errors; hybrid when ``config.tool_correction``. Each
    attempt gets the sample's seed and budget. Eval workers share the one generator, so its calls are
    serialised (the checks of different workers still overlap)."""

    def __init__(self, generator: Generator, config: ModelEngineConfig) -> None:
        from prover.generate.base import SerialisedGenerator

        self.generator = SerialisedGenerator(generator)
        self.config = config

    def attempt(
        self, problem: BenchProblem, pool: CheckPool, budget_s: float, seed: int, workdir: Path
    ) -> SampleOutcome:
        from prover.search.model_engine import prove_with_model
        from prover.search.runner import Problem

        config = dataclasses.replace(self.config, seed=seed, budget_s=budget_s)
        found = prove_with_model(Problem(problem.name, problem.statement), self.generator, pool, config,
                                 workdir, problem.backend)
        summary = found.to_json()
        detail = {key: summary[key] for key in ("rounds", "revisions", "corrections", "reasons")}
        detail["attempts"] = len(found.attempts)
        return SampleOutcome(
            found.proved, found.proof, found.time_s, found.verify_time_s, tokens=found.tokens,
            technique=found.technique, error=found.error, detail=detail,
        )


def make_engine(
    name: str, generator: Generator | None = None, config: ModelEngineConfig | None = None,
    model: str | None = None,
) -> Engine:
    """The engine ``name``; a model engine needs the ``generator`` (and takes ``config``, whose
    ``tool_correction`` the name decides); the step engine needs the policy ``model``."""
    if name == "portfolio":
        return PortfolioEngine()
    if name == "step":
        if model is None:
            raise ValueError("the step engine needs a policy model (--model DIR, e.g. models/step-rocq)")
        from prover.search.policy import load_policy

        return PortfolioEngine(load_policy(model))
    if name in MODEL_ENGINES:
        if generator is None:
            raise ValueError(f"the {name} engine needs a model (--model or [generate] model)")
        from prover.search.model_engine import ModelEngineConfig

        chosen = config or ModelEngineConfig(k=1, rounds=0)
        return ModelEngine(generator, dataclasses.replace(chosen, tool_correction=name == "hybrid"))
    raise ValueError(f"unknown engine {name!r}; engines: {', '.join(ENGINES)}")
