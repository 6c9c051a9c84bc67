"""Does training help? The learning benchmark on data/rocq-seeds.

    python bench/learning.py                      # all 44 train / 22 heldout problems
    python bench/learning.py --families 4 -k 4    # a reduced run (the slow test's)

(a) the portfolio engine proves the train problems; each proof becomes a prover example whose
completion, read back by the extractor, the pool verifies; (b) a small model is made
(``init_model``; tokenizer corpus: the project's proofs plus the training proofs and examples);
(c) the untrained model alone proves what it can of the heldout problems (model engine, k samples,
no revision, no tool correction); (d) it is fine-tuned on the examples; (e) the trained model is
measured the same way (same k, same seed). Prints both as a table and writes everything as JSON
(default runs/learning.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prover.itp.base import Limits  # noqa: E402
from prover.itp.rocq.backend import RocqBackend  # noqa: E402
from prover.search.runner import Problem  # noqa: E402
from prover.train.learning import ModelPass, model_pass, portfolio_examples, tokenizer_corpus  # noqa: E402
from prover.train.model_init import init_model  # noqa: E402
from prover.train.sft import TrainConfig, train  # noqa: E402
from prover.verify.pool import VerifierPool  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--problems", type=Path, default=REPO / "data" / "rocq-seeds" / "problems.jsonl",
                   help="JSONL of {name, split, family, statement} (default data/rocq-seeds/problems.jsonl)")
    p.add_argument("--families", type=int, default=0, metavar="N",
                   help="only the first N families, in file order (default 0: all)")
    p.add_argument("-k", type=int, default=8, help="samples per heldout problem (default 8)")
    p.add_argument("--seed", type=int, default=0, help="sampling and training seed (default 0)")
    p.add_argument("--max-tokens", type=int, default=64, help="tokens per sample (default 64)")
    p.add_argument("--budget", type=float, default=20.0,
                   help="portfolio seconds per train problem (default 20)")
    p.add_argument("--workers", type=int, default=2, help="portfolio workers and pool sessions (default 2)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--vocab-size", type=int, default=1000, help="tokenizer vocabulary (default 1000)")
    p.add_argument("--layers", type=int, default=2, help="decoder layers (default 2)")
    p.add_argument("--dim", type=int, default=64, help="hidden size (default 64)")
    p.add_argument("--heads", type=int, default=4, help="attention heads (default 4)")
    p.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (default 2e-3)")
    p.add_argument("--batch-size", type=int, default=8, help="examples per step (default 8)")
    p.add_argument("--work", type=Path, help="where the two models go (default: a temporary folder)")
    p.add_argument("--json-out", type=Path, default=REPO / "runs" / "learning.json",
                   help="the JSON result (default runs/learning.json)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p.parse_args(argv)


def select(path: Path, families: int) -> tuple[list[Problem], list[Problem]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    order = list(dict.fromkeys(r.get("family", "") for r in rows))
    keep = set(order[:families]) if families > 0 else set(order)
    pick = [r for r in rows if r.get("family", "") in keep]
    train = [Problem(r["name"], r["statement"]) for r in pick if r["split"] == "train"]
    heldout = [Problem(r["name"], r["statement"]) for r in pick if r["split"] == "heldout"]
    return train, heldout


def row(name: str, result: ModelPass) -> str:
    rate = f"{100 * result.rate:8.1f}%"
    return f"| {name:<9} | {result.proved:>3}/{result.total:<3} | {rate} | {result.time_s:7.1f} |"


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    started = time.monotonic()
    train_set, heldout = select(args.problems, args.families)

    def say(text: str) -> None:
        if not args.quiet:
            print(text, file=sys.stderr, flush=True)

    timings: dict[str, float] = {}
    with VerifierPool(RocqBackend(), args.workers, Limits(timeout_s=30)) as pool:
        found = portfolio_examples(train_set, pool, args.budget, args.workers)
        timings["portfolio_s"] = found.time_s
        say(f"(a) portfolio: {len(found.proofs)}/{len(train_set)} train problems proved, "
            f"{len(found.examples)} examples ({found.time_s:.1f} s); dropped: {found.dropped or 'none'}")
        t = time.monotonic()
        model = init_model(work / "untrained", tokenizer_corpus(REPO, found), vocab_size=args.vocab_size,
                           n_layer=args.layers, n_embd=args.dim, n_head=args.heads, n_positions=512,
                           seed=args.seed)
        timings["init_s"] = time.monotonic() - t
        say(f"(b) small model made ({timings['init_s']:.1f} s)")

        def measure(path: Path) -> ModelPass:
            return model_pass(path, heldout, pool, k=args.k, seed=args.seed, max_tokens=args.max_tokens,
                              threads=args.threads, device="cpu")

        before = measure(model)
        say(f"(c) untrained: {before.proved}/{before.total} ({before.time_s:.1f} s)")
        config = TrainConfig(max_steps=args.steps, learning_rate=args.lr, batch_size=args.batch_size,
                             warmup_ratio=0.1, seed=args.seed, threads=args.threads, device="cpu",
                             max_length=512)
        trained = train(found.examples, str(model), work / "trained", config, progress=not args.quiet)
        timings["train_s"] = trained.time_s
        loss = trained.final_loss or 0.0
        say(f"(d) trained {trained.steps} steps, final loss {loss:.4f} ({trained.time_s:.1f} s)")
        after = measure(work / "trained")
        say(f"(e) trained: {after.proved}/{after.total} ({after.time_s:.1f} s)")
    timings["untrained_eval_s"], timings["trained_eval_s"] = before.time_s, after.time_s
    timings["total_s"] = time.monotonic() - started
    print("| model     | proved  | pass rate | time s  |\n|-----------|---------|-----------|---------|")
    print(row("untrained", before))
    print(row("trained", after))
    print(f"\n{len(train_set)} train problems ({len(found.examples)} examples), {len(heldout)} heldout; "
          f"k={args.k}, seed {args.seed}; total {timings['total_s']:.0f} s")
    return {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "train_problems": len(train_set), "heldout_problems": len(heldout),
        "portfolio": {"proved": sorted(found.proofs), "unproved": found.unproved, "dropped": found.dropped,
                      "examples": len(found.examples)},
        "untrained": {"proved": before.proved, "total": before.total, "rate": before.rate,
                      "results": before.results},
        "trained": {"proved": after.proved, "total": after.total, "rate": after.rate,
                    "results": after.results},
        "training": {"steps": trained.steps, "final_loss": trained.final_loss, "losses": trained.losses},
        "timings": {k: round(v, 2) for k, v in timings.items()},
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        result = run(args, args.work)
    else:
        with tempfile.TemporaryDirectory(prefix="prover-learning-") as tmp:
            result = run(args, Path(tmp))
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"written: {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
