"""Expert iteration of a step-level prover (GPT-f, Polu et al. on miniF2F, BFS-Prover), measured on
problems nobody trained on.

Round 0 searches the training pool with the table's order (the portfolio); each later round
searches it with the policy trained on every step of every verified proof so far, and measures that
policy on the held-out split beside the baselines of the same budget: the same search ordered by
the table, a nearest-neighbour copy of training proofs, and the trivial tactics.

Every search is an eval run in one SQLite file (``eval.sqlite``, keyed by the run's settings), and
every policy a folder with its ``train_result.json``: an interrupted run resumes where it stopped,
and a resumed run equals an uninterrupted one (searches are deterministic; training is seeded).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prover.config import ExpertSettings, Settings
from prover.evaluate.benchmarks import REGISTRY, Benchmark, BenchProblem, load_problems, rocq_problem
from prover.evaluate.engines import make_engine
from prover.evaluate.run import EvalConfig, run_eval
from prover.evaluate.store import EvalStore
from prover.search.ranker import RANKER_FILE, RANKER_SETTINGS, RankerConfig, train_ranker
from prover.selfplay.baselines import Baselines, measure_baselines, theorem_body
from prover.train.learning import load_problems as load_seed_file
from prover.train.sft import TrainConfig, train
from prover.train.steps import StepRecord, init_step_model, proof_records, rank_examples, step_examples
from prover.verify.pool import CheckPool

SEEDS_BENCH = Benchmark("rocq-seeds", "rocq", "data/rocq-seeds", "rocq-seeds/problems.jsonl", "jsonl",
                        None, {}, None, "the project's own seed problems")


@dataclass
class RoundRow:
    round: int
    policy: str  # "table" or the policy folder
    train_proved: int
    train_total: int
    examples: int  # step examples the next policy trains on
    heldout_solved: int | None = None
    heldout_total: int = 0
    baselines: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0


class Expert:
    def __init__(self, config: ExpertSettings, pool: CheckPool, backend_identity: str,
                 progress: Any = sys.stderr, root: Path = Path()) -> None:
        self.config = config
        self.pool = pool
        self.identity = backend_identity
        self.progress = progress
        self.work = root / config.workdir
        self.root = root
        self.train_bench = REGISTRY[config.train_benchmark]
        self.heldout_bench = REGISTRY[config.heldout_benchmark]
        self.train_problems = self._limit(load_problems(config.train_benchmark, config.train_split))
        self.seed_problems = self._limit(self._seed_problems())
        self.heldout = self._limit(load_problems(config.heldout_benchmark, config.heldout_split))
        check_disjoint([*self.train_problems, *self.seed_problems], self.heldout)

    def _limit(self, problems: list[BenchProblem]) -> list[BenchProblem]:
        return problems[: self.config.limit] if self.config.limit else problems

    def _seed_problems(self) -> list[BenchProblem]:
        if not self.config.seeds_file:
            return []
        from prover.selfplay.loop import seeds_path  # relative: the working folder, else the checkout

        found = load_seed_file(seeds_path(str(self.root / self.config.seeds_file)), split="train")
        return [rocq_problem(p.name, "train", p.statement) for p in found]

    def log(self, text: str) -> None:
        if self.progress is not None:
            print(text, file=self.progress, flush=True)

    def policy_dir(self, round_: int) -> Path:
        return self.work / f"policy-{round_}"

    def search(self, bench: Benchmark, split: str, problems: Sequence[BenchProblem], budget_s: float,
               policy: Path | None, store: EvalStore) -> str:
        """Search ``problems`` (resuming a stored run of the same settings); returns its config hash."""
        model = None if policy is None else str(policy)
        engine_name = "portfolio" if policy is None else "step"
        config = EvalConfig(benchmark=bench.name, split=split, engine=engine_name, model=model,
                            budget_s=budget_s, workers=self.config.workers)
        engine = make_engine(config.engine, model=model)
        summary = run_eval(config, bench, problems, self.pool, store, self.identity, self.progress, engine)
        return summary.hashes[0]

    def train_records(self, store: EvalStore, hashes: Sequence[str]) -> list[StepRecord]:
        records: list[StepRecord] = []
        for digest in hashes:
            records += proof_records(store.samples(digest))
        heldout = {p.key for p in self.heldout}
        leaked = sorted({r.problem for r in records} & heldout)
        if leaked:  # cannot happen with disjoint sets; the guard keeps it that way
            raise RuntimeError(f"held-out problems in the training records: {', '.join(leaked[:5])}")
        return records

    def train_policy(self, round_: int, records: Sequence[StepRecord]) -> Path:
        out = self.policy_dir(round_)
        if (out / "train_result.json").is_file():
            return out
        if self.config.policy == "ranker":
            return self.train_ranker(out, records)
        base = self.work / f"policy-{round_}-init"
        init_step_model(base, records, seed=self.config.seed)  # a fresh model on every round's union
        c = self.config
        examples = step_examples(records)
        train(examples, str(base), out, TrainConfig(epochs=c.epochs, learning_rate=c.learning_rate,
                                                    batch_size=c.batch_size, max_length=c.max_length,
                                                    seed=c.seed, warmup_ratio=0.05), resume=True)
        return out

    def train_ranker(self, out: Path, records: Sequence[StepRecord]) -> Path:
        """A ranker trained from zero on every round's union (``train_result.json`` written last, so
        a kill mid-way leaves a folder the next run retrains)."""
        examples = rank_examples(records)
        policy, numbers = train_ranker(examples, RankerConfig(seed=self.config.seed))
        policy.save(out, {"problems": len({r.problem for r in records})})
        (out / "train_result.json").write_text(json.dumps(numbers, indent=2) + "\n")
        self.log(f"ranker {out.name}: {numbers}")
        return out

    def run(self, on_row: Callable[[RoundRow], None] | None = None) -> list[RoundRow]:
        self.work.mkdir(parents=True, exist_ok=True)
        rows: list[RoundRow] = []
        hashes: list[str] = []
        c = self.config
        with EvalStore(self.work / "eval.sqlite") as store:
            policy: Path | None = None
            for round_ in range(c.rounds + 1):
                started = time.monotonic()
                # A policy's held-out number first (it needs nothing of this round's search); round 0's
                # baselines need the training proofs (the nearest-neighbour copy), so they come last.
                heldout = None if round_ == 0 else self.heldout_solved(store, policy)
                digests = self.search_pool(round_, policy, store)
                hashes += digests
                records = self.train_records(store, hashes)
                proved = sum(s.proved for d in digests for s in store.samples(d))
                total = len(self.train_problems) + len(self.seed_problems)
                row = RoundRow(round_, str(policy) if policy else "table", proved, total,
                               len(step_examples(records)), heldout, len(self.heldout))
                trained = self.train_policy(round_ + 1, records) if round_ < c.rounds else None
                if round_ == 0:
                    row.baselines = self.baselines(store, digests)
                    row.heldout_solved = row.baselines["portfolio"]
                policy = trained
                row.wall_s = time.monotonic() - started
                rows.append(row)
                if on_row is not None:
                    on_row(row)
        (self.work / "rounds.json").write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
        last = rows[-1].policy if rows else "table"
        if c.export and last != "table":
            export_policy(Path(last), self.root / c.export, rows)
        return rows

    def search_pool(self, round_: int, policy: Path | None, store: EvalStore) -> list[str]:
        """The training pool searched with ``policy`` (the table in round 0); the runs' hashes."""
        c = self.config
        self.log(f"round {round_}: searching the training pool with {policy or 'the table'}")
        digests = [self.search(self.train_bench, c.train_split, self.train_problems, c.search_budget_s,
                               policy, store)]
        if self.seed_problems:
            digests.append(self.search(SEEDS_BENCH, "train", self.seed_problems, c.search_budget_s, policy,
                                       store))
        return digests

    def heldout_solved(self, store: EvalStore, policy: Path | None) -> int:
        c = self.config
        self.log(f"held-out: {c.heldout_split} with {policy or 'the table'}")
        digest = self.search(self.heldout_bench, c.heldout_split, self.heldout, c.eval_budget_s, policy,
                             store)
        return sum(s.proved for s in store.samples(digest))

    def baselines(self, store: EvalStore, round0: Sequence[str]) -> dict[str, int]:
        """The held-out baselines at the held-out budget; ``round0``: the table's training-pool runs,
        whose proofs the nearest-neighbour copy replays."""
        portfolio = self.heldout_solved(store, None)
        saved = self.work / "baselines.json"
        if saved.is_file():
            solved = Baselines(**json.loads(saved.read_text()))
        else:
            self.log("held-out: nearest-neighbour copy and trivial tactics")
            train = [*self.train_problems, *self.seed_problems]
            solved = measure_baselines(self.heldout, train, self.train_scripts(store, round0), self.pool,
                                       saved, self.config.workers)
        return {"portfolio": portfolio, **asdict(Baselines.counts(solved))}

    @staticmethod
    def train_scripts(store: EvalStore, digests: Sequence[str]) -> dict[str, list[str]]:
        """Each proved training problem's tactic script in the runs ``digests``."""
        return {sample.problem: list(sample.detail["tactics"]) for digest in digests
                for sample in store.samples(digest) if sample.proved and sample.detail.get("tactics")}


