"""The goal-level Lean session, driven through the replay stand-in with recorded tactic-mode transcripts.

The stand-in (tests/standins/lean_repl_standin.py, not Lean) answers a request only when it equals
the recorded one, so each test also checks what the session sends. Statements are taken from the
recordings themselves. Where no recording has the event (a hang, a crash), the scripted stand-in
serves recorded replies and the event is an action, never a made-up reply.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from prover.itp.goals import Goal, Outcome
from prover.itp.lean.backend import LeanConfig
from prover.itp.lean.goals import (
    CORE,
    LeanGoalSession,
    normalise,
    open_lean_goal_session,
    parse_goal,
    proof_head,
    read_tactic_reply,
    refusal,
)
from prover.itp.lean.protocol import parse_reply
from prover.itp.lean.repl import ReplLaunch
from prover.itp.lean.statement import Header
from prover.search.lean_tactics import LEAN_TABLE, square_hints
from tests.conftest import LEAN_REPL_FIXTURES as FIXTURES
from tests.conftest import needs
from tests.standins.lean_repl_standin import read_fixture

STANDIN = Path(__file__).resolve().parent / "standins" / "lean_repl_standin.py"
pytestmark = needs(FIXTURES.is_dir(), f"the recorded REPL transcripts in {FIXTURES}")


def recorded(base: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(request, json.loads(reply)) for request, reply in read_fixture(FIXTURES / base)]


def statement_of(base: str) -> tuple[str, Header | None]:
    """The recording's statement file: its first command, after the header command if it has one."""
    first, second = (request for request, _ in recorded(base)[:2])
    if "env" not in second:  # core Lean: the statement runs alone in a fresh environment
        return first["cmd"], CORE
    return f"{first['cmd']}\n\n{second['cmd']}", None


def sent(log: Path) -> list[dict[str, Any]]:
    return [e["request"] for e in map(json.loads, log.read_text().splitlines()) if e["event"] == "request"]


def starts(log: Path) -> int:
    return sum(json.loads(line)["event"] == "start" for line in log.read_text().splitlines())


def opened(tmp_path: Path, base: str) -> tuple[LeanGoalSession, Path]:
    log = tmp_path / "log.jsonl"
    argv = (sys.executable, str(STANDIN), "replay", str(FIXTURES / base), "--log", str(log))
    statement, header = statement_of(base)
    return LeanGoalSession(statement, ReplLaunch(argv, FIXTURES.parent), header=header), log


def test_root_goal_of_a_core_statement(tmp_path: Path) -> None:
    session, log = opened(tmp_path, "proof_branching")
    with session:
        root = session.root
    assert root.tactics == () and not root.finished
    assert root.goals == (Goal(("p q r : Prop", "h1 : p ∧ q", "h2 : q → r"), "p ∧ r"),)
    assert sent(log) == [recorded("proof_branching")[0][0]]  # no header command, no env


def test_root_goal_under_a_mathlib_header(tmp_path: Path) -> None:
    session, log = opened(tmp_path, "Mathlib/pickle")
    with session:
        goal = session.root.goals[0]
        text = session.proof_text(["omega"])
    assert goal == Goal(("x : ℕ", "h : 2 * (2 * (2 * (2 * x))) = 48"), "x = 3")
    assert sent(log) == [r for r, _ in recorded("Mathlib/pickle")[:2]]  # header, then decl on env 0
    assert text == (
        "import Mathlib\nopen BigOperators\nopen Real\nopen Nat\n\n"
        "theorem mathd_algebra_455\n  (x : Nat)\n  (h : 2 * (2 * (2 * (2 * x))) = 48) :\n  x = 3 := by\n"
        "  omega\n"
    )


def test_steps_to_a_finished_state_and_its_proof_file(tmp_path: Path) -> None:
    session, log = opened(tmp_path, "proof_branching")
    with session:
        split = session.step(session.root, "apply And.intro", 10)
        assert split.ok and split.state is not None
        assert [g.hypotheses[0] for g in split.state.goals] == ["case left", "case right"]
        assert [g.conclusion for g in split.state.goals] == ["p", "r"]
        state = split.state
        for tactic in ("exact h1.left", "apply h2", "exact h1.right"):
            result = session.step(state, tactic, 10)
            assert result.ok and result.state is not None
            state = result.state
        assert state.finished and state.tactics == (
            "apply And.intro",
            "exact h1.left",
            "apply h2",
            "exact h1.right",
        )
        text = session.proof_text(state.tactics)
    assert text == (
        "theorem complex_and (p q r : Prop) (h1 : p ∧ q) (h2 : q → r) : p ∧ r := by\n"
        "  apply And.intro\n  exact h1.left\n  apply h2\n  exact h1.right\n"
    )
    assert sent(log) == [r for r, _ in recorded("proof_branching")]


