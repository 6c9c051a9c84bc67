"""Summaries a person would rather see than read: a table of a batch of verdicts.

python -m prover.verify.report runs/verdicts.jsonl      (or: prover report runs/verdicts.jsonl)
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from prover.verify.stats import percentile


def summarize(rows: list[dict[str, Any]]) -> str:
    """A Markdown table: how many were verified, why the others were not, and how long checks took."""
    total = len(rows)
    verified = sum(bool(r.get("verified")) for r in rows)
    reasons = Counter(str(r.get("reason")).split(":")[0] for r in rows if not r.get("verified"))
    times = [float(r.get("time_s", 0.0)) for r in rows]
    expected = [r for r in rows if "expect" in r]
    lines = [
        "| outcome | count | share |",
        "|---|---:|---:|",
        f"| verified | {verified} | {verified / total:.0%} |" if total else "| verified | 0 | - |",
    ]
    lines += [f"| {reason} | {count} | {count / total:.0%} |" for reason, count in reasons.most_common()]
    lines += [
        "",
        f"checks: {total}, time per check p50 {percentile(times, 0.5):.3f} s, "
        f"p95 {percentile(times, 0.95):.3f} s, total {sum(times):.1f} s",
    ]
    if expected:
        agree = sum(bool(r["verified"]) == bool(r["expect"]) for r in expected)
        lines.append(f"agreement with the expected verdicts: {agree}/{len(expected)}")
    return "\n".join(lines)


def load(path: Path, expectations: Path | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if expectations is not None:
        expect = {}
        for line in expectations.read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                if "expect" in item:
                    expect[item.get("id")] = item["expect"]
        for row in rows:
            if row.get("id") in expect:
                row["expect"] = expect[row["id"]]
    return rows


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m prover.verify.report VERDICTS.jsonl [BATCH.jsonl with expect fields]",
              file=sys.stderr)
        return 2
    try:
        rows = load(Path(args[0]), Path(args[1]) if len(args) > 1 else None)
    except (OSError, json.JSONDecodeError) as exc:
        print(f"prover report: error: {exc}", file=sys.stderr)
        return 2
    print(summarize(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
