"""`prover prove` end to end: the contract (exit codes, the JSON's last line), streaming, and every
proof it prints re-verified by an independent `prover check`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.rocq

STATEMENT = "Require Import Reals.\nOpen Scope R_scope.\n\nTheorem lin (x y : R) (h0 : x + y = 10) (h1 : x - y = 2) : x = 6.\nProof.\nAdmitted.\n"
FALSE = "Require Import Arith.\n\nTheorem nope (n : nat) : n * n = n + 7.\nProof.\nAdmitted.\n"


def prover(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prover", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_prove_json_and_independent_recheck(tmp_path: Path) -> None:
    (tmp_path / "s.v").write_text(STATEMENT)
    done = prover("prove", "s.v", "--budget", "30", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["proved"] and {"proof", "attempts", "time_s"} <= result.keys()
    assert "Theorem lin" in result["proof"] and result["proof"].rstrip().endswith("Qed.")
    assert "depth" in done.stderr  # what it tried streamed to stderr
    (tmp_path / "p.v").write_text(result["proof"])
    check = prover("check", "p.v", "--backend", "rocq", "--statement", "s.v", cwd=tmp_path)
    assert check.returncode == 0, check.stdout


def test_prove_prints_the_proof_or_the_best_partial_attempt(tmp_path: Path) -> None:
    (tmp_path / "s.v").write_text(STATEMENT)
    done = prover("prove", "s.v", "--budget", "30", "--quiet", cwd=tmp_path)
    assert done.returncode == 0 and "Theorem lin" in done.stdout and done.stderr == ""
    (tmp_path / "f.v").write_text(FALSE)
    failed = prover("prove", "f.v", "--budget", "5", "--json", "--quiet", cwd=tmp_path)
    assert failed.returncode == 1
    result = json.loads(failed.stdout.strip().splitlines()[-1])
    assert not result["proved"] and result["proof"] is None and result["attempts"]


def test_prove_repairs_a_given_proof(tmp_path: Path) -> None:
    (tmp_path / "s.v").write_text(STATEMENT)
    (tmp_path / "bad.v").write_text(STATEMENT.replace("Admitted.", "  ring.\nQed.").replace("Open", "Require Import Lra.\nOpen"))
    done = prover("prove", "s.v", "--from", "bad.v", "--budget", "30", "--json", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["technique"] == "tool correction" and result["repairs"][0]["failing"] == "ring."


def test_prove_batch(tmp_path: Path) -> None:
    (tmp_path / "s.v").write_text(STATEMENT)
    lines = [{"id": "a", "statement": "s.v"}, {"id": "b", "statement_text": FALSE}]
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    done = prover("prove", "--batch", "b.jsonl", "--budget", "8", "--workers", "2", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(x) for x in done.stdout.splitlines()]
    assert [(r["name"], r["proved"]) for r in rows] == [("a", True), ("b", False)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["prove", "missing.v"], "no such file"),
        (["prove", "s.thy"], "goal-level session, which only rocq and lean have so far"),
        (["prove", "s.v", "--budget", "0"], "--budget must be positive"),
        (["prove"], "give either STATEMENT_FILE or --batch"),
    ],
)
def test_prove_bad_input_is_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "s.v").write_text(STATEMENT)
    (tmp_path / "s.thy").write_text('theory s imports Main begin\nlemma x: "1 = (1::nat)" sorry\nend\n')
    done = prover(*args, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
