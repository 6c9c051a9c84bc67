"""The portfolio search on Lean through the goal-session interface, and the Lean goal reader.

The REPL is the replay stand-in (tests/standins/lean_repl_standin.py): it answers a request only
when it is exactly the next recorded one, with the recorded reply; any other request ends the
process (no reply is made up), which the session reports as an error and answers by restarting
and replaying the state's path. So a search over it tries real table rows, sees them fail, and
goes on along the recorded steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from prover.itp.goals import Goal, ProofState
from prover.search.language import LEAN, ROCQ, search_language
from prover.search.lean_shape import lean_shape_of
from prover.search.lean_tactics import LEAN_TABLE
from prover.search.policy import MODEL_RULE
from prover.search.portfolio import SearchConfig, search
from prover.search.tactics import TABLE, Rule, proposals
from tests.conftest import LEAN_REPL_FIXTURES as FIXTURES
from tests.conftest import needs
from tests.test_lean_goals import opened, recorded, sent

pytestmark = needs(FIXTURES.is_dir(), f"the recorded REPL transcripts in {FIXTURES}")


class Proposing:
    """A step policy that writes the given tactics on states whose first goal concludes ``key`` and
    runs them first (cost 0); the table's rows keep their priorities."""

    def __init__(self, tactics: dict[str, list[str]]) -> None:
        self.tactics = tactics

    def identity(self) -> str:
        return "proposing"

    def costs(self, state: ProofState, candidates: Sequence[tuple[Rule, str]]) -> list[float]:
        return [0.0 if rule is MODEL_RULE else rule.priority for rule, _ in candidates]

    def propose(self, state: ProofState) -> list[str]:
        return list(self.tactics.get(state.goals[0].conclusion, [])) if state.goals else []


def goal(text: str) -> Goal:
    from prover.itp.lean.goals import parse_goal

    return parse_goal(text)


# -- reading Lean goals --------------------------------------------------------------------------


def test_lean_goals_give_the_shared_feature_names() -> None:
    nat = lean_shape_of(goal("x : ℕ\nh : 2 * (2 * (2 * (2 * x))) = 48\n⊢ x = 3"))  # Mathlib/pickle
    assert {"nat", "concl_eq"} <= nat.features and nat.vars_by_type == {"nat": ["x"]}
    assert not nat.features & {"R", "closed", "concl_ineq", "intro"}
    real = lean_shape_of(goal("x : ℝ\nh0 : |x| > 1\n⊢ x < 0 ∨ 2 * x > 2"))  # Mathlib/on_goal
    assert {"R", "abs", "concl_or", "concl_ineq"} <= real.features and "concl_eq" not in real.features
    props = lean_shape_of(goal("p q r : Prop\nh1 : p ∧ q\nh2 : q → r\n⊢ p ∧ r"))  # proof_branching
    assert {"concl_and", "hyp_and"} <= props.features and props.vars_by_type == {"prop": ["p", "q", "r"]}
    case = lean_shape_of(goal("case zero\n⊢ 0 = 0"))  # Mathlib/induction: a tag is no hypothesis
    assert {"closed", "concl_eq", "no_hyps"} <= case.features
    binders = lean_shape_of(goal("⊢ ∀ (a b : ℝ), a ≤ b → ∃ c, a ≤ c ∧ c ≤ b"))
    assert {"intro", "R", "concl_ineq"} <= binders.features
    assert not binders.features & {"concl_and", "concl_ex"}  # under the binder, not top level
    assert "concl_neq" in lean_shape_of(goal("n : ℤ\n⊢ n ^ 2 ≠ 2")).features


