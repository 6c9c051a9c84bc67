"""The command-line contract: exit codes, one-line errors, JSON shapes (a real `prover` process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .test_rocq_session import PROOF, STATEMENT


def prover(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prover", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.fixture()
def files(tmp_path: Path) -> Path:
    (tmp_path / "s.v").write_text(STATEMENT)
    (tmp_path / "p.v").write_text(PROOF)
    (tmp_path / "bad.v").write_text(PROOF.replace("lra.", "admit.\nAdmitted.").replace("Qed.\n", ""))
    return tmp_path


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_missing_proof_file(files: Path) -> None:
    assert "no such file" in one_line_error(prover("check", str(files / "nope.v"), "--backend", "rocq"))


def test_missing_statement_file(files: Path) -> None:
    line = one_line_error(prover("check", str(files / "p.v"), "--backend", "rocq", "--statement", "nope.v"))
    assert "nope.v" in line


def test_unknown_backend_is_a_usage_error(files: Path) -> None:
    result = prover("check", str(files / "p.v"), "--backend", "coq9")
    assert result.returncode == 2 and "invalid choice" in result.stderr


@pytest.mark.parametrize("backend", ["lean", "isabelle"])
def test_missing_toolchains_exit_2_with_one_line(files: Path, backend: str) -> None:
    line = one_line_error(prover("check", str(files / "p.v"), "--backend", backend))
    assert "not usable here" in line and "install" in line.lower()


def test_bad_config_is_one_line(files: Path) -> None:
    (files / "c.toml").write_text("[pool]\nworkers = 'x'\n")
    assert "should be int" in one_line_error(
        prover("check", "p.v", "--backend", "rocq", "--config", "c.toml", cwd=files)
    )


def test_proof_or_batch_not_both(files: Path) -> None:
    assert "either" in one_line_error(prover("check", "--backend", "rocq"))


@pytest.mark.rocq
def test_verified_exit_0_and_json_shape(files: Path) -> None:
    result = prover("check", "p.v", "--backend", "rocq", "--statement", "s.v", "--json", cwd=files)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verified"] is True and data["reason"] is None and isinstance(data["messages"], list)


@pytest.mark.rocq
def test_rejected_exit_1(files: Path) -> None:
    result = prover("check", "bad.v", "--backend", "rocq", "--statement", "s.v", "--json", cwd=files)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["verified"] is False and data["reason"] == "forbidden"


@pytest.mark.rocq
def test_human_output_names_positions(files: Path) -> None:
    result = prover("check", "bad.v", "--backend", "rocq", "--statement", "s.v", cwd=files)
    assert result.returncode == 1 and "bad.v:6:2" in result.stdout


@pytest.mark.rocq
def test_batch_one_line_per_input_in_order(files: Path) -> None:
    lines = [
        {"id": "good", "proof": "p.v", "statement": "s.v"},
        {"id": "bad", "proof": "bad.v", "statement": "s.v"},
        {"id": "missing", "proof": "nope.v"},
        {"id": "inline", "proof_text": "Theorem a : True. Proof. exact I. Qed."},
    ]
    batch = files / "b.jsonl"
    batch.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    result = prover("check", "--backend", "rocq", "--batch", str(batch), "--workers", "2", "--timeout", "20")
    assert result.returncode == 0, result.stderr
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["good", "bad", "missing", "inline", "line-5"]
    assert [o["verified"] for o in out] == [True, False, False, True, False]
    assert [o["reason"] for o in out][2:] == ["bad_input", None, "bad_input"]
    assert all({"id", "verified", "reason", "time_s", "messages"} <= o.keys() for o in out)


def test_doctor_lists_all_backends() -> None:
    result = prover("doctor")
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["rocq", "lean", "isabelle"]
