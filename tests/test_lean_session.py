"""The Lean session's process handling and command sequencing, against the scripted REPL stand-in.

The stand-in (tests/standins/lean_repl_standin.py) is not Lean: its rules return constructed replies
in the REPL's documented shapes, hang, or die mid-reply, and it logs every request it receives.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from prover.itp.base import GIB, BackendUnavailable, CheckRequest, Limits, Reason
from prover.itp.lean.backend import LeanBackend, LeanConfig, LeanSession
from prover.itp.lean.repl import ReplCrashed, ReplLaunch, ReplProcess, ReplTimeout
from prover.itp.lean.statement import DEFAULT_HEADER
from tests.conftest import needs

STANDIN = Path(__file__).parent / "standins" / "lean_repl_standin.py"
HEADER = DEFAULT_HEADER.text
STATEMENT = HEADER + "\n\ntheorem one_add_one : 1 + 1 = 2 := by sorry"
PROOF = HEADER + "\n\ntheorem one_add_one : 1 + 1 = 2 := by\n  norm_num\n"
P = {"line": 1, "column": 0}


def msg(severity: str, data: str, line: int = 1) -> dict[str, Any]:
    return {"severity": severity, "pos": {"line": line, "column": 2}, "endPos": None, "data": data}


def axioms(listed: str) -> dict[str, Any]:
    return {"env": "$env", "messages": [msg("info", f"'prover_check_$1' depends on axioms: [{listed}]")]}


HEADER_RULE = {"cmd": "^import Mathlib", "reply": {"env": "$env"}}
STUB_RULE = {
    "cmd": "^theorem prover_target_",
    "reply": {
        "env": "$env",
        "sorries": [{"proofState": "$proofState", "goal": "⊢ 1 + 1 = 2", "pos": P, "endPos": P}],
        "messages": [msg("warning", "declaration uses 'sorry'")],
    },
}
CHECK_RULE = {"cmd": r"^theorem prover_check_(\w+)", "reply": axioms("propext")}
CANDIDATE_RULE = {"cmd": "theorem one_add_one", "reply": {"env": "$env"}}


def rules(*overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """Overrides first (first match wins), then the happy path."""
    return [*overrides, HEADER_RULE, STUB_RULE, CHECK_RULE, CANDIDATE_RULE]


def events(log: Path, kind: str) -> list[Any]:
    if not log.exists():
        return []
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return [e.get("request", e) for e in lines if e["event"] == kind]


def config_for(tmp_path: Path, rule_list: list[dict[str, Any]], **extra: Any) -> tuple[LeanConfig, Path]:
    script, log = tmp_path / "script.json", tmp_path / "log.jsonl"
    script.write_text(json.dumps({"rules": rule_list, **extra}))
    command = (sys.executable, str(STANDIN), "script", str(script), "--log", str(log))
    return LeanConfig(project_dir=tmp_path, repl_command=command, sandbox=False), log


def open_session(
    tmp_path: Path, rule_list: list[dict[str, Any]], limits: Limits | None = None, **config: Any
) -> tuple[LeanSession, Path]:
    base, log = config_for(tmp_path, rule_list)
    backend = LeanBackend(replace(base, **config))
    session = backend.open_session(HEADER, tmp_path / "scratch", limits or Limits())
    return session, log


@pytest.fixture
def happy(tmp_path: Path) -> Any:
    session, log = open_session(tmp_path, rules())
    yield session, log
    session.close()


def test_verified_proof_runs_header_once_and_builds_on_its_env(happy: Any) -> None:
    session, log = happy
    verdict = session.check(CheckRequest(PROOF, STATEMENT), 10)
    assert verdict.verified and verdict.reason is None and verdict.axioms == ["propext"]
    assert session.alive() and session.rss_bytes() > 0
    sent = events(log, "request")
    assert sent[0] == {"cmd": HEADER}  # no env: the only fresh environment, where import is allowed
    assert [r.get("env") for r in sent[1:]] == [0, 1, 2]  # stub on header, candidate on stub, check
    assert all("import" not in r["cmd"] for r in sent[1:])
    stub, candidate, check = (r["cmd"] for r in sent[1:])
    assert stub.startswith("theorem prover_target_") and stub.endswith(": 1 + 1 = 2 := by sorry")
    assert candidate.splitlines()[:4] == ["", "", "", ""]  # header lines blanked, lines kept
    assert candidate.splitlines()[5:] == ["theorem one_add_one : 1 + 1 = 2 := by", "  norm_num"]
    assert "type_of% @prover_target_" in check and ":= @_root_.one_add_one" in check
    assert check.endswith("#print axioms " + check.split()[1])


def test_second_check_reuses_header_and_stub(happy: Any) -> None:
    session, log = happy
    for _ in range(3):
        assert session.check(CheckRequest(PROOF, STATEMENT), 10).verified
    sent = events(log, "request")
    assert sum("env" not in r for r in sent) == 1
    assert sum(r["cmd"].startswith("theorem prover_target_") for r in sent) == 1
    assert len(events(log, "start")) == 1


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"cmd": r"^theorem prover_check_(\w+)", "reply": axioms("propext, sorryAx")}, "axioms: sorryAx"),
        (
            {"cmd": r"^theorem prover_check_(\w+)", "reply": axioms("Lean.ofReduceBool")},
            "axioms: Lean.ofReduceBool",
        ),
        (
            {"cmd": r"^theorem prover_check_(\w+)", "reply": axioms("Classical.choice, my_axiom")},
            "axioms: my_axiom",
        ),
        (
            {
                "cmd": "^theorem prover_check_",
                "reply": {
                    "env": "$env",
                    "messages": [msg("error", "type mismatch\n  one_add_one\nhas type ...")],
                },
            },
            "statement_mismatch",
        ),
        ({"cmd": "^theorem prover_check_", "reply": {"env": "$env"}}, "error: no axiom report"),
        (
            {
                "cmd": "theorem one_add_one",
                "reply": {"env": "$env", "messages": [msg("warning", "declaration uses 'sorry'")]},
            },
            "incomplete",
        ),
        (
            {
                "cmd": "theorem one_add_one",
                "reply": {"env": "$env", "messages": [msg("warning", "declaration uses `sorry`")]},
            },
            "incomplete",
        ),
        (
            {
                "cmd": "theorem one_add_one",
                "reply": {"env": "$env", "sorries": [{"goal": "⊢ False", "proofState": 9}]},
            },
            "incomplete",
        ),
        (
            {
                "cmd": "theorem one_add_one",
                "reply": {"env": "$env", "messages": [msg("error", "unsolved goals", 6)]},
            },
            "error",
        ),
        ({"cmd": "theorem one_add_one", "reply": {"message": "Lean error: boom"}}, "error"),
        (
            {
                "cmd": "^theorem prover_target_",
                "reply": {"env": "$env", "messages": [msg("error", "unknown id")]},
            },
            "bad_statement",
        ),
    ],
)
def test_reply_level_rejections(tmp_path: Path, override: dict[str, Any], reason: str) -> None:
    session, _ = open_session(tmp_path, rules(override))
    try:
        verdict = session.check(CheckRequest(PROOF, STATEMENT), 10)
    finally:
        session.close()
    assert not verdict.verified
    assert verdict.reason is not None and f"{verdict.reason}: {verdict.detail}".startswith(reason)
    assert verdict.messages


def test_native_decide_axiom_is_allowed_only_by_the_flag(tmp_path: Path) -> None:
    override = {"cmd": r"^theorem prover_check_(\w+)", "reply": axioms("propext, Lean.ofReduceBool")}
    session, _ = open_session(tmp_path, rules(override), allow_native_decide=True)
    try:
        verdict = session.check(CheckRequest(PROOF, STATEMENT), 10)
    finally:
        session.close()
    assert verdict.verified and verdict.axioms == ["Lean.ofReduceBool", "propext"]


def test_error_positions_point_into_the_candidate(tmp_path: Path) -> None:
    override = {
        "cmd": "theorem one_add_one",
        "reply": {"env": "$env", "messages": [msg("error", "linarith failed", 7)]},
    }
    session, _ = open_session(tmp_path, rules(override))
    try:
        verdict = session.check(CheckRequest(PROOF, STATEMENT), 10)
    finally:
        session.close()
    error = next(m for m in verdict.messages if m.severity == "error")
    assert (error.line, error.column) == (7, 2)
    assert PROOF.splitlines()[6] == "  norm_num"


def test_forbidden_text_never_reaches_lean(happy: Any) -> None:
    session, log = happy
    cheat = PROOF + "\naxiom cheat : False\n"
    verdict = session.check(CheckRequest(cheat, STATEMENT), 10)
    assert verdict.reason == "forbidden"
    assert all("cheat" not in r["cmd"] for r in events(log, "request"))


def test_missing_target_theorem_is_incomplete(happy: Any) -> None:
    session, _ = happy
    verdict = session.check(
        CheckRequest(HEADER + "\ntheorem other : 1 + 1 = 2 := by norm_num", STATEMENT), 10
    )
    assert verdict.reason == "incomplete" and "one_add_one" in verdict.messages[-1].text


def test_without_statement_every_theorem_needs_an_axiom_report(tmp_path: Path) -> None:
    report = {
        "cmd": "#print axioms",
        "reply": {"env": "$env", "messages": [msg("info", "'one_add_one' does not depend on any axioms")]},
    }
    session, log = open_session(tmp_path, rules(report))
    try:
        ok = session.check(CheckRequest(PROOF), 10)
        two = PROOF + "theorem lemma_two : 2 = 2 := rfl\n"
        missing = session.check(CheckRequest(two), 10)
    finally:
        session.close()
    assert ok.verified and ok.axioms == []
    assert (missing.reason, missing.detail) == (Reason.ERROR, "no axiom report for lemma_two")
    assert events(log, "request")[-1]["cmd"] == "#print axioms one_add_one\n#print axioms lemma_two"


def test_timeout_kills_and_next_check_restarts(tmp_path: Path) -> None:
    session, log = open_session(tmp_path, rules({"cmd": "-- hang here", "action": "hang"}))
    try:
        started = time.monotonic()
        verdict = session.check(CheckRequest(PROOF + "-- hang here\n", STATEMENT), 1.0)
        assert time.monotonic() - started < 5
        assert verdict.reason == "timeout" and not session.alive()
        assert session.check(CheckRequest(PROOF, STATEMENT), 10).verified
    finally:
        session.close()
    assert len(events(log, "start")) == 2
    assert sum("env" not in r for r in events(log, "request")) == 2  # header replayed after restart


def test_spent_budget_between_requests_keeps_the_process(happy: Any) -> None:
    session, log = happy
    verdict = session.check(CheckRequest(PROOF, STATEMENT), 0)
    assert verdict.reason == "timeout" and session.alive()  # nothing was running: no restart needed
    assert len(events(log, "request")) == 1  # only the header went out
    assert session.check(CheckRequest(PROOF, STATEMENT), 10).verified
    assert len(events(log, "start")) == 1


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ({"action": "crash", "partial": '{"env":\n 3,', "exit": 1}, "crash"),
        ({"action": "exit", "stderr": "INTERNAL PANIC: out of memory\n", "exit": 1}, "memory"),
        ({"action": "exit", "exit": 137}, "memory"),
    ],
)
def test_crash_and_out_of_memory(tmp_path: Path, action: dict[str, Any], reason: str) -> None:
    session, _ = open_session(tmp_path, rules({"cmd": "theorem one_add_one", "once": True, **action}))
    try:
        verdict = session.check(CheckRequest(PROOF, STATEMENT), 10)
        assert verdict.reason == reason and not session.alive()
    finally:
        session.close()


def test_restart_after_max_checks(tmp_path: Path) -> None:
    session, log = open_session(tmp_path, rules(), Limits(max_checks_per_session=2))
    try:
        for _ in range(5):
            assert session.check(CheckRequest(PROOF, STATEMENT), 10).verified
    finally:
        session.close()
    assert len(events(log, "start")) == 3


def test_memory_limit_is_applied_in_the_child(tmp_path: Path) -> None:
    for limits, expected in ((Limits(), 12 * GIB), (Limits(memory_bytes=5 * GIB), 5 * GIB)):
        session, log = open_session(tmp_path, rules(), limits)
        session.close()
        assert events(log, "start")[-1]["rlimit_as"] == expected


def test_header_failure_raises(tmp_path: Path) -> None:
    bad_header = {
        "cmd": "^import",
        "reply": {"env": "$env", "messages": [msg("error", "unknown package 'Mathlib'")]},
    }
    with pytest.raises(RuntimeError, match="unknown package"):
        open_session(tmp_path, [bad_header])


def test_tactic_mode(tmp_path: Path) -> None:
    steps = [
        {
            "tactic": "^norm_num$",
            "reply": {"proofState": "$proofState", "goals": [], "proofStatus": "Completed"},
        },
        {
            "tactic": "^skip$",
            "reply": {
                "proofState": "$proofState",
                "goals": ["⊢ 1 + 1 = 2"],
                "proofStatus": "Incomplete: open goals remain",
            },
        },
        {"cmd": "^theorem one_add_one", "reply": STUB_RULE["reply"]},
    ]
    session, _ = open_session(tmp_path, rules(*steps))
    try:
        start = session.start_proof(STATEMENT, 10)
        assert start.goals == ("⊢ 1 + 1 = 2",)
        assert not session.run_tactic(start, "skip", 10).completed
        assert session.run_tactic(start, "norm_num", 10).completed
        refused = session.run_tactic(start, "run_tac do pure ()", 10)
        assert refused.state is None and refused.messages[0].text.startswith("forbidden")
        session.close()
        assert "stale" in session.run_tactic(start, "norm_num", 10).status
    finally:
        session.close()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a killed child waits as a zombie until someone reaps it


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    script, child_log = tmp_path / "s.json", tmp_path / "child.jsonl"
    script.write_text(
        json.dumps(
            {"rules": [{"cmd": ".", "action": "hang"}], "spawn_child": True, "child_log": str(child_log)}
        )
    )
    repl = ReplProcess(ReplLaunch((sys.executable, str(STANDIN), "script", str(script)), tmp_path))
    with pytest.raises(ReplTimeout):
        repl.command("anything", None, 0.5)
    child = events(child_log, "child")[0]["pid"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.05)
    assert not _running(child) and not repl.alive()


def test_crash_mid_reply_is_reported(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(
        json.dumps({"rules": [{"cmd": ".", "action": "crash", "partial": "{\n", "stderr": "boom\n"}]})
    )
    repl = ReplProcess(ReplLaunch((sys.executable, str(STANDIN), "script", str(script)), tmp_path))
    with pytest.raises(ReplCrashed) as info:
        repl.command("x", None, 5)
    assert "middle of a reply" in str(info.value) and info.value.returncode == 1
    assert "boom" in info.value.stderr_tail and not info.value.out_of_memory


def test_double_blank_line_would_kill_the_real_repl(tmp_path: Path) -> None:
    # Why the client sends exactly one blank line: the REPL reads an empty request and dies.
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"rules": []}))
    proc = subprocess.run(
        [sys.executable, str(STANDIN), "script", str(script)],
        input='{"cmd": "x"}\n\n\n',
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert proc.returncode == 1 and "uncaught exception" in proc.stderr


def _bwrap_works() -> bool:
    bwrap = shutil.which("bwrap")
    return (
        bwrap is not None
        and subprocess.run(
            [bwrap, "--ro-bind", "/", "/", "--unshare-all", "true"], capture_output=True
        ).returncode
        == 0
    )


@needs(_bwrap_works(), "a bubblewrap that can create namespaces here")
def test_sandboxed_session_checks_and_cannot_write_outside_scratch(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"  # the sandbox hides the rest of /tmp: keep the script in scratch
    scratch.mkdir()
    script, log = scratch / "script.json", scratch / "log.jsonl"
    script.write_text(json.dumps({"rules": rules()}))
    command = (sys.executable, str(STANDIN), "script", str(script), "--log", str(log))
    session = LeanBackend(LeanConfig(project_dir=tmp_path, repl_command=command)).open_session(
        HEADER, scratch, Limits()
    )
    try:
        assert session.check(CheckRequest(PROOF, STATEMENT), 10).verified
    finally:
        session.close()
    assert events(log, "request")[0] == {"cmd": HEADER}
    outside = Path(tempfile.mkdtemp(dir="/var/tmp"))
    try:
        blocked = outside / "log.jsonl"
        bad = (sys.executable, str(STANDIN), "script", str(script), "--log", str(blocked))
        with pytest.raises(RuntimeError, match="did not load the header"):  # it dies trying to log
            LeanBackend(LeanConfig(project_dir=tmp_path, repl_command=bad)).open_session(
                HEADER, scratch, Limits()
            )
        assert not blocked.exists()
    finally:
        shutil.rmtree(outside)


def test_unavailable_here_with_one_line_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("ELAN_HOME", str(tmp_path / "no-elan"))
    backend = LeanBackend()
    status = backend.availability()
    assert not status.usable
    assert "\n" not in status.detail and "lake" in status.detail and "elan" in status.detail
    with pytest.raises(BackendUnavailable) as info:
        backend.open_session(HEADER, tmp_path, Limits())
    assert str(info.value) == status.detail
