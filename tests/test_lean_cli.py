"""`prover prove X.lean` and `prover repl X.lean` reach the Lean goal session.

The Lean backend is the real one with its REPL replaced by the replay stand-in: every reply is a
recorded one, and a request no recording has ends the stand-in (nothing is made up). No recording
has the checker's own requests (statement stub, ``type_of%``, ``#print axioms``), so certifying a
found proof through the CLI is not tested here: the tests end where the recordings end.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from prover import cli
from prover.cli import prove as prove_command
from prover.itp.lean.backend import LeanBackend, LeanConfig
from prover.search.lean_tactics import LEAN_TABLE
from tests.conftest import LEAN_REPL_FIXTURES as FIXTURES
from tests.conftest import needs
from tests.test_lean_goals import STANDIN, recorded, sent

pytestmark = needs(FIXTURES.is_dir(), f"the recorded REPL transcripts in {FIXTURES}")


def use_standin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, base: str) -> tuple[Path, Path]:
    """The CLI's Lean backend over the stand-in replaying ``base``; the statement file (the recording's
    header command and declaration) and the stand-in's log."""
    log = tmp_path / "log.jsonl"
    argv = (sys.executable, str(STANDIN), "replay", str(FIXTURES / base), "--log", str(log))
    backend = LeanBackend(LeanConfig(project_dir=tmp_path, repl_command=argv, sandbox=False))

    def backend_from(name: str, settings: Any, usable: bool = True) -> LeanBackend:
        assert name == "lean"
        return backend

    monkeypatch.setattr(prove_command, "backend_from", backend_from)
    first, second = (request["cmd"] for request, _ in recorded(base)[:2])
    statement = tmp_path / "statement.lean"
    statement.write_text(f"{first}\n\n{second}\n")
    return statement, log


def test_prove_lean_file_searches_in_the_lean_goal_session(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    statement, log = use_standin(monkeypatch, tmp_path, "Mathlib/pickle")  # x : ℕ, h : … ⊢ x = 3
    code = cli.main(["prove", str(statement), "--engine", "portfolio", "--budget", "60", "--json", "--quiet"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["proved"] is False and out["error"] is None  # searched, found nothing
    tried = [(a["tactic"], a["rule"]) for a in out["attempts"]]
    assert tried[:3] == [("rfl", "rfl"), ("norm_num", "norm_num"), ("omega", "omega")]
    rows = {rule.name for rule in LEAN_TABLE} | {"nlinarith_squares"}
    assert {rule for _, rule in tried} <= rows and not any(t.endswith(".") for t, _ in tried)
    assert ("nlinarith [sq_nonneg (x), sq_nonneg (x - 1), sq_nonneg (x + 1)]", "nlinarith_squares") in tried
    requests = sent(log)
    opening = [r for r, _ in recorded("Mathlib/pickle")[:2]]
    assert requests[:2] == opening  # the header, then the statement on its env
    # every tactic went to the root's proof state (each one unrecorded, so each process ends there)
    tactics = [r for r in requests if "tactic" in r]
    assert [r["tactic"] for r in tactics] == [t for t, _ in tried]
    assert {r["proofState"] for r in tactics} == {0}


def test_prove_lean_file_says_not_proved_in_a_lean_comment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    statement, _ = use_standin(monkeypatch, tmp_path, "Mathlib/pickle")
    assert cli.main(["prove", str(statement), "--budget", "60", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("/- not proved within 60 s; best partial attempt, 1 goal(s) left: -/")


def test_repl_lean_file_steps_undoes_and_tries_in_the_lean_goal_session(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    statement, log = use_standin(monkeypatch, tmp_path, "Mathlib/induction")  # theorem foo (x : Nat) : x = x
    typed = ["induction x", "next => rfl", "proof", "undo", "help", "try 3", "quit"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{line}\n" for line in typed)))
    assert cli.main(["repl", str(statement)]) == 0
    out = capsys.readouterr().out
    assert "1 goal\n  x : ℕ\n  ============================\n  x = x" in out  # the opened statement
    assert "2 goals\n  case zero\n  ============================\n  0 = 0\ngoal 2:" in out
    assert "  n✝ + 1 = n✝ + 1\ninduction x\nnext => rfl\n" in out  # one goal left, then `proof`
    assert "any other line is a tactic" in out and "TACTIC" in out and "e.g. state theorem" in out
    assert "the portfolio found nothing in 3 s" in out
    requests = sent(log)
    assert requests[:4] == [r for r, _ in recorded("Mathlib/induction")[:4]]
    # `try` searched from the state `undo` went back to (after `induction x`: proof state 1)
    assert {"tactic": "all_goals try (rfl)", "proofState": 1} in requests


def test_a_lean_tactic_line_needs_no_period_and_try_is_also_a_tactic() -> None:
    from prover.cli.repl import LEAN_SHELL, Shell

    shell = Shell(lambda text: None, lambda request: None, syntax=LEAN_SHELL)  # type: ignore[arg-type, return-value]
    assert shell.handle("simp") == shell.handle("try simp") == shell.handle("exact h.left")
    assert "no statement open" in shell.handle("simp")
    assert "no statement open" in shell.handle("try 5") and "no statement open" in shell.handle("try")
    assert shell.handle("-- a comment") == ""


@pytest.mark.parametrize("command", [["prove"], ["prove", "--engine", "step", "--model", "m"], ["repl"]])
def test_without_lean_the_search_commands_say_what_is_missing(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    statement = tmp_path / "s.lean"
    statement.write_text("import Mathlib\n\ntheorem two_add (a : ℕ) : a + 2 = 2 + a := by sorry\n")
    config = tmp_path / "prover.toml"
    config.write_text(f'[lean]\nproject_dir = "{tmp_path / "no-lean"}"\n')
    code = cli.main([*command, str(statement), "--config", str(config)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err
    assert "backend lean is not usable here" in err and "Lean project not found" in err


def test_tool_correction_on_lean_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    statement = tmp_path / "s.lean"
    statement.write_text("theorem t : 1 = 1 := by sorry\n")
    (tmp_path / "p.lean").write_text("theorem t : 1 = 1 := by\n  simp\n")
    assert cli.main(["prove", str(statement), "--from", str(tmp_path / "p.lean")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "tool correction" in err and "Rocq" in err
