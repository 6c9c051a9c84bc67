"""The symbolic search baseline on miniF2F-rocq: how many statements it proves, each proof certified.

    python bench/search_minif2f.py --split valid --workers 2 --budget 30
    python bench/search_minif2f.py --only mathd_algebra --limit 20 --budget 10

Prints solved/total, wall time and which technique closed what per category, and writes the
per-problem results (proof, attempts) as JSON under runs/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prover.itp.base import Limits  # noqa: E402
from prover.itp.rocq.backend import RocqBackend  # noqa: E402
from prover.search.portfolio import SearchConfig  # noqa: E402
from prover.search.result import SearchResult  # noqa: E402
from prover.search.runner import Problem, prove_all  # noqa: E402
from prover.verify.pool import VerifierPool  # noqa: E402

DATA = REPO / "data" / "minif2f-rocq"
CATEGORIES = ("mathd_algebra", "mathd_numbertheory", "amc12", "aime", "imo", "induction", "algebra",
              "numbertheory")


def category(name: str) -> str:
    return next((c for c in CATEGORIES if name.startswith(c)), "other")


def load(split: str, data: Path, only: str | None, limit: int | None) -> list[Problem]:
    files = sorted((data / split).glob("*.v"))
    problems = [Problem(f.stem, f.read_text()) for f in files if only is None or f.stem.startswith(only)]
    return problems[:limit] if limit else problems


def table(results: list[SearchResult]) -> str:
    by_cat: dict[str, list[SearchResult]] = defaultdict(list)
    for r in results:
        by_cat[category(r.name)].append(r)
    lines = [f"{'category':<20} {'solved':>8}  techniques (closing rule: count)"]
    for cat in sorted(by_cat):
        rs = by_cat[cat]
        solved = [r for r in rs if r.proved]
        techniques = Counter(r.technique or "?" for r in solved)
        detail = ", ".join(f"{t}: {n}" for t, n in techniques.most_common())
        lines.append(f"{cat:<20} {len(solved):>3}/{len(rs):<4}  {detail}")
    total = Counter(r.technique or "?" for r in results if r.proved)
    lines.append(f"{'all':<20} {sum(r.proved for r in results):>3}/{len(results):<4}  "
                 + ", ".join(f"{t}: {n}" for t, n in total.most_common()))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", default="valid", choices=("valid", "test"))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per theorem")
    parser.add_argument("--only", help="only problems whose name starts with this")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path, help="JSON path (default: runs/search_<split>_<time>.json)")
    args = parser.parse_args()
    problems = load(args.split, args.data, args.only, args.limit)
    if not problems:
        print(f"no statements under {args.data / args.split}", file=sys.stderr)
        return 2
    out = args.out or REPO / "runs" / f"search_{args.split}_{time.strftime('%Y%m%d_%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    config = SearchConfig(budget_s=args.budget)
    started = time.monotonic()
    results: list[SearchResult] = []
    with VerifierPool(RocqBackend(), workers=args.workers, limits=Limits(timeout_s=60)) as pool, tqdm(
        total=len(problems), unit="thm"
    ) as bar:
        for result in prove_all(problems, pool, config, workers=args.workers):
            results.append(result)
            bar.update(1)
            bar.set_postfix(solved=sum(r.proved for r in results))
            if result.rejected:
                tqdm.write(f"{result.name}: pool refused {result.rejected[:2]}")
        pool_stats = pool.stats.summary()
    wall = time.monotonic() - started
    solved = sum(r.proved for r in results)
    print(f"\nsolved {solved}/{len(problems)} ({args.split}, {args.workers} workers,"
          f" {args.budget:g} s budget) in {wall:.0f} s wall")
    print(table(results))
    out.write_text(json.dumps({
        "split": args.split, "workers": args.workers, "budget_s": args.budget, "solved": solved,
        "total": len(problems), "wall_s": round(wall, 1), "pool": pool_stats,
        "results": [r.to_json() for r in results],
    }, indent=1))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
