#!/usr/bin/env python3
"""Re-measure the ``plain_coqc`` field of cases.jsonl: what plain ``coqc`` (no verifier) does with
each candidate proof file. This is NOT the verifier; it shows which bad cases would fool a checker
that only looks at coqc's exit status.

Each proof is compiled alone in a fresh temporary directory, as ``coqc -q -Q . Cand P.v``, under
``timeout 20`` and ``prlimit --as=4294967296`` (4 GiB), one process at a time. The escape cases
write under /tmp/prover-escape-test/ and into their temporary directory; nothing else.

    python3 tests/adversarial/rocq/measure_plain_coqc.py            # all cases
    python3 tests/adversarial/rocq/measure_plain_coqc.py --fast     # skip hang/memory cases
    python3 tests/adversarial/rocq/measure_plain_coqc.py ID ...     # only these ids

Exit status 1 if any measured result differs from the recorded ``plain_coqc`` field.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIMITS = ["timeout", "20", "prlimit", "--as=4294967296"]


def classify(rc: int, out: str) -> str:
    if rc in (124, 137):
        return "timeout"
    if "Out of memory" in out:
        return "oom"
    return "compiles" if rc == 0 else "fails"


def measure(proof: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="rocq-adv-") as d:
        shutil.copy(proof, Path(d) / "P.v")
        p = subprocess.run(
            [*LIMITS, "coqc", "-q", "-Q", ".", "Cand", "P.v"],
            cwd=d,
            capture_output=True,
            text=True,
        )
        return classify(p.returncode, p.stdout + p.stderr)


def main(argv: list[str]) -> int:
    fast = "--fast" in argv
    only = {a for a in argv if not a.startswith("--")}
    cases = [json.loads(line) for line in (HERE / "cases.jsonl").read_text().splitlines() if line.strip()]
    seen: dict[str, str] = {}
    bad = 0
    for c in cases:
        if only and c["id"] not in only:
            continue
        if fast and c["category"] in ("hang", "memory"):
            continue
        if c["proof"] not in seen:
            seen[c["proof"]] = measure(HERE / c["proof"])
        got = seen[c["proof"]]
        flag = "" if got == c.get("plain_coqc") else f"   <-- recorded {c.get('plain_coqc')}"
        bad += bool(flag)
        print(f"{c['id']:42s} expect={c['expect']!s:5s} plain_coqc={got}{flag}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
