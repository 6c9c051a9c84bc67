"""Rankers trained with other seeds on the same training-pool steps as a shipped one, so that a
learned number (``step_vs_portfolio.py --model``) can be reported as a mean with its spread over
training seeds instead of one seed's luck.

    python bench/ranker_seeds.py --store models/step-rocq/research-eval.sqlite --seeds 0 1 2 \
        --out runs/ranker-seeds
    python bench/step_vs_portfolio.py --model runs/ranker-seeds/seed-1 --run step@2   # one per seed

Only the store's training-pool runs are read (its table searches of every split but the
held-out one, as ``ranker_folds.py`` reads them); each policy goes to OUT/seed-N/ with the number
of examples and problems it saw, and the script says whether seed 0 reproduces ``--compare``
(default models/step-rocq) weight for weight.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from ranker_folds import training_runs  # noqa: E402

from prover.evaluate.store import EvalStore  # noqa: E402
from prover.search.ranker import RankerConfig, RankerPolicy, RankExample, train_ranker  # noqa: E402
from prover.train.steps import proof_records, rank_examples  # noqa: E402


def training_examples(store_path: Path, heldout_split: str) -> tuple[int, list[RankExample]]:
    """The round-0 training pool's steps in the order the expert loop reads them (its table runs
    in the order they were made, each run's samples by problem): (problems, rank examples)."""
    with EvalStore(store_path) as store:
        records = [r for digest in training_runs(store, heldout_split)
                   for r in proof_records(store.samples(digest))]
    return len({r.problem for r in records}), rank_examples(records)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=REPO / "models" / "step-rocq" / "research-eval.sqlite",
                        help="an expert-iteration eval.sqlite (default: the shipped policy's)")
    parser.add_argument("--heldout-split", default="test", help="the split never read (default test)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "ranker-seeds", help="OUT/seed-N/")
    parser.add_argument("--compare", type=Path, default=REPO / "models" / "step-rocq",
                        help="a policy seed 0 should reproduce (default models/step-rocq)")
    args = parser.parse_args()
    if not args.store.is_file():
        print(f"ranker_seeds: no store at {args.store}", file=sys.stderr)
        return 2
    problems, examples = training_examples(args.store, args.heldout_split)
    print(f"{problems} proved training problems, {len(examples)} ranked steps")
    for seed in args.seeds:
        policy, numbers = train_ranker(examples, RankerConfig(seed=seed))
        out = args.out / f"seed-{seed}"
        policy.save(out, {"problems": problems})
        line = f"seed {seed}: {out} {numbers}"
        if seed == 0 and (args.compare / "ranker.npz").is_file():
            same = np.array_equal(RankerPolicy.load(args.compare).weights, policy.weights)
            line += f"; equals {args.compare}: {same}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