def test_two_tactics_on_one_state_branch(tmp_path: Path) -> None:
    session, log = opened(tmp_path, "proof_step")
    with session:
        left = session.step(session.root, "apply Int.natAbs", 10)
        right = session.step(session.root, "have t : Nat := 42", 10)
        assert left.state is not None and right.state is not None
        assert left.state.goals == (Goal((), "Int"),) and right.state.goals == (Goal(("t : Nat",), "Nat"),)
        done = session.step(right.state, "exact t", 10)
    assert (
        done.state is not None
        and done.state.finished
        and done.state.tactics == ("have t : Nat := 42", "exact t")
    )
    assert sent(log) == [r for r, _ in recorded("proof_step")]


def test_an_error_message_is_an_error_even_with_no_goals(tmp_path: Path) -> None:
    session, _ = opened(tmp_path, "invalid_tactic")
    with session:
        result = session.step(session.root, "exact my_fake_premise", 10)
    assert result.outcome is Outcome.ERROR and result.state is None
    assert "Unknown identifier `my_fake_premise`" in result.error


def test_a_tactic_that_throws_is_an_error(tmp_path: Path) -> None:
    session, _ = opened(tmp_path, "unknown_tactic")
    with session:
        result = session.step(session.root, "exat 42", 10)
        assert session.alive()
    assert result.outcome is Outcome.ERROR and result.error == "<input>:1:1: unknown tactic"


def test_mathlib_exact_search_completes_with_its_suggestion_as_a_note(tmp_path: Path) -> None:
    session, log = opened(tmp_path, "Mathlib/exact")
    with session:
        result = session.step(session.root, "exact?", 30)
        text = session.proof_text(["exact?"])
    assert result.state is not None and result.state.finished
    assert any("Try this" in note and "Nat.one_pos" in note for note in result.notes)
    assert text == "import Mathlib\n\ntheorem test : 0 < 1 := by\n  exact?\n"
    assert sent(log) == [r for r, _ in recorded("Mathlib/exact")[:3]]


def test_several_goals_then_a_refused_multiline_sorry(tmp_path: Path) -> None:
    session, log = opened(tmp_path, "Mathlib/induction")
    with session:
        cases = session.step(session.root, "induction x", 10)
        assert cases.state is not None
        assert cases.state.goals == (
            Goal(("case zero",), "0 = 0"),
            Goal(("case succ", "n✝ : ℕ", "a✝ : n✝ = n✝"), "n✝ + 1 = n✝ + 1"),
        )
        one = session.step(cases.state, "next => rfl", 10)
        assert one.state is not None and len(one.state.goals) == 1
        refused = session.step(session.root, "induction x with\n| zero => sorry\n| succ x => sorry", 10)
    assert refused.outcome is Outcome.REFUSED and "sorry" in refused.error
    assert sent(log) == [r for r, _ in recorded("Mathlib/induction")[:4]]  # the refused one never went


@pytest.mark.parametrize(
    "tactic",
    [
        "sorry",  # the recorded next request, never sent
        "admit",
        "exact (by sorry)",
        "native_decide",
        "decide +native",
        "polyrith",
        "run_tac pure ()",
        "set_option debug.skipKernelTC true in rfl",
        "simp; ring",
        "simp\nring",
        "simp -- then ring",
        "/- -/ simp",
        "   ",
    ],
)
def test_refused_tactics_never_reach_the_repl(tmp_path: Path, tactic: str) -> None:
    session, log = opened(tmp_path, "tactic_mode_sorry")
    with session:
        result = session.step(session.root, tactic, 10)
    assert result.outcome is Outcome.REFUSED and result.error and result.state is None
    assert sent(log) == [recorded("tactic_mode_sorry")[0][0]]


def test_what_counts_as_one_tactic() -> None:
    for one in (
        "constructor <;> simp",
        "nlinarith [sq_nonneg (a - b), sq_nonneg (a + b)]",
        "exact (by simp; ring)",
        "induction x with\n| zero => simp\n| succ n ih => omega",
        "on_goal 1 =>\n  simp\n  ring",
        "· simp",
        "set_option maxHeartbeats 400000 in nlinarith",
    ):
        assert refusal(one) is None, one
    assert refusal("native_decide", allow_native=True) is None
    assert normalise("  induction x with\n  | zero => simp  \n\n") == "induction x with\n| zero => simp"


def test_a_restarted_process_rebuilds_the_state_by_replaying_its_path(tmp_path: Path) -> None:
    session, log = opened(tmp_path, "proof_branching")
    with session:
        split = session.step(session.root, "apply And.intro", 10)
        assert split.state is not None
        session.close()  # as after a timeout or a crash: every REPL id is gone
        left = session.step(split.state, "exact h1.left", 10)
    assert left.state is not None and left.state.tactics == ("apply And.intro", "exact h1.left")
    assert session.restarts == 1 and starts(log) == 2
    requests = [r for r, _ in recorded("proof_branching")]
    assert sent(log) == requests[:2] + requests[:3]  # the new process replays "apply And.intro"


def counted(reply: dict[str, Any]) -> dict[str, Any]:
    """A recorded reply with its ids replaced by the script's counters (same values, same order)."""
    out = {k: "$env" if k == "env" else "$proofState" if k == "proofState" else v for k, v in reply.items()}
    if "sorries" in reply:
        out["sorries"] = [{**s, "proofState": "$proofState"} for s in reply["sorries"]]
    return out


