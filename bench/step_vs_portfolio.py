"""The step engine against the portfolio on one split, in one run: the same search and candidates,
ordered by the learned policy or by the table, at the same budgets, every proof re-compiled by
plain ``coqc``.

    python bench/step_vs_portfolio.py --model models/step-rocq --split test --budget 30 --budget 10
    python bench/step_vs_portfolio.py --model models/step-rocq --limit 40 --budget 10   # a quick look
    python bench/step_vs_portfolio.py --model runs/expert/policy-1 --db runs/expert/eval.sqlite \
        --budget 30 --run step@10   # the research run's 30 s runs (from its store), the step engine at 10 s

Every sample goes to one SQLite file (``--db``), so an interrupted run resumes. Prints one row per
(engine, budget): solved, re-checked by coqc, and the problems only that engine solved at that
budget; the JSON (``--out``) has every problem's outcome.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from recheck_proofs import recheck, statement_of  # noqa: E402

from prover.evaluate.benchmarks import REGISTRY, load_problems  # noqa: E402
from prover.evaluate.engines import make_engine  # noqa: E402
from prover.evaluate.run import EvalConfig, run_eval  # noqa: E402
from prover.evaluate.store import EvalStore  # noqa: E402
from prover.itp.base import Limits  # noqa: E402
from prover.itp.rocq.backend import RocqBackend  # noqa: E402
from prover.verify.pool import VerifierPool  # noqa: E402


@dataclass
class Row:
    engine: str
    budget_s: float
    proofs: dict[str, str]  # problem -> its verified proof
    wall_s: float
    recheck_failed: list[str] = field(default_factory=list)
    only: list[str] = field(default_factory=list)  # solved by this engine alone at this budget


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the step-level policy (e.g. models/step-rocq)")
    parser.add_argument("--split", default="test", choices=("valid", "test"))
    parser.add_argument("--budget", type=float, action="append",
                        help="seconds per problem (repeat for several; default 30)")
    parser.add_argument("--run", action="append", metavar="ENGINE@SECONDS",
                        help="one engine at one budget, e.g. step@10 (repeat; adds to the --budget pairs)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, help="only the first N problems")
    parser.add_argument("--db", type=Path, default=REPO / "runs" / "step_vs_portfolio.sqlite")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "step_vs_portfolio.json")
    args = parser.parse_args()
    bench = REGISTRY["minif2f-rocq"]
    problems = load_problems(bench.name, args.split)[: args.limit or None]
    keys = {p.key for p in problems}
    backend = RocqBackend()
    rows: list[Row] = []
    with VerifierPool(backend, args.workers, Limits(timeout_s=60)) as pool, EvalStore(args.db) as store:
        pairs = [(name, budget) for budget in (args.budget or ([] if args.run else [30.0]))
                 for name in ("portfolio", "step")]
        for text in args.run or []:
            name, _, seconds = text.partition("@")
            if name not in ("portfolio", "step") or not seconds.replace(".", "", 1).isdigit():
                parser.error(f"--run {text!r}: want ENGINE@SECONDS with ENGINE portfolio or step")
            pairs.append((name, float(seconds)))
        for name, budget in pairs:
            model = args.model if name == "step" else None
            config = EvalConfig(benchmark=bench.name, split=args.split, engine=name, model=model,
                                budget_s=budget, workers=args.workers)
            started = time.monotonic()
            summary = run_eval(config, bench, problems, pool, store, backend.identity(), sys.stderr,
                               make_engine(name, model=model))
            proofs = {s.problem: s.proof for s in store.samples(summary.hashes[0])
                      if s.proved and s.proof and s.problem in keys}
            rows.append(Row(name, budget, proofs, round(time.monotonic() - started, 1)))
    with tempfile.TemporaryDirectory(prefix="prover-recheck-") as scratch:
        for row in rows:
            row.recheck_failed = [n for n, proof in row.proofs.items()
                                  if recheck(n, proof, statement_of(n, args.split), Path(scratch))]
    print(f"{'engine':<10} {'budget':>6} {'solved':>7} {'coqc':>5} {'only':>5}  of {len(problems)}")
    for row in rows:
        other = next((r for r in rows if r.budget_s == row.budget_s and r.engine != row.engine), None)
        row.only = [] if other is None else sorted(set(row.proofs) - set(other.proofs))
        only = "-" if other is None else str(len(row.only))
        print(f"{row.engine:<10} {row.budget_s:>6} {len(row.proofs):>7} "
              f"{len(row.proofs) - len(row.recheck_failed):>5} {only:>5}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary_rows = [{**asdict(r), "solved": len(r.proofs), "proofs": sorted(r.proofs)} for r in rows]
    args.out.write_text(json.dumps({"split": args.split, "model": args.model, "total": len(problems),
                                    "rows": summary_rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
