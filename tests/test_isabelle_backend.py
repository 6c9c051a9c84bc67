"""The Isabelle backend end to end, with the stand-in server in place of ``isabelle``.

A fake ``isabelle`` executable runs the stand-in, so everything the backend does for real happens
here too: start ``isabelle server`` in its own process group, read its line, authenticate,
``session_start``, write theory files, ``use_theories``, ``purge_theories``, cancel, kill, restart.
What the stand-in cannot do is judge proofs: its replies are the recorded ones.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from prover.itp.base import GIB, BackendUnavailable, CheckRequest, Limits, Message, Reason
from prover.itp.isabelle.backend import (
    INSTALL_HINT,
    IsabelleBackend,
    IsabelleConfig,
    IsabelleSession,
    TheoryRun,
    judge,
)
from prover.itp.isabelle.file import Built
from prover.itp.isabelle.hammer import sledgehammer
from prover.itp.isabelle.server import started_processes
from prover.itp.isabelle.theory import prepare
from prover.verify.pool import VerifierPool
from tests.conftest import ISABELLE_FIXTURES as FIXTURES
from tests.conftest import needs
from tests.standins.isabelle_server_standin import process_gone, write_fake_isabelle

needs_fixtures = needs(FIXTURES.is_dir(), f"the recorded server reply streams in {FIXTURES}")

STATEMENT = (
    "theory mathd_algebra_478 imports Complex_Main\nbegin\n\n"
    "theorem mathd_algebra_478:\n"
    "  fixes b h v ::real\n"
    '  assumes "0 < b \\<and> 0 < h \\<and> 0 < v"\n'
    '      and "v = 1 / 3 * (b * h)"\n'
    '      and "b = 30"\n'
    '      and "h = 13 / 2"\n'
    '    shows "v = 65"\n'
    "  sorry\n\nend\n"
)
GOOD = "using assms by simp"
FAILING = "proof -\n  show ?thesis\n    by auto\nqed"  # the stand-in answers use_theories.Fail to `by auto`
RULES: list[dict[str, Any]] = [
    {"match": "(* nothing *)", "stream": "use_theories"},
    {"match": "by auto", "stream": "use_theories.Fail", "anchor": "by auto"},
    {"match": "sledgehammer", "stream": "use_theories.Sledgehammer", "anchor": "sledgehammer"},
    {"match": "(* slow *)", "action": "hang"},
    {"match": "(* stuck *)", "action": "stuck"},
    {"match": "(* crash *)", "action": "crash", "bytes": 200},
]

OpenSession = Callable[..., IsabelleSession]


@pytest.fixture
def open_session(tmp_path: Path) -> Iterator[OpenSession]:
    sessions: list[IsabelleSession] = []

    def start(header_key: str = "isabelle:Prover", **config: Any) -> IsabelleSession:
        scenario = {
            "spawn_child": True,
            "fixtures": str(FIXTURES),
            "adapt": True,
            "rules": RULES,
            "lifetime_s": 60,
            "record_dir": str(tmp_path / "seen"),
        }
        (tmp_path / "seen").mkdir(exist_ok=True)
        exe = write_fake_isabelle(tmp_path / "bin", scenario)
        settings = {"executable": str(exe), "root_dir": tmp_path, "cancel_grace_s": 1.0, **config}
        backend = IsabelleBackend(IsabelleConfig(**settings))
        session = backend.open_session(header_key, tmp_path / "work", Limits(timeout_s=10))
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        session.close()


def _child_pid(tmp_path: Path) -> int:
    """The stand-in's own-session child (Isabelle's ML process stands in the same relation)."""
    return int((tmp_path / "seen" / "child.pid").read_text())


def _server_pid(session: IsabelleSession) -> int:
    server = session._server
    assert server is not None
    return server.proc.pid


def test_unavailable_without_isabelle_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    for var in ("PROVER_ISABELLE", "PROVER_ISABELLE_SERVER"):
        monkeypatch.delenv(var, raising=False)
    backend = IsabelleBackend()
    status = backend.availability()
    assert not status.usable and status.detail == INSTALL_HINT
    assert "\n" not in status.detail and "isabelle" in status.detail and "install" in status.detail.lower()
    with pytest.raises(BackendUnavailable, match="isabelle not found on PATH"):
        backend.open_session("isabelle:Prover", tmp_path, Limits())


@pytest.mark.skipif(shutil.which("isabelle") is not None, reason="Isabelle is installed here")
def test_default_backend_is_unusable_here_with_a_one_line_reason() -> None:
    status = IsabelleBackend().availability()
    assert not status.usable and status.detail and "\n" not in status.detail


def test_available_with_an_isabelle_executable(tmp_path: Path) -> None:
    exe = write_fake_isabelle(tmp_path / "bin", {})
    status = IsabelleBackend(IsabelleConfig(executable=str(exe))).availability()
    assert status.usable and status.detail.startswith("Isabelle2025-2, session Prover")


def test_generic_memory_limits_are_raised_but_chosen_ones_kept() -> None:
    backend = IsabelleBackend(IsabelleConfig(executable="isabelle-not-installed-here"))
    raised = backend.limits_for(Limits())
    assert raised.max_rss_bytes == backend.config.max_rss_bytes and Limits().max_rss_bytes is None
    assert raised.memory_bytes == backend.config.memory_bytes and raised.timeout_s == Limits().timeout_s
    chosen = Limits(memory_bytes=GIB, max_rss_bytes=2 * GIB)
    assert backend.limits_for(chosen) == chosen


def test_header_keys_share_one_session_unless_the_afp_is_needed(tmp_path: Path) -> None:
    backend = IsabelleBackend(IsabelleConfig(executable="isabelle-not-installed-here"))
    assert backend.header_key(CheckRequest(GOOD, STATEMENT)) == "isabelle:Prover"
    assert backend.header_key(CheckRequest(GOOD)) == "isabelle:Prover"
    vieta = STATEMENT.replace("imports Complex_Main", 'imports Complex_Main "Symmetric_Polynomials.Vieta"')
    assert backend.header_key(CheckRequest(GOOD, vieta)) == "isabelle:Prover+Symmetric_Polynomials"
    with pytest.raises(ValueError):
        backend.header_key(CheckRequest(GOOD, "theory T imports Main begin end"))


@needs_fixtures
def test_afp_problems_need_the_afp(tmp_path: Path) -> None:
    exe = write_fake_isabelle(tmp_path / "bin", {})
    backend = IsabelleBackend(IsabelleConfig(executable=str(exe)))
    with pytest.raises(BackendUnavailable, match="PROVER_ISABELLE_AFP"):
        backend.open_session("isabelle:Prover+Symmetric_Polynomials", tmp_path, Limits())


@needs_fixtures
def test_verified_check_writes_the_trusted_theory_and_purges_it(
    open_session: OpenSession, tmp_path: Path
) -> None:
    session = open_session()
    assert session.accepts("isabelle:Prover") and not session.accepts("isabelle:Prover+Symmetric_Polynomials")
    verdict = session.check(CheckRequest(GOOD, STATEMENT), timeout_s=10)
    assert verdict.verified and verdict.reason is None and verdict.time_s > 0
    [seen] = (tmp_path / "seen").glob("Prover_Check_*.thy")
    text = seen.read_text()
    assert text.startswith(f"theory {seen.stem}\n  imports Complex_Main\nbegin\n")
    assert 'shows "v = 65"\nusing assms by simp\n' in text and "sorry" not in text
    assert not list((tmp_path / "work").glob("isabelle-*/*.thy"))  # the file is gone after the check
    log = (tmp_path / "seen" / "commands.jsonl").read_text()
    assert '"command": "purge_theories"' in log and seen.stem in log.split('"purge_theories"')[1]


@needs_fixtures
def test_session_start_uses_the_prover_heap_without_cheating(
    open_session: OpenSession, tmp_path: Path
) -> None:
    open_session()
    first = (tmp_path / "seen" / "commands.jsonl").read_text().splitlines()[0]
    assert '"command": "session_start"' in first and '"session": "Prover"' in first
    assert '"quick_and_dirty=false"' in first and f'"dirs": ["{tmp_path}"]' in first


@needs_fixtures
def test_failed_proof_errors_point_into_the_candidate(open_session: OpenSession) -> None:
    verdict = open_session().check(CheckRequest(FAILING, STATEMENT), timeout_s=10)
    assert not verdict.verified and verdict.reason == "error"
    [error] = [m for m in verdict.messages if m.severity == "error"]
    assert error.text.startswith("Failed to finish proof")
    assert (error.line, error.column) == (3, 4)  # `by auto` in FAILING


@needs_fixtures
def test_forbidden_proofs_never_reach_the_server(open_session: OpenSession, tmp_path: Path) -> None:
    verdict = open_session().check(CheckRequest("using assms sorry", STATEMENT), timeout_s=10)
    assert (verdict.reason, verdict.detail, verdict.messages[0].line) == (Reason.FORBIDDEN, "sorry", 1)
    assert "use_theories" not in (tmp_path / "seen" / "commands.jsonl").read_text()


@needs_fixtures
def test_cancelled_overrun_is_a_timeout_and_the_session_lives_on(open_session: OpenSession) -> None:
    session = open_session()
    pid = _server_pid(session)
    verdict = session.check(CheckRequest(f"(* slow *) {GOOD}", STATEMENT), timeout_s=0.5)
    assert verdict.reason == "timeout" and 0.5 <= verdict.time_s < 3
    assert session.alive() and _server_pid(session) == pid
    assert session.check(CheckRequest(GOOD, STATEMENT), timeout_s=10).verified


@needs_fixtures
def test_stuck_server_is_killed_with_its_processes_and_restarted(
    open_session: OpenSession, tmp_path: Path
) -> None:
    session = open_session()
    pid = _server_pid(session)
    verdict = session.check(CheckRequest(f"(* stuck *) {GOOD}", STATEMENT), timeout_s=0.5)
    assert verdict.reason == "timeout" and verdict.time_s < 5
    assert not session.alive() and started_processes(pid) == []
    assert process_gone(pid) and process_gone(_child_pid(tmp_path))
    assert session.check(CheckRequest(GOOD, STATEMENT), timeout_s=10).verified
    assert session.restarts == 1 and _server_pid(session) != pid


@needs_fixtures
def test_crash_mid_reply_is_reported_and_the_next_check_restarts(
    open_session: OpenSession, tmp_path: Path
) -> None:
    session = open_session()
    pid = _server_pid(session)
    child = _child_pid(tmp_path)
    verdict = session.check(CheckRequest(f"(* crash *) {GOOD}", STATEMENT), timeout_s=10)
    assert verdict.reason == "crash" and "closed the connection" in verdict.messages[0].text
    assert not session.alive()
    assert process_gone(child)  # orphaned by the crash, still found and killed
    assert session.check(CheckRequest(GOOD, STATEMENT), timeout_s=10).verified
    assert session.restarts == 1 and _server_pid(session) != pid


@needs_fixtures
def test_close_stops_the_session_and_the_server_group(open_session: OpenSession, tmp_path: Path) -> None:
    session = open_session()
    pid = _server_pid(session)
    session.close()
    session.close()  # idempotent
    assert not session.alive() and started_processes(pid) == []
    assert process_gone(pid) and process_gone(_child_pid(tmp_path))
    log = (tmp_path / "seen" / "commands.jsonl").read_text()
    assert '"command": "session_stop"' in log and '"command": "shutdown"' in log


@needs_fixtures
def test_sledgehammer_finds_a_step_for_the_open_goal(open_session: OpenSession, tmp_path: Path) -> None:
    session = open_session()
    found = sledgehammer(session, 'proof -\n  have "v = 65" using assms', STATEMENT, hammer_timeout_s=5)
    assert found == "by presburger"
    [seen] = (tmp_path / "seen").glob("Prover_Hammer_*.thy")
    assert "sledgehammer [timeout = 5]\noops\nend\n" in seen.read_text()
    assert sledgehammer(session, "", STATEMENT) == "by presburger"  # the whole goal
    assert sledgehammer(session, "(* nothing *) using assms sorry", STATEMENT) is None  # no suggestion
    assert sledgehammer(session, "ML ‹›", STATEMENT) is None  # rejected by the guard, never sent


# -- judging use_theories results (no server: the recorded FINISHED reply, altered) -----------------


def _recorded_run(stream: str = "use_theories") -> tuple[TheoryRun, Built, str]:
    finished = json.loads((FIXTURES / f"{stream}.parsed.json").read_text())[-1]["argument"]
    built = prepare(GOOD, STATEMENT, "Example")
    assert isinstance(built, Built)
    return TheoryRun(True, finished["ok"], finished["errors"], finished["nodes"][0]), built, "Example"


@needs_fixtures
def test_recorded_success_is_verified() -> None:
    verdict = judge(*_recorded_run())
    assert verdict.verified and verdict.reason is None and verdict.messages == []


@needs_fixtures
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda run: setattr(run, "ok", False), "error"),
        (lambda run: setattr(run, "node", None), "error"),
        (lambda run: run.node["status"].update(failed=1), "error"),
        (lambda run: run.node["status"].update(consolidated=False), "incomplete"),
        (lambda run: run.node["status"].update(unprocessed=2), "incomplete"),
        (
            lambda run: run.node["messages"].append({"kind": "error", "message": "Bad", "pos": {"line": 9}}),
            "error",
        ),
        (
            lambda run: run.errors.append({"kind": "error", "message": "Bad import", "pos": {"line": 2}}),
            "bad_statement",
        ),
    ],
)
def test_anything_short_of_a_clean_consolidated_theory_is_not_verified(
    change: Callable[[TheoryRun], None], reason: str
) -> None:
    run, built, name = _recorded_run()
    change(run)
    assert judge(run, built, name).reason == reason


@needs_fixtures
def test_recorded_failure_and_task_failure() -> None:
    run, built, name = _recorded_run("use_theories.Fail")
    verdict = judge(run, built, name)
    assert verdict.reason == "error" and "Failed to finish proof" in verdict.messages[0].text
    assert verdict.detail is not None and "Failed to finish proof" in verdict.detail
    failed = judge(TheoryRun(False, False, [], None, "Interrupt"), built, name)
    assert (failed.reason, failed.detail, failed.messages) == (
        Reason.ERROR,
        "Interrupt",
        [Message("error", "Interrupt")],
    )


@needs_fixtures
def test_pool_runs_isabelle_sessions_per_worker(tmp_path: Path) -> None:
    scenario = {"fixtures": str(FIXTURES), "adapt": True, "rules": RULES, "lifetime_s": 60}
    exe = write_fake_isabelle(tmp_path / "bin", scenario)
    backend = IsabelleBackend(IsabelleConfig(executable=str(exe), root_dir=tmp_path, cancel_grace_s=1.0))
    requests = [
        CheckRequest(GOOD, STATEMENT),
        CheckRequest(FAILING, STATEMENT),
        CheckRequest("sorry", STATEMENT),
    ]
    with VerifierPool(backend, workers=2, limits=Limits(timeout_s=10), workdir=tmp_path / "pool") as pool:
        verdicts = list(pool.map(requests * 2))
    assert [(v.reason, v.detail if v.reason == "forbidden" else None) for v in verdicts] == [
        (None, None),
        (Reason.ERROR, None),
        (Reason.FORBIDDEN, "sorry"),
    ] * 2
    assert pool.stats.sessions_started <= 2 and pool.stats.crashes == 0
