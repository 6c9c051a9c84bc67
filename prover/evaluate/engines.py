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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from prover.evaluate.benchmarks import BenchProblem
    from prover.generate.base import Generator
    from prover.generate.batching import GenerationStats
    from prover.search.model_engine import ModelEngineConfig, ModelResult
    from prover.search.policy import Policy
    from prover.verify.pool import CheckPool

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
    """One ``attempt`` per sample. An engine that also has ``attempt_many(problem, pool, budget_s,
    seeds, workdir) -> list[SampleOutcome]`` gets a problem's samples together (the model engines:
    one batch per round)."""

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
    sample is one run of the model engine with the sample's seed and budget. ``attempt_many`` steps a
    problem's samples together, so each round of all of them is one batch; eval workers share the one
    generator through a ``BatchingGenerator``, which merges the batches workers ask for at once (one
    worker's checks overlap another's generation). ``stats`` counts the backend calls and their sizes."""

    def __init__(self, generator: Generator, config: ModelEngineConfig) -> None:
        from prover.generate.batching import BatchingGenerator

        self.generator = BatchingGenerator(generator)
        self.config = config

    @property
    def stats(self) -> GenerationStats:
        return self.generator.stats

    def attempt(
        self, problem: BenchProblem, pool: CheckPool, budget_s: float, seed: int, workdir: Path
    ) -> SampleOutcome:
        return self.attempt_many(problem, pool, budget_s, [seed], workdir)[0]

    def attempt_many(
        self, problem: BenchProblem, pool: CheckPool, budget_s: float, seeds: Sequence[int], workdir: Path
    ) -> list[SampleOutcome]:
        """One outcome per seed, each what ``attempt`` with that seed would give (times aside)."""
        from prover.search.model_engine import prove_many
        from prover.search.runner import Problem

        configs = [dataclasses.replace(self.config, seed=seed, budget_s=budget_s) for seed in seeds]
        found = prove_many(Problem(problem.name, problem.statement), self.generator, pool, configs, workdir,
                           problem.backend)
        return [_outcome(result) for result in found]


def _outcome(found: ModelResult) -> SampleOutcome:
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
