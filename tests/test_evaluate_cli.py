"""``prover eval`` end to end: Lean/Isabelle benchmarks stop with exit 2 and one line, a small real
Rocq eval writes JSON/Markdown/PNG whose proofs re-verify through ``prover check``, and a run killed
midway resumes without redoing or duplicating finished problems."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prover.cli.evaluate import build_parser, main
from tests.conftest import REPO, needs_minif2f

EVAL = [sys.executable, "-m", "prover.evaluate"]
SMALL = ["--benchmark", "minif2f-rocq", "--split", "valid", "--only", "mathd_numbertheory", "--budget", "10"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.mark.parametrize(
    "benchmark", ["minif2f-lean4", "minif2f-isabelle", "proofnet-lean4", "proofnet-lean4-rahul3613"]
)
def test_lean_and_isabelle_benchmarks_stop_with_exit_2(
    benchmark: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--benchmark", benchmark, "--split", "valid", "--db", str(tmp_path / "e.sqlite")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err
    assert "goal-level session" in err and ("lean" in err or "isabelle" in err)
    assert not (tmp_path / "e.sqlite").exists()  # refused before anything was started


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give --benchmark NAME and --split"),
        (["--benchmark", "minif2f-rocq", "--split", "valid", "-k", "2"], "pass@2 needs at least 2"),
        (["--benchmark", "minif2f-rocq", "--split", "valid", "--only", "nothing_"], "no problem matches"),
        (["--benchmark", "minif2f-rocq", "--split", "valid", "--engine", "model"], "needs --model"),
        (["--benchmark", "minif2f-rocq", "--split", "valid", "--engine", "model", "--model", "/nonexistent/m"],
         "/nonexistent/m"),
        (["--benchmark", "minif2f-rocq", "--split", "valid", "--rounds", "2"], "--rounds"),
        (["--benchmark", "minif2f-rocq", "--split", "valid", "--temperature", "0.7"], "--temperature"),
        (["--benchmark", "minif2f-lean4-deepseek", "--split", "test", "--data-file", "/nonexistent.jsonl"],
         "cannot read /nonexistent.jsonl"),
        (["compare", "/nonexistent/a.json", "/nonexistent/b.json"], "cannot read /nonexistent/a.json"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_help_documents_every_flag() -> None:
    parser = build_parser()
    ev = next(a for a in parser._subparsers._group_actions[0].choices.values())  # type: ignore[union-attr]
    text = ev.format_help()
    for flag in ("--benchmark", "--split", "-k", "-n", "--engine", "--model", "--budget", "--seed", "--data-dir",
                 "--data-file", "--workers", "--db", "--json-out", "--md-out", "--plot-dir", "--limit", "--only"):
        assert flag in text
    assert all(action.help for action in ev._actions)


def _verify(proofs: dict[str, tuple[str, str]], tmp_path: Path) -> dict[str, bool]:
    """Re-check proofs with ``prover check --batch`` (its own process and pool)."""
    batch = tmp_path / "recheck.jsonl"
    batch.write_text("".join(
        json.dumps({"id": key, "proof_text": proof, "statement_text": statement}) + "\n"
        for key, (proof, statement) in proofs.items()
    ))
    out = subprocess.run(
        [sys.executable, "-m", "prover", "check", "--backend", "rocq", "--batch", str(batch), "--workers", "1",
         "--quiet"], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_env(), check=True,
    )
    return {line["id"]: line["verified"] for line in map(json.loads, out.stdout.splitlines())}


@pytest.mark.rocq
@needs_minif2f
def test_small_real_eval_writes_reports_whose_proofs_reverify(tmp_path: Path) -> None:
    out = subprocess.run(
        [*EVAL, *SMALL, "--limit", "3", "--workers", "2", "--db", "e.sqlite", "--json-out", "r.json",
         "--md-out", "r.md", "--plot-dir", "plots"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path, env=_env(),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["total"] == 3 and report["solved"] >= 1
    assert report["pass_at_k"]["1"] == pytest.approx(report["solved"] / 3, abs=1e-6)
    assert report["config"]["benchmark"] == "minif2f-rocq" and report["config"]["budget_s"] == 10
    assert "8.16" in report["config"]["toolchain"] or "version" in report["config"]["toolchain"]
    assert "| mathd_numbertheory | 3 |" in (tmp_path / "r.md").read_text()
    try:
        import matplotlib  # noqa: F401

        assert (tmp_path / "plots" / "pass_at_k.png").stat().st_size > 1000
        assert (tmp_path / "plots" / "categories.png").stat().st_size > 1000
    except ImportError:
        pass
    statements = {p.stem: p.read_text() for p in (REPO / "data" / "minif2f-rocq" / "valid").glob("*.v")}
    proofs = {p["key"]: (p["proof"], statements[p["name"]]) for p in report["problems"] if p["solved"]}
    assert proofs and all(_verify(proofs, tmp_path).values())
    for p in report["problems"]:
        assert p["solved"] == any(s["proved"] for s in p["samples"])
        assert all(s["proof"] is None for s in p["samples"] if not s["proved"])


def _rows(db: Path) -> list[tuple[str, int, str, float]]:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT problem, sample, invocation, finished FROM samples ORDER BY problem").fetchall()
    except sqlite3.Error:  # not created yet
        return []


@pytest.mark.rocq
@needs_minif2f
def test_killed_run_resumes_without_redoing_finished_problems(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite"
    argv = [*EVAL, *SMALL, "--limit", "4", "--workers", "1", "--db", str(db), "--quiet"]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(_rows(db)) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = _rows(db)
    assert 2 <= len(before) < 4, "the run must be killed midway"
    again = subprocess.run([*argv, "--json-out", "r.json"], cwd=tmp_path, env=_env(), capture_output=True,
                           text=True, timeout=180)
    assert again.returncode == 0, again.stderr[-2000:]
    after = _rows(db)
    assert len(after) == 4 and len({(p, s) for p, s, _, _ in after}) == 4
    assert set(before) <= set(after)  # finished problems kept their first invocation and time
    first = {inv for _, _, inv, _ in before}
    assert len(first) == 1 and sum(inv in first for _, _, inv, _ in after) == len(before)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["total"] == 4 and len(report["problems"]) == 4
    assert [len(p["samples"]) for p in report["problems"]] == [1, 1, 1, 1]
