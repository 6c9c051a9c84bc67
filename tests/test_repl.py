"""`prover repl`: the shell's commands over a real Coq session, and the shell in a real terminal
(tmux), driven by typing and checked by reading the screen."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from prover.cli.repl import Shell
from prover.itp.base import CheckRequest, Limits, Verdict
from prover.itp.goals import GoalSession, ProofState
from prover.itp.rocq.backend import RocqBackend
from prover.search.portfolio import SearchConfig, search
from prover.search.result import SearchResult
from prover.search.runner import open_session
from prover.verify.pool import VerifierPool

from .conftest import needs

pytestmark = pytest.mark.rocq

STATEMENT = "Require Import Reals.\nOpen Scope R_scope.\n\nTheorem t (x : R) (h : 0 < x) : 0 < x /\\ 0 < 2 * x.\nProof.\nAdmitted.\n"


@pytest.fixture()
def shell(tmp_path: Path) -> Iterator[Shell]:
    with VerifierPool(RocqBackend(), workers=1, limits=Limits(timeout_s=30)) as pool:

        def try_here(session: GoalSession, statement: str, state: ProofState, budget: float) -> SearchResult:
            def certify(proof: str) -> Verdict:
                return pool.check(CheckRequest(proof, statement))

            return search(session, statement, "", SearchConfig(budget_s=budget), certify, start=state)

        shell = Shell(lambda text: open_session(text, tmp_path / "s"), pool.check, try_here)
        yield shell
        shell.close()


def test_step_undo_try_save(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "t.v").write_text(STATEMENT)
    assert "0 < x /\\ 0 < 2 * x" in shell.handle(f"load {tmp_path / 't.v'}")
    out = shell.handle("split.")
    assert out.startswith("2 goals") and "h : 0 < x" in out
    assert shell.handle("lia.").startswith("error")  # lia does not do R: the state is unchanged
    assert shell.handle("exact h.").startswith("1 goal")
    assert shell.handle("undo").startswith("2 goals")
    assert shell.handle("save out.v").startswith("the proof is not finished")
    found = shell.handle("try 20")
    assert found.startswith("found (certified by the verifier pool)") and "No more goals" in found
    assert "split." in shell.handle("proof")
    saved = shell.handle(f"save {tmp_path / 'out.v'}")
    assert saved.startswith("certified") and "Qed." in (tmp_path / "out.v").read_text()


def test_bad_commands_are_explained(shell: Shell) -> None:
    assert "no statement open" in shell.handle("intros.")
    assert "unknown command" in shell.handle("frobnicate")
    assert "cannot open the statement" in shell.handle("state this is not Coq.")
    assert "cannot read" in shell.handle("load /nonexistent/x.v")
    assert "goals" in shell.handle("help")
    shell.handle("quit")
    assert shell.done


def _screen(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout


def _wait_for(session: str, text: str, timeout_s: float = 60.0, times: int = 1) -> str:
    """The screen once ``text`` shows on it ``times`` times."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        screen = _screen(session)
        if screen.count(text) >= times:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared on the screen:\n{_screen(session)}")


def _type(session: str, line: str) -> None:
    subprocess.run(["tmux", "send-keys", "-t", session, line, "Enter"], check=True)


@pytest.mark.slow
@needs(shutil.which("tmux") is not None, "tmux (apt-get install tmux)")
def test_repl_in_a_real_terminal(tmp_path: Path) -> None:
    (tmp_path / "t.v").write_text(STATEMENT)
    session = f"prover-test-{uuid.uuid4().hex[:8]}"
    command = f"{sys.executable} -m prover repl {tmp_path / 't.v'}; sleep 30"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", "-c", str(tmp_path), command],
        check=True,
    )
    try:
        _wait_for(session, "prover>")
        assert "0 < x /\\ 0 < 2 * x" in _screen(session)
        _type(session, "split.")
        _wait_for(session, "2 goals")
        _type(session, "exact h.")
        screen = _wait_for(session, "1 goal\n", times=2)  # the first was the statement's own
        assert screen.rstrip().splitlines()[-2].strip() == "0 < 2 * x"
        _type(session, "undo")
        _type(session, "goals")
        _type(session, "try 20")
        _wait_for(session, "found (certified", 90)
        _type(session, "save done.v")
        _wait_for(session, "written to done.v")
        _type(session, "quit")
        assert "Qed." in (tmp_path / "done.v").read_text()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