def scripted(tmp_path: Path, base: str, *actions: dict[str, Any]) -> tuple[LeanGoalSession, Path]:
    """The recording's replies as scripted rules (ids handed out by the stand-in's counter, which is
    how its proof-state check knows them; the values are the recorded ones), ``actions`` first."""
    rules: list[dict[str, Any]] = [*actions]
    for request, reply in recorded(base):
        key = "tactic" if "tactic" in request else "cmd"
        rules.append({key: f"^{re.escape(request[key])}$", "reply": counted(reply)})
    script, log = tmp_path / "script.json", tmp_path / "log.jsonl"
    script.write_text(json.dumps({"rules": rules}))
    argv = (sys.executable, str(STANDIN), "script", str(script), "--log", str(log))
    statement, header = statement_of(base)
    return LeanGoalSession(statement, ReplLaunch(argv, tmp_path), header=header), log


@pytest.mark.parametrize("action", ["hang", "crash"])
def test_a_hang_or_a_crash_restarts_the_process_on_the_next_step(tmp_path: Path, action: str) -> None:
    session, log = scripted(tmp_path, "readme", {"tactic": "^simp$", "action": action})
    with session:
        assert session.root.goals == (Goal(("x : Unit",), "Nat"),)
        lost = session.step(session.root, "simp", 0.5)
        assert not session.alive()
        after = session.step(session.root, "apply Int.natAbs", 10)
    assert lost.outcome is (Outcome.TIMEOUT if action == "hang" else Outcome.ERROR)
    assert after.state is not None and after.state.goals == (Goal(("x : Unit",), "Int"),)
    assert session.restarts == 1 and starts(log) == 2


def test_a_statement_that_does_not_elaborate_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="does not elaborate: unsolved goals"):
        opened(tmp_path, "have_by_sorry")


def test_the_factory_starts_the_repl_as_the_backend_does(tmp_path: Path) -> None:
    argv = (sys.executable, str(STANDIN), "replay", str(FIXTURES / "assumption_proof"))
    config = LeanConfig(project_dir=tmp_path, repl_command=argv, sandbox=False)
    statement, header = statement_of("assumption_proof")
    with open_lean_goal_session(statement, config, tmp_path / "scratch", header=header) as session:
        result = session.step(session.root, "assumption", 10)
    assert result.state is not None and result.state.finished


def replies_of(base: str) -> list[Any]:
    return [parse_reply(reply) for _, reply in recorded(base)]


def test_replies_that_leave_no_usable_state_are_errors() -> None:
    kernel = read_tactic_reply(replies_of("app_type_mismatch2")[4])
    assert kernel.outcome is Outcome.ERROR and kernel.error.startswith("Error: kernel type check failed")
    free_vars = read_tactic_reply(replies_of("self_proof_apply_check")[2])
    assert free_vars.outcome is Outcome.ERROR and "free variables" in free_vars.error
    metavariables = read_tactic_reply(replies_of("app_type_mismatch")[4])
    assert metavariables.outcome is Outcome.ERROR and "metavariable" in metavariables.error
    sorried = read_tactic_reply(replies_of("by_cases")[3])
    assert sorried.outcome is Outcome.ERROR and sorried.error == "Incomplete: contains sorry"
    traced = read_tactic_reply(replies_of("trace_simp")[6])
    assert traced.outcome is Outcome.OK and traced.goals == () and len(traced.notes) == 2


def test_every_recorded_goal_parses_back_to_its_text() -> None:
    bases = sorted(p.with_suffix("") for p in [*FIXTURES.glob("*.in"), *FIXTURES.glob("Mathlib/*.in")])
    goals = [
        goal
        for base in bases
        for _, reply in recorded(str(base.relative_to(FIXTURES)))
        for goal in [*reply.get("goals", []), *(s["goal"] for s in reply.get("sorries", []))]
    ]
    assert len(goals) > 100
    for text in goals:
        goal = parse_goal(text)
        assert "\n".join([*goal.hypotheses, f"⊢ {goal.conclusion}"]) == text


def test_the_proof_goes_where_the_statements_sorry_was() -> None:
    assert proof_head("theorem ex : False := sorry") == "theorem ex : False := by"
    assert proof_head("theorem t : 1 = 1 := by -- why\n  sorry") == "theorem t : 1 = 1 := by"
    with pytest.raises(ValueError):
        proof_head("theorem t (p : Prop) : p → p := by\n  intro h\n  sorry")


def test_every_lean_table_row_passes_the_refusal_check() -> None:
    tactics = [rule.tactic for rule in LEAN_TABLE]
    tactics += [t for names in (["x"], ["a", "b", "c"]) for _, t in square_hints(names)]
    for tactic in tactics:
        assert refusal(tactic) is None, tactic
    assert len({rule.name for rule in LEAN_TABLE}) == len(LEAN_TABLE)
    assert "polyrith" not in " ".join(tactics) and refusal("polyrith") is not None
    assert square_hints([]) == []
    assert square_hints(["a", "b"])[0][1] == "nlinarith [sq_nonneg (a - b), sq_nonneg (a + b)]"