_POLICY_FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                 "tokenizer_config.json", "train_result.json", RANKER_FILE, RANKER_SETTINGS)


def export_policy(source: Path, target: Path, rows: Sequence[RoundRow]) -> None:
    """The final weights and tokenizer of ``source`` (no checkpoints, no optimizer state), with the
    round table that measured them: what ``prover eval --engine step --model TARGET`` loads."""
    import shutil

    target.mkdir(parents=True, exist_ok=True)
    for name in _POLICY_FILES:
        (target / name).unlink(missing_ok=True)  # an LM's files beside a ranker's would be misread
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
    (target / "rounds.json").write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")


def check_disjoint(train: Sequence[BenchProblem], heldout: Sequence[BenchProblem]) -> None:
    """Refuses a held-out problem that is also a training problem, by name or by statement."""
    names = {p.name for p in train} & {p.name for p in heldout}
    statements = {theorem_body(p.statement) for p in train} & {theorem_body(p.statement) for p in heldout}
    if names or statements:
        which = sorted(names)[:5] or "the same statements under other names"
        raise ValueError(f"held-out problems also in the training pool: {which}")


def table(rows: Sequence[RoundRow]) -> str:
    """The per-round Markdown table: training pool proved, examples, held-out beside its baselines."""
    lines = ["| round | policy | train proved | step examples | held-out solved | baselines (same budget) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        base = ", ".join(f"{k} {v}" for k, v in r.baselines.items()) or "(round 0)"
        lines.append(f"| {r.round} | {Path(r.policy).name} | {r.train_proved}/{r.train_total} | "
                     f"{r.examples} | {r.heldout_solved}/{r.heldout_total} | {base} |")
    return "\n".join(lines)


def run_expert(settings: Settings, progress: Any = sys.stderr) -> list[RoundRow]:
    """Expert iteration with ``settings.expert`` on a Rocq verifier pool; each round's row is
    printed to ``progress`` as it completes. Raises ``ValueError`` (one line) for bad settings."""
    from prover.itp import get_backend
    from prover.verify.pool import VerifierPool

    config = settings.expert
    config.validate()
    backend = get_backend("rocq", settings)
    with VerifierPool(backend, config.workers, settings.pool.limits()) as pool:
        expert = Expert(config, pool, backend.identity(), progress=progress)
        # Each round's row as it completes; without a progress stream only the caller's final table.
        def show(row: RoundRow) -> None:
            print(table([row]).splitlines()[-1], file=progress, flush=True)

        return expert.run(on_row=None if progress is None else show)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m prover.selfplay.expert --config configs/minif2f-rocq.toml`` (the same as
    ``prover selfplay --engine step --config …``)."""
    import argparse

    from prover.config import load_settings

    parser = argparse.ArgumentParser(prog="python -m prover.selfplay.expert", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True,
                        help="TOML settings file with an [expert] section (e.g. configs/minif2f-rocq.toml)")
    parser.add_argument("--rounds", type=int, help="override [expert] rounds")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        if args.rounds is not None:
            settings.expert.rounds = args.rounds
        rows = run_expert(settings)
    except ValueError as exc:
        print(f"prover expert: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
