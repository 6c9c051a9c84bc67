"""All 61 recorded Lean REPL transcripts, replayed through the real client (``ReplProcess``).

The replay stand-in (tests/standins/lean_repl_standin.py, not Lean) serves each recorded reply only
when the client's request equals the recorded one, so these tests check both directions of the
framing, and the typed parsing of every recorded reply.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from prover.itp.lean.protocol import (
    CommandReply,
    ErrorReply,
    Pos,
    TacticReply,
    encode_request,
    parse_reply,
)
from prover.itp.lean.repl import ReplLaunch, ReplProcess
from tests.conftest import LEAN_REPL_FIXTURES as FIXTURES
from tests.conftest import needs
from tests.standins.lean_repl_standin import read_fixture

STANDIN = Path(__file__).parent / "standins" / "lean_repl_standin.py"
BASES = sorted(p.with_suffix("") for p in [*FIXTURES.glob("*.in"), *FIXTURES.glob("Mathlib/*.in")])
pytestmark = needs(FIXTURES.is_dir(), f"the recorded REPL transcripts in {FIXTURES}")


def fixture_id(base: Path) -> str:
    return str(base.relative_to(FIXTURES))


def replay(base: Path) -> list[tuple[dict[str, Any], Any, Any]]:
    """Send every recorded request through the client; (request, parsed reply, recorded reply)."""
    repl = ReplProcess(ReplLaunch((sys.executable, str(STANDIN), "replay", str(base)), FIXTURES.parent))
    out = []
    try:
        for request, recorded in read_fixture(base):
            if "cmd" in request and not ("tactic" in request and "proofState" in request):
                options = {k: v for k, v in request.items() if k not in ("cmd", "env")}
                got: Any = repl.command(request["cmd"], request.get("env"), 10, **options)
            elif "tactic" in request and "proofState" in request:
                got = repl.tactic(request["proofState"], request["tactic"], 10)
            else:  # file mode and pickling go through the generic request
                got = parse_reply(repl.request(request, 10))
            out.append((request, got, parse_reply(json.loads(recorded))))
    finally:
        repl.close()
    assert repl.returncode == 0, repl.stderr_tail()  # the stand-in saw every request it expected
    return out


def test_all_61_fixture_pairs_are_found() -> None:
    assert len(BASES) == 61
    assert sum(1 for b in BASES if b.parent.name == "Mathlib") == 6


@pytest.mark.parametrize("base", BASES, ids=fixture_id)
def test_replay_matches_recording(base: Path) -> None:
    exchanges = replay(base)
    assert exchanges
    for request, got, recorded in exchanges:
        assert got == recorded  # typed comparison of the parsed JSON, all fields
        if isinstance(got, CommandReply):
            assert all(m.severity in ("info", "warning", "error") for m in got.messages)
            if any("declaration uses `sorry`" in m.data for m in got.messages):
                assert got.uses_sorry
        elif isinstance(got, TacticReply):
            if got.completed:  # kernel-checked, so nothing may be left open
                assert got.goals == () and not any(m.is_error for m in got.messages)
            assert all(m.pos == Pos(0, 0) for m in got.messages)  # tactic mode has no positions
        else:
            assert isinstance(got, ErrorReply) and got.message
        if "env" in request and isinstance(got, CommandReply) and "pickleTo" not in request:
            assert got.env > request["env"]  # a command on an env makes a new env, never changes it


def replies(name: str) -> list[Any]:
    return [got for _, got, _ in replay(FIXTURES / name)]


def test_readme_walkthrough_reaches_completed() -> None:
    cmd, step, done = replies("readme")
    assert isinstance(cmd, CommandReply) and cmd.env == 0 and cmd.uses_sorry
    assert cmd.sorries[0].proof_state == 0 and cmd.sorries[0].goal == "x : Unit\n⊢ Nat"
    assert cmd.messages[0].pos == Pos(1, 4) and cmd.messages[0].is_sorry_warning
    assert isinstance(step, TacticReply) and not step.completed and step.goals == ("x : Unit\n⊢ Int",)
    assert isinstance(done, TacticReply) and done.completed and done.goals == ()


def test_failed_tactic_with_no_goals_is_not_success() -> None:
    (_, bad) = replies("invalid_tactic")[-2:]
    assert isinstance(bad, TacticReply) and bad.goals == () and not bad.completed
    assert bad.proof_status == "Incomplete: contains sorry"
    assert any(m.is_error for m in bad.messages)


def test_error_replies_are_typed() -> None:
    assert replies("unknown_tactic")[-1] == ErrorReply("Lean error:\n<input>:1:1: unknown tactic")
    assert replies("unknown_proof_state")[-1] == ErrorReply("Unknown proof state.")
    assert replies("unknown_environment")[-1] == ErrorReply("Unknown environment.")


def test_positions_of_multiline_commands() -> None:
    first, second, third = replies("line_breaks")
    assert [(m.pos, m.end_pos) for m in first.errors] == [(Pos(1, 23), Pos(1, 25)), (Pos(2, 0), Pos(2, 5))]
    assert second.sorries[0].pos == Pos(2, 2)
    assert third == CommandReply(env=2)


def test_raw_newline_inside_a_string_is_never_sent() -> None:
    # The REPL would join "by" and "sorry" into "bysorry" (fixture invalid_line_break).
    data = encode_request({"cmd": "theorem foo : 1 = 1 := by\nsorry", "env": 0})
    assert data.endswith(b"\n\n") and data.count(b"\n") == 2
    assert json.loads(data) == {"cmd": "theorem foo : 1 = 1 := by\nsorry", "env": 0}
    assert "⊢".encode() in encode_request({"cmd": "⊢"})  # raw UTF-8, like the REPL's own output
    (reply, _) = replies("invalid_line_break")
    assert reply.errors[0].data == "Unknown identifier `bysorry`"


def test_ids_are_global_to_the_process() -> None:
    got = replies("proof_transitivity")
    envs = [r.env for r in got if isinstance(r, CommandReply)]
    states = [r.proof_state for r in got if isinstance(r, TacticReply)]
    assert envs == sorted(envs) and len(set(envs)) == len(envs)
    assert states == sorted(states) and len(set(states)) == len(states)


def test_header_env_is_reused_without_reimporting() -> None:
    exchanges = replay(FIXTURES / "Mathlib" / "exact")
    header = exchanges[0][1]
    assert exchanges[0][0] == {"cmd": "import Mathlib"} and header.env == 0
    later = [request for request, _, _ in exchanges[1:] if "cmd" in request]
    assert later and all(r["env"] == 0 and "import" not in r["cmd"] for r in later)
    exact = exchanges[2][1]
    assert exact.completed and exact.messages[0].data.startswith("Try this")
    assert exchanges[-1][1] == ErrorReply(
        "Lean error:\n`exact?` could not close the goal. Try `apply?` to see partial suggestions."
    )


def test_all_tactics_entries_are_parsed() -> None:
    reply = replies("all_tactics")[0]
    assert reply.tactics and all(t.proof_state is not None and t.pos.line >= 1 for t in reply.tactics)
    calc = replies("calc")[0]
    assert any("sorryAx" in t.used_constants for t in calc.tactics)


def test_infotree_and_pickles() -> None:
    assert replies("infotree")[0].infotree
    pickled = replies("pickle_proof_state_1")
    assert any(isinstance(r, TacticReply) for r in pickled)
    first, again, unpickled, used = replies("pickle_environment")
    assert first.env == again.env == 0 and unpickled.env == 1 and used.env == 2


def test_kernel_failure_in_tactic_mode_is_not_completed() -> None:
    got = replies("self_proof_exact_check")
    statuses = [r.proof_status for r in got if isinstance(r, TacticReply)]
    assert statuses and any(s.startswith("Error: kernel type check failed") for s in statuses)
    assert not any(r.completed for r in got if isinstance(r, TacticReply))
