"""Samples/s of an eval with the model engine, serial path against batched path, in one run with the
project's own small model on the transformers backend (CPU by default):

    python bench/batched_generation.py [--problems 4] [-n 8] [--max-tokens 128] [--threads 1]

Both paths run ``run_eval`` over the same miniF2F-rocq problems, seeds and settings (one worker),
alternating ``--repeat`` times; each path's median run is reported:
``serial`` is the eval as it was, one ``generate`` call of one sequence per sample; ``batched`` gives
the engine a problem's n samples at once (``attempt_many``: one call of n sequences per round). The
checks go to a stand-in pool that refuses every proof at once, so the numbers are generation and the
engine's own work, not Coq's. Per-row seeds make both paths sample the same texts: the script checks
that the completion tokens agree. Prints a table; ``--json FILE`` writes it too.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from prover.evaluate.benchmarks import REGISTRY, BenchProblem, load_problems
from prover.evaluate.engines import ModelEngine, SampleOutcome
from prover.evaluate.run import EvalConfig, run_eval
from prover.evaluate.store import EvalStore
from prover.itp.base import CheckRequest, Message, Reason, Verdict
from prover.search.model_engine import ModelEngineConfig
from prover.train.model_init import init_model, project_corpus

REPO = Path(__file__).resolve().parents[1]


class RefusingPool:
    """Every check fails at once with a located error (the engine's path, not Coq's time)."""

    def submit(self, request: CheckRequest, timeout_s: float | None = None) -> Future[Verdict]:
        future: Future[Verdict] = Future()
        future.set_result(Verdict(False, Reason.ERROR, [Message("error", "stand-in pool", 1, 0)]))
        return future

    def check(self, request: CheckRequest, timeout_s: float | None = None) -> Verdict:
        return self.submit(request).result()


class SerialEngine:
    """The model engine as the eval drove it before batching: one ``attempt`` (one call) per sample."""

    def __init__(self, engine: ModelEngine) -> None:
        self.engine = engine

    @property
    def stats(self) -> Any:
        return self.engine.stats

    def attempt(self, problem: BenchProblem, pool: Any, budget_s: float, seed: int,
                workdir: Path) -> SampleOutcome:
        return self.engine.attempt(problem, pool, budget_s, seed, workdir)


def run_path(name: str, engine: Any, config: EvalConfig, problems: list[BenchProblem],
             db: Path) -> dict[str, Any]:
    bench = REGISTRY[config.benchmark]
    with EvalStore(db) as store:
        began = time.monotonic()
        summary = run_eval(config, bench, problems, RefusingPool(), store, name, progress=None,  # type: ignore[arg-type]
                           engine=engine)
        spent = time.monotonic() - began
        records = [r for digest in summary.hashes.values() for r in store.samples(digest)]
    tokens = sum(r.tokens for r in records)
    errors = [r.error for r in records if r.error]
    if errors:
        raise SystemExit(f"{name}: a sample failed: {errors[0]}")
    gen = summary.generation or {}
    return {"path": name, "samples": summary.done, "calls": gen.get("calls"),
            "sequences_per_call": gen.get("mean_sequences_per_call"), "tokens": tokens,
            "seconds": round(spent, 3), "samples_per_s": round(summary.done / spent, 3),
            "tokens_per_s": round(tokens / spent, 1)}


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--problems", type=int, default=4, help="miniF2F-rocq valid problems (default 4)")
    parser.add_argument("-n", type=int, default=8, help="samples per problem (default 8)")
    parser.add_argument("--rounds", type=int, default=0, help="revision rounds per sample (default 0)")
    parser.add_argument("--max-tokens", type=int, default=128, help="tokens per sample (default 128)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--max-batch", type=int, default=16, help="sequences per forward batch (default 16)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each path, alternating (default 3)")
    parser.add_argument("--json", type=Path, help="also write the table here")
    args = parser.parse_args()

    from prover.generate.hf import TransformersGenerator

    work = Path(tempfile.mkdtemp(prefix="bench-batched-"))
    model = init_model(work / "small", project_corpus(REPO), n_positions=1024)  # `prover model init`'s size
    generator = TransformersGenerator(str(model), device=args.device, threads=args.threads,
                                      max_batch=args.max_batch)
    problems = load_problems("minif2f-rocq", "valid", None, None, False)[: args.problems]
    config = EvalConfig("minif2f-rocq", "valid", ks=(1,), n=args.n, engine="model", model=str(model),
                        temperature=1.0, rounds=args.rounds, max_tokens=args.max_tokens, budget_s=3600,
                        workers=1)
    engine_config = ModelEngineConfig(k=1, rounds=args.rounds, max_tokens=args.max_tokens, seed=0)
    generator.generate(["Theorem t : True.\nProof.\n"], 2, 1.0, 0.95, 8, [], 0)  # warm-up
    # The paths alternate, each run afresh (a new store), and each path's median run is reported:
    # a load that comes and goes on the machine then weighs on both alike.
    runs: dict[str, list[dict[str, Any]]] = {"serial": [], "batched": []}
    for i in range(args.repeat):
        serial = SerialEngine(ModelEngine(generator, engine_config))
        runs["serial"].append(run_path("serial", serial, config, problems, work / f"s{i}.db"))
        batched = ModelEngine(generator, engine_config)
        runs["batched"].append(run_path("batched", batched, config, problems, work / f"b{i}.db"))
    generator.close()
    rows = [sorted(done, key=lambda r: r["samples_per_s"])[len(done) // 2] for done in runs.values()]
    speedup = rows[1]["samples_per_s"] / rows[0]["samples_per_s"]
    print(f"{len(problems)} problems x n = {args.n}, {args.max_tokens} tokens, rounds {args.rounds}, "
          f"{args.threads} thread(s), {args.device}; median of {args.repeat} alternating runs per path "
          f"(samples/s of each: {[r['samples_per_s'] for r in runs['serial']]} serial, "
          f"{[r['samples_per_s'] for r in runs['batched']]} batched)")
    print(f"{'path':<9}{'samples':>8}{'calls':>7}{'seq/call':>9}{'tokens':>8}{'seconds':>9}{'samples/s':>11}")
    for r in rows:
        print(f"{r['path']:<9}{r['samples']:>8}{r['calls']:>7}{r['sequences_per_call']:>9}{r['tokens']:>8}"
              f"{r['seconds']:>9}{r['samples_per_s']:>11}")
    same = len({r["tokens"] for done in runs.values() for r in done}) == 1
    print(f"speedup (samples/s): {speedup:.2f}x; the same tokens sampled on both paths: {same}")
    if args.json is not None:
        table = {"rows": rows, "runs": runs, "speedup": round(speedup, 3)}
        args.json.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