def test_proposals_pick_lean_rows_by_the_goals_types() -> None:
    nat = [t for _, t in proposals(lean_shape_of(goal("x : ℕ\nh : 2 * x = 6\n⊢ x = 3")), LEAN_TABLE)]
    assert nat[:3] == ["rfl", "norm_num", "omega"] and "positivity" not in nat
    real = [t for _, t in proposals(lean_shape_of(goal("x : ℝ\nh0 : |x| > 1\n⊢ x < 0 ∨ 2 * x > 2")), LEAN_TABLE)]
    assert "omega" not in real and "linarith" in real and "positivity" in real
    assert "decide" not in real and "rfl" not in real
    assert LEAN.arguments(lean_shape_of(goal("a b : ℝ\n⊢ a * b ≤ (a ^ 2 + b ^ 2) / 2")), Goal((), "")) == [
        (LEAN.arguments(lean_shape_of(goal("a b : ℝ\n⊢ a * b ≤ (a ^ 2 + b ^ 2) / 2")), Goal((), ""))[0][0],
         "nlinarith [sq_nonneg (a - b), sq_nonneg (a + b)]")
    ]
    assert LEAN.arguments(lean_shape_of(goal("p : Prop\n⊢ p ∨ ¬p")), Goal((), "")) == []


def test_each_language_is_data_and_rocq_keeps_its_search() -> None:
    assert ROCQ.table is TABLE and ROCQ.first_try_s == 1.5
    assert ROCQ.every_goal("lia.") == "all: try (lia)."
    assert LEAN.table is LEAN_TABLE and LEAN.every_goal("norm_num") == "all_goals try (norm_num)"
    assert LEAN.first_try_s > max(rule.timeout_s for rule in LEAN_TABLE)  # no short first try
    assert SearchConfig().table is TABLE and SearchConfig(language=LEAN).table is LEAN_TABLE
    assert search_language("lean") is LEAN
    with pytest.raises(ValueError, match="goal-level session"):
        search_language("isabelle")


# -- the search over the stand-in --------------------------------------------------------------------


def test_the_portfolio_on_lean_goes_along_the_recorded_steps_to_a_finished_path(tmp_path: Path) -> None:
    session, log = opened(tmp_path, "readme")  # def f (x : Unit) : Nat := by sorry
    policy = Proposing({"Nat": ["apply Int.natAbs"], "Int": ["exact -37"]})
    with session:
        result = search(session, session.decl, "f", SearchConfig(budget_s=60, language=LEAN, policy=policy))
    assert result.proved and result.tactics == ["apply Int.natAbs", "exact -37"]
    assert result.proof == "def f (x : Unit) : Nat := by\n  apply Int.natAbs\n  exact -37\n"
    tried = [(a.tactic, a.rule, a.outcome) for a in result.attempts]
    # the table's cheap closers on the root (0.2 .. 0.5, simp queued before the step at 0.5 too),
    # each one unrecorded, so each ends the stand-in and the next step restarts it
    assert tried == [
        ("apply Int.natAbs", "model", "ok"),
        ("norm_num", "norm_num", "error"),
        ("omega", "omega", "error"),
        ("linarith", "linarith", "error"),
        ("simp", "simp", "error"),
        ("exact -37", "model", "closed"),
    ]
    requests = [r for r, _ in recorded("readme")]
    assert sent(log)[-3:] == requests  # the last process: open, the replayed step, the closing one


def test_a_closer_on_several_lean_goals_is_sent_as_all_goals_try(tmp_path: Path) -> None:
    session, log = opened(tmp_path, "Mathlib/induction")  # x : ℕ ⊢ x = x; `induction x` gives two goals
    rfl = next(rule for rule in LEAN_TABLE if rule.name == "rfl")
    config = SearchConfig(budget_s=30, language=LEAN, policy=Proposing({"x = x": ["induction x"]}),
                          table=(rfl,), arguments=False)
    with session:
        result = search(session, session.decl, "foo", config)
    assert not result.proved
    assert [a.tactic for a in result.attempts] == ["induction x", "rfl", "all_goals try (rfl)"]
    # The request as built; no REPL reply to it was ever recorded, so the stand-in ends there.
    assert {"tactic": "all_goals try (rfl)", "proofState": 1} in sent(log)
