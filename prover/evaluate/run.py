"""The eval run: a search engine on every problem of a benchmark split, n samples per problem per
seed, every proof certified by ONE verifier pool, every sample committed to the SQLite store as
soon as it is known (an interrupted run resumes without redoing finished samples). A model engine
gets each problem's missing samples at once (``attempt_many``: one generation batch per round);
``workers`` problems run at a time, so one problem's checks overlap another's generation.

Each seed is its own run configuration (its own hash): pass@k is computed per seed and then
averaged, with the spread over seeds. Options that only choose what to run or report (k, n,
``--limit``, ``--only``, workers, output files) are not part of the hash, so a run can be extended
to more problems or samples later.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import IO, Any

from tqdm import tqdm

from prover.evaluate.benchmarks import Benchmark, BenchProblem
from prover.evaluate.engines import ENGINES, MODEL_ENGINES, Engine, SampleOutcome, make_engine
from prover.evaluate.store import EvalStore, SampleRecord
from prover.itp.base import BackendUnavailable
from prover.search.runner import WorkerDirs
from prover.verify.pool import CheckPool


@dataclass(frozen=True)
class EvalConfig:
    """What to run. ``ks``: the k of pass@k to report (each <= n); ``seeds``: one run each."""

    benchmark: str
    split: str
    ks: tuple[int, ...] = (1,)
    n: int = 1
    engine: str = "portfolio"
    model: str | None = None
    temperature: float | None = None  # None for the deterministic portfolio
    rounds: int = 0  # a model engine's revision rounds per sample (conjecture correction)
    max_tokens: int | None = None  # a model engine's most tokens per sampled proof (None: no model)
    # a model engine's prompts when not the defaults: "TEMPLATES/PROMPT_FORMAT" (a preset's name is its
    # template set), so that samples of another prompt never resume into this run
    prompts: str | None = None
    seeds: tuple[int, ...] = (0,)
    budget_s: float = 60.0
    workers: int = 2
    limit: int | None = None
    only: str | None = None

    def validate(self) -> None:
        """Raises ``ValueError`` (one line) for an inconsistent configuration."""
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; engines: {', '.join(ENGINES)}")
        if self.model is not None and self.engine == "portfolio":
            raise ValueError("--model needs a model-driven engine; the portfolio engine uses no model")
        if self.engine == "step" and self.model is None:
            raise ValueError("--engine step needs --model DIR (a step-level policy, e.g. models/step-rocq)")
        if self.engine in MODEL_ENGINES and self.model is None:
            raise ValueError(f"--engine {self.engine} needs --model DIR_OR_ID (or model in [generate])")
        if self.rounds < 0 or (self.rounds and self.engine not in MODEL_ENGINES):
            raise ValueError("--rounds takes a non-negative number, with a model-driven engine")
        if self.max_tokens is not None and (self.max_tokens < 1 or self.engine not in MODEL_ENGINES):
            raise ValueError("--max-tokens takes a positive number, with a model-driven engine")
        if self.n < 1:
            raise ValueError("-n must be at least 1")
        if not self.ks or min(self.ks) < 1:
            raise ValueError("-k must be at least 1")
        if max(self.ks) > self.n:
            k = max(self.ks)
            raise ValueError(f"pass@{k} needs at least {k} samples per problem (-n {k} or more)")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError("--seed values must be distinct")
        if self.budget_s <= 0:
            raise ValueError("--budget must be positive")
        if self.workers < 1:
            raise ValueError("--workers must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise ValueError("--limit must be at least 1")

    def run_config(self, bench: Benchmark, seed: int, backend_identity: str) -> dict[str, Any]:
        """The settings one seed's outcomes depend on: what the config hash is taken of."""
        config: dict[str, Any] = {
            "benchmark": bench.name,
            "port": bench.port,
            "split": self.split,
            "engine": self.engine,
            "model": self.model,
            "temperature": self.temperature,
            "budget_s": self.budget_s,
            "seed": seed,
            "backend": bench.backend,
            "backend_identity": backend_identity,
        }
        if self.engine in MODEL_ENGINES:  # (kept out of portfolio runs so their hashes stay put)
            config["rounds"] = self.rounds
            config["max_tokens"] = self.max_tokens
            if self.prompts is not None:  # (absent for the default prompts: their hashes stay put)
                config["prompts"] = self.prompts
        if self.engine in ("portfolio", "step"):
            from prover.search.portfolio import SEARCH_VERSION

            config["search_version"] = SEARCH_VERSION
        if self.engine == "step" and self.model is not None:
            from prover.generate.base import weights_version

            # Retrained weights in the same folder are another policy: never resume into its run.
            config["model_version"] = weights_version(self.model)
        return config


def config_hash(run_config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(run_config, sort_keys=True).encode()).hexdigest()[:16]


def engine_seed(seed: int, sample: int) -> int:
    """The seed the engine gets for one sample of one seed's run."""
    return (seed * 1_000_003 + sample) % (1 << 31)


def select(problems: Sequence[BenchProblem], only: str | None, limit: int | None) -> list[BenchProblem]:
    """Problems whose key or name starts with ``only``, the first ``limit`` of them."""
    chosen = [p for p in problems if only is None or p.key.startswith(only) or p.name.startswith(only)]
    if not chosen:
        raise ValueError(f"no problem matches --only {only!r}")
    return chosen[:limit] if limit else chosen


