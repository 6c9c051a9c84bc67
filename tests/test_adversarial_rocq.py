"""The adversarial soundness suite (tests/adversarial/rocq) through `prover check --batch`, in one pool.

Cheats, escapes, hangs and memory bombs must all be rejected, every good proof must pass, nothing may
be written outside the sandbox, and a good proof must still verify after the hangs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.rocq, pytest.mark.slow]

SUITE = Path(__file__).resolve().parent / "adversarial" / "rocq"
ESCAPE_DIR = Path("/tmp/prover-escape-test")


def load_cases() -> list[dict[str, object]]:
    return [json.loads(line) for line in (SUITE / "cases.jsonl").read_text().splitlines() if line.strip()]


def test_suite_is_big_enough() -> None:
    cases = load_cases()
    bad = [c for c in cases if not c["expect"]]
    good = [c for c in cases if c["expect"]]
    assert len(bad) >= 25 and len(good) >= 8
    assert {"cheat", "escape", "hang", "memory", "mismatch", "good"} <= {str(c["category"]) for c in cases}


def test_suite_in_one_pool(tmp_path: Path) -> None:
    cases = load_cases()
    last_good = next(c for c in reversed(cases) if c["expect"])
    batch = tmp_path / "batch.jsonl"
    lines = []
    for case in [*cases, {**last_good, "id": "good-after-everything"}]:
        resolved = {k: str(SUITE / str(v)) if k in ("proof", "statement") else v for k, v in case.items()}
        lines.append(json.dumps(resolved))
    batch.write_text("\n".join(lines) + "\n")
    shutil.rmtree(ESCAPE_DIR, ignore_errors=True)

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "prover",
            "check",
            "--backend",
            "rocq",
            "--batch",
            str(batch),
            "--timeout",
            "20",
            "--workers",
            "2",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr
    verdicts = {v["id"]: v for v in map(json.loads, result.stdout.splitlines())}
    expected = {str(c["id"]): c["expect"] for c in cases} | {"good-after-everything": True}
    wrong = {
        i: (verdicts[i]["reason"], verdicts[i]["messages"][-1:])
        for i, e in expected.items()
        if verdicts[i]["verified"] != e
    }
    assert not wrong, wrong
    accepted_bad = [i for i, e in expected.items() if not e and verdicts[i]["verified"]]
    assert accepted_bad == []
    assert not ESCAPE_DIR.exists() or not any(ESCAPE_DIR.iterdir()), "a proof wrote outside its sandbox"
