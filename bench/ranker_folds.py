"""Does the ranker learn an order that carries over to problems it did not train on? Measured on the
training pool only (never the held-out split): the proof steps of an expert-iteration store are
split by problem into folds; a ranker trained on the other folds ranks each step's candidates,
and the rank of the tactic the proof took is compared with its rank in the table's order.

    python bench/ranker_folds.py --store runs/expert/eval.sqlite --seeds 0 1 2

Prints, per training seed, the mean rank (1 = first) and the share ranked first, for the table and
for the ranker, over every held-out fold; then mean ± spread over the seeds. No proof assistant runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prover.evaluate.store import EvalStore  # noqa: E402
from prover.search.arguments import PRIORITY as ARGUMENT_PRIORITY  # noqa: E402
from prover.search.policy import MODEL_RULE, policy_costs  # noqa: E402
from prover.search.ranker import RankerConfig, RankerPolicy, RankExample, train_ranker  # noqa: E402
from prover.search.tactics import TABLE  # noqa: E402
from prover.train.steps import proof_records, rank_examples  # noqa: E402

# Base priorities of the argument rules (arguments.py adds 0.05 per position; the candidates'
# stored order keeps that order); a model-written candidate's as policy.py gives it.
_ARGUMENT_PRIORITY = {**ARGUMENT_PRIORITY, MODEL_RULE.name: MODEL_RULE.priority}
_PRIORITY = {**_ARGUMENT_PRIORITY, **{rule.name: rule.priority for rule in TABLE}}


def _priorities(example: RankExample) -> list[float]:
    return [_PRIORITY.get(rule, 3.0) for rule, _ in example.candidates]


def table_rank(example: RankExample) -> int:
    priorities = _priorities(example)
    order = sorted(range(len(priorities)), key=lambda i: (priorities[i], i))
    return order.index(example.chosen) + 1


def ranker_rank(policy: RankerPolicy, example: RankExample) -> int:
    scores = [float(x) for x in policy.scores(example.state, example.candidates)]
    costs = policy_costs(scores, _priorities(example), policy.config.scale, policy.config.table_weight)
    order = sorted(range(len(costs)), key=lambda i: (costs[i], i))
    return order.index(example.chosen) + 1


def training_runs(store: EvalStore, heldout_split: str) -> list[str]:
    """The store's round-0 training-pool runs, in the order they were made: its table searches of
    every split but the held-out one, which is never read."""
    rows = store.db.execute("SELECT config_hash, config FROM runs ORDER BY created").fetchall()
    return [digest for digest, text in rows
            if json.loads(text)["split"] != heldout_split and json.loads(text)["engine"] == "portfolio"]


def load_examples(store_path: Path, heldout_split: str) -> dict[str, list[RankExample]]:
    by_problem: dict[str, list[RankExample]] = {}
    with EvalStore(store_path) as store:
        for digest in training_runs(store, heldout_split):
            for sample in store.samples(digest):  # each proof's steps ranked as one list, as before
                examples = rank_examples(proof_records([sample]))
                by_problem.setdefault(sample.problem, []).extend(examples)
    return {p: e for p, e in by_problem.items() if e}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=REPO / "runs" / "expert" / "eval.sqlite",
                        help="an expert-iteration eval.sqlite")
    parser.add_argument("--heldout-split", default="test", help="the split never read (default test)")
    parser.add_argument("--folds", type=int, default=5, help="problem folds (default 5)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="ranker training seeds")
    args = parser.parse_args()
    if not args.store.is_file():
        print(f"ranker_folds: no store at {args.store}", file=sys.stderr)
        return 2
    by_problem = load_examples(args.store, args.heldout_split)
    problems = sorted(by_problem)
    print(f"{len(problems)} proved training problems, {sum(map(len, by_problem.values()))} ranked steps")
    per_seed = []
    for seed in args.seeds:
        table_ranks: list[int] = []
        ranks: list[int] = []
        for fold in range(args.folds):
            held = [p for i, p in enumerate(problems) if i % args.folds == fold]
            train = [e for p in problems if p not in held for e in by_problem[p]]
            policy, _ = train_ranker(train, RankerConfig(seed=seed))
            for p in held:
                for example in by_problem[p]:
                    table_ranks.append(table_rank(example))
                    ranks.append(ranker_rank(policy, example))
        row = {"seed": seed, "table_mean_rank": statistics.mean(table_ranks),
               "ranker_mean_rank": statistics.mean(ranks),
               "table_top1": sum(r == 1 for r in table_ranks) / len(ranks),
               "ranker_top1": sum(r == 1 for r in ranks) / len(ranks)}
        per_seed.append(row)
        print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    for key in ("ranker_mean_rank", "ranker_top1"):
        values = [r[key] for r in per_seed]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"{key}: {statistics.mean(values):.3f} ± {spread:.3f} over seeds {args.seeds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