# -- the run -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """Samples of one problem in one seed's run: one sample, or every missing one for an engine with
    ``attempt_many`` (a model engine then samples them as one batch per round)."""

    problem: BenchProblem
    seed: int
    samples: tuple[int, ...]
    config_hash: str


@dataclass
class RunSummary:
    """What one invocation did (the report reads the outcomes back from the store)."""

    hashes: dict[int, str]  # seed -> config hash
    skipped: int  # samples already in the store
    done: int  # samples run by this invocation
    wall_s: float
    invocation: str
    generation: dict[str, Any] | None = None  # a model engine's backend calls and their sizes (this run)


def run_eval(
    config: EvalConfig,
    bench: Benchmark,
    problems: Sequence[BenchProblem],
    pool: CheckPool,
    store: EvalStore,
    backend_identity: str,
    progress: IO[str] | None = sys.stderr,
    engine: Engine | None = None,
    on_record: Callable[[SampleRecord], None] | None = None,
) -> RunSummary:
    """Run every missing sample of every problem for every seed; returns what was done."""
    engine = engine or make_engine(config.engine)
    many = getattr(engine, "attempt_many", None)
    invocation = uuid.uuid4().hex[:12]
    hashes: dict[int, str] = {}
    jobs: list[_Job] = []
    skipped = 0
    for seed in config.seeds:
        run_config = config.run_config(bench, seed, backend_identity)
        digest = config_hash(run_config)
        hashes[seed] = digest
        store.begin(digest, run_config)
        finished = store.finished(digest)
        for problem in problems:
            sha = problem.statement_sha
            todo = tuple(s for s in range(config.n) if finished.get((problem.key, s)) != sha)
            skipped += config.n - len(todo)
            if many is not None and todo:
                jobs.append(_Job(problem, seed, todo, digest))
            else:
                jobs.extend(_Job(problem, seed, (s,), digest) for s in todo)
    total = sum(len(job.samples) for job in jobs)
    solved = _solved_so_far(store, hashes, problems)
    started = time.monotonic()
    last = started  # each record is charged the wall time since the previous one
    bar = tqdm(
        total=skipped + total, initial=skipped, unit="sample", file=progress or sys.stderr,
        disable=progress is None, dynamic_ncols=True, desc=f"{bench.name}/{config.split}",
    )
    if skipped and progress is not None:
        bar.write(f"resuming: {skipped} sample(s) already recorded, {total} to run", file=progress)
    bar.set_postfix(solved=len(solved), refresh=False)
    dirs = WorkerDirs("prover-eval-")

    def work(job: _Job) -> list[SampleOutcome]:
        seeds = [engine_seed(job.seed, sample) for sample in job.samples]
        try:
            if many is not None:
                outcomes: list[SampleOutcome] = many(job.problem, pool, config.budget_s, seeds, dirs.mine())
                return outcomes
            return [engine.attempt(job.problem, pool, config.budget_s, seeds[0], dirs.mine())]
        except BackendUnavailable:  # no later sample could be checked either: stop, record nothing
            raise
        except Exception as exc:  # one problem's failure must not stop the run: record it
            error = f"internal: {type(exc).__name__}: {exc}"[:500]
            return [SampleOutcome(False, None, 0.0, 0.0, error=error) for _ in job.samples]

    done = 0
    with bar, ThreadPoolExecutor(max_workers=config.workers) as executor:
        pending: dict[Future[list[SampleOutcome]], _Job] = {}
        queue = iter(jobs)
        for job in queue:  # keep the executor's queue short so an interrupt loses little
            pending[executor.submit(work, job)] = job
            if len(pending) >= config.workers:
                break
        try:
            while pending:
                finished_now, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished_now:
                    job = pending.pop(future)
                    for sample, outcome in zip(job.samples, future.result(), strict=True):
                        rec = _record(job, sample, outcome, invocation)
                        store.record(job.config_hash, rec)
                        now = time.monotonic()
                        store.add_wall(job.config_hash, now - last)
                        last = now
                        done += 1
                        if rec.proved:
                            solved.add(job.problem.key)
                        bar.set_postfix(solved=len(solved), refresh=False)
                        bar.update(1)
                        if on_record is not None:
                            on_record(rec)
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[executor.submit(work, nxt)] = nxt
        finally:
            for future in pending:
                future.cancel()
    stats = getattr(engine, "stats", None)
    generation = None if stats is None else stats.to_json()
    return RunSummary(hashes, skipped, done, time.monotonic() - started, invocation, generation)


def _record(job: _Job, sample: int, outcome: SampleOutcome, invocation: str) -> SampleRecord:
    return SampleRecord(
        problem=job.problem.key,
        sample=sample,
        seed=job.seed,
        engine_seed=engine_seed(job.seed, sample),
        statement_sha=job.problem.statement_sha,
        proved=outcome.proved,
        proof=outcome.proof,
        time_s=outcome.time_s,
        verify_time_s=outcome.verify_time_s,
        tokens=outcome.tokens,
        technique=outcome.technique,
        error=outcome.error,
        detail=outcome.detail,
        invocation=invocation,
        finished=time.time(),
    )


def _solved_so_far(store: EvalStore, hashes: dict[int, str], problems: Sequence[BenchProblem]) -> set[str]:
    wanted = {p.key: p.statement_sha for p in problems}
    solved = set()
    for digest in hashes.values():
        for rec in store.samples(digest):
            if rec.proved and wanted.get(rec.problem) == rec.statement_sha:
                solved.add(rec.problem)
    return solved
