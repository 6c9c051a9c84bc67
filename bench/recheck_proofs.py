"""Re-check every proof of an eval or search result with an independent checker: plain ``coqc``.

    python bench/recheck_proofs.py runs/eval-valid.json [--workers 2]

The verifier pool already certified each proof; this compiles each one again in a fresh ``coqc``
process (no pool, no plugin, no preloading), appends ``Print Assumptions`` of the target theorem
and checks that the file states the target exactly as the benchmark does. It prints how many
compiled, and lists any that did not.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prover.itp.rocq.text import parse_statement, split_sentences, theorem_of  # noqa: E402


def proofs(result: dict[str, object]) -> list[tuple[str, str]]:
    """(name, proof text) of every proved problem, from `prover eval` or bench/search_minif2f.py."""
    rows = result.get("problems") or result.get("results") or []
    assert isinstance(rows, list)
    return [(str(r["name"]), str(r["proof"])) for r in rows if r.get("proof")]


def statement_of(name: str, split: str) -> str | None:
    path = REPO / "data" / "minif2f-rocq" / split / f"{name}.v"
    return path.read_text() if path.is_file() else None


def recheck(name: str, proof: str, statement: str | None, scratch: Path) -> str | None:
    """None when plain coqc accepts the proof of the unchanged target; else why not."""
    if statement is not None:
        target = parse_statement(statement).targets[0]
        stated = [t for s in split_sentences(proof) if (t := theorem_of(s)) is not None]
        if not any(t == target for t in stated):
            return "the proof file does not state the target as the benchmark does"
    path = scratch / f"{name}.v"
    path.write_text(proof + f"\nPrint Assumptions {name}.\n")
    done = subprocess.run(["coqc", path.name], cwd=scratch, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        return (done.stdout + done.stderr).strip().splitlines()[-1]
    if "admit" in done.stdout.lower():
        return "rests on an admitted lemma"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("result", type=Path, help="a JSON written by prover eval or bench/search_minif2f.py")
    parser.add_argument("--split", default=None, help="valid or test (default: from the eval JSON)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    result = json.loads(args.result.read_text())
    split = args.split or result.get("config", {}).get("split", "valid")
    items = proofs(result)
    with (
        tempfile.TemporaryDirectory(prefix="prover-recheck-") as tmp,
        ThreadPoolExecutor(args.workers) as pool,
    ):
        scratch = Path(tmp)
        failures = [
            (name, why)
            for (name, _), why in zip(
                items,
                pool.map(
                    lambda item: recheck(item[0], item[1], statement_of(item[0], split), scratch), items
                ),
                strict=True,
            )
            if why is not None
        ]
    print(f"plain coqc re-checked {len(items)} proofs: {len(items) - len(failures)} accepted")
    for name, why in failures:
        print(f"  {name}: {why}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
