"""`prover doctor` calls a backend usable only after a real check passed, and otherwise says why not;
the bubblewrap probe says what to do where namespaces are refused. A real `prover` process.

The failing `bwrap` and `lake` here are shell scripts that print one line and exit 1 (bwrap's own
wording for a refused namespace); they stand in for a broken environment, never for a proof assistant.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prover.itp.sandbox import NAMESPACE_HINT, bwrap_problem
from tests.conftest import HAVE_ROCQ, needs
from tests.test_lean_launch import SAID, fake_project, recording_lake

needs_rocq = needs(HAVE_ROCQ, "Debian's coq and bubblewrap packages")
REFUSED = "bwrap: Creating new namespace failed: Operation not permitted"


def doctor(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    done = subprocess.run([sys.executable, "-m", "prover", "doctor", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})
    assert "Traceback" not in done.stderr, done.stderr
    lines = dict(line.split(maxsplit=1) for line in done.stdout.splitlines())
    return done.returncode, lines


def refusing_bwrap(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    script = folder / "bwrap"
    script.write_text(f'#!/bin/sh\necho "{REFUSED}" >&2\nexit 1\n')
    script.chmod(0o755)
    return folder


@needs_rocq
def test_rocq_is_usable_after_a_real_check_and_the_others_say_why_not() -> None:
    code, lines = doctor()
    assert list(lines) == ["rocq", "lean", "isabelle"]
    assert code == 0 and lines["rocq"].startswith("usable: ") and "a test proof verified in" in lines["rocq"]
    for name in ("lean", "isabelle"):
        if not lines[name].startswith("usable: "):
            assert lines[name].startswith("not usable: ") and len(lines[name]) > len("not usable: ")


def test_lean_with_its_files_in_place_is_not_usable_when_the_repl_cannot_start(tmp_path: Path) -> None:
    project = fake_project(tmp_path)
    recording_lake(tmp_path / "bin" / "lake", "proxy")
    env = {"PROVER_LEAN_PROJECT": str(project), "ELAN_HOME": str(tmp_path / "elan"),
           "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    _, lines = doctor("--no-sandbox", env=env)
    assert lines["lean"].startswith("not usable: ") and SAID in lines["lean"]  # the start's stderr


def test_the_probe_names_the_namespace_failure_and_the_way_out(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(refusing_bwrap(tmp_path / "bin")))
    problem = bwrap_problem()
    assert problem is not None and REFUSED in problem and NAMESPACE_HINT in problem and "\n" not in problem
    assert "--no-sandbox" in problem and "user namespaces" in problem
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert "bwrap not found" in (bwrap_problem() or "")


@needs_rocq
def test_doctor_says_what_to_do_when_bwrap_is_refused(tmp_path: Path) -> None:
    env = {"PATH": f"{refusing_bwrap(tmp_path / 'bin')}:{os.environ['PATH']}"}
    _, lines = doctor(env=env)
    assert lines["rocq"].startswith("not usable: ") and REFUSED in lines["rocq"]
    assert "--no-sandbox" in lines["rocq"]
    code, lines = doctor("--no-sandbox", env=env)
    assert code == 0 and lines["rocq"].startswith("usable: ")
