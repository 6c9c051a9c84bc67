"""The goal-level Rocq session and the portfolio search, against a real Coq; every proof the search
reports is certified by the verifier pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from prover.itp.base import CheckRequest, Limits
from prover.itp.goals import Outcome
from prover.itp.rocq.backend import RocqBackend
from prover.itp.rocq.goals import RocqGoalSession, refusal
from prover.search.portfolio import SearchConfig, search
from prover.search.runner import Problem, prove, prove_all
from prover.search.tactics import EXTRA_IMPORTS
from prover.verify.pool import VerifierPool

pytestmark = pytest.mark.rocq

REAL = "Require Import Reals.\nOpen Scope R_scope.\n\nTheorem t1 : forall x y : R, x = 1 -> y = 2 /\\ x + y = 3.\nProof.\nAdmitted.\n"


@pytest.fixture(scope="module")
def pool() -> Iterator[VerifierPool]:
    with VerifierPool(RocqBackend(), workers=1, limits=Limits(timeout_s=30)) as p:
        yield p


def test_refusal_rules() -> None:
    assert refusal("lra.") is None
    assert refusal("all: try (nia).") is None
    assert refusal("admit.") is not None
    assert refusal("Qed.") is not None
    assert refusal("Timeout 3 lia.") is not None
    assert refusal("lia. lra.") is not None
    assert refusal("-") is not None
    assert refusal("native_compute; reflexivity.") is not None


def test_goal_session_open_step_undo_timeout(tmp_path: pytest.TempPathFactory) -> None:
    with RocqGoalSession(REAL, EXTRA_IMPORTS) as session:
        root = session.root
        assert len(root.goals) == 1 and root.goals[0].conclusion.startswith("forall x y")
        intro = session.step(root, "intros x y h.", 5)
        assert intro.ok and intro.state is not None
        goal = intro.state.goals[0]
        assert "h : x = 1" in goal.hypotheses and goal.conclusion == "y = 2 /\\ x + y = 3"
        split = session.step(intro.state, "split.", 5)
        assert split.ok and split.state is not None and len(split.state.goals) == 2
        # Back to an earlier state (a sibling branch), then forward again on the first branch.
        other = session.step(root, "intro x.", 5)
        assert other.ok and other.state is not None and other.state.goals[0].conclusion.startswith("forall y")
        assert not session.step(split.state, "lra.", 5).ok  # y = 2 is not provable
        bad = session.step(intro.state, "exact I.", 5)
        assert bad.outcome is Outcome.ERROR and bad.error
        refused = session.step(root, "admit.", 5)
        assert refused.outcome is Outcome.REFUSED
        slow = session.step(root, "repeat (assert (1 = 1) by reflexivity).", 1)
        assert slow.outcome is Outcome.TIMEOUT
        again = session.step(intro.state, "split.", 5)  # the session recovers after a timeout
        assert again.ok and again.state is not None and len(again.state.goals) == 2


def test_proof_text_is_certified_with_extra_imports(pool: VerifierPool) -> None:
    statement = "Require Import Arith.\nTheorem t2 : forall n : nat, n + 0 = n.\nProof.\n"
    with RocqGoalSession(statement, EXTRA_IMPORTS) as session:
        done = session.step(session.root, "intros; lia.", 5)
        assert done.ok and done.state is not None and done.state.finished
        proof = session.proof_text(done.state.tactics)
    assert EXTRA_IMPORTS[0] in proof
    assert pool.check(CheckRequest(proof, statement)).verified


SMALL = [
    Problem("lin", "Require Import Reals.\nOpen Scope R_scope.\nTheorem lin (a b : R) : 3 * a + 2 * b = 12 -> a = 4 -> b = 0.\nProof.\n"),
    Problem("conj", REAL.replace("y = 2 /\\ x + y = 3", "x + 1 = 2 /\\ 2 * x = 2")),
    Problem("fundef", "Require Import Reals.\nOpen Scope R_scope.\nTheorem fd (f : R -> R) (h0 : forall x, f x = 2 * x + 3) : f 2 = 7.\nProof.\n"),
    Problem("natmod", "Require Import Arith.\nTheorem nm : forall n : nat, n mod 3 = 1 -> (n + 2) mod 3 = 0.\nProof.\n"),
    Problem("zclosed", "Require Import ZArith.\nOpen Scope Z_scope.\nTheorem zc : (29 ^ 13 - 5 ^ 13) mod 7 = 3.\nProof.\n"),
]


def test_engine_proves_small_statements(pool: VerifierPool) -> None:
    results = list(prove_all(SMALL, pool, SearchConfig(budget_s=20), workers=2))
    for result in results:
        assert result.proved, (result.name, result.error, result.attempts[-5:])
        assert result.proof is not None and result.technique is not None
        assert pool.check(CheckRequest(result.proof, next(p.statement for p in SMALL if p.name == result.name))).verified


def test_unprovable_statement_reports_attempts(pool: VerifierPool, tmp_path: pytest.TempPathFactory) -> None:
    problem = Problem("false", "Require Import Reals.\nOpen Scope R_scope.\nTheorem f (x : R) : x * x = 2 -> x = 1.\nProof.\n")
    result = prove(problem, pool, SearchConfig(budget_s=5), tmp_path)  # type: ignore[arg-type]
    assert not result.proved and result.proof is None
    assert result.attempts and all(a.tactic for a in result.attempts)


def test_search_without_pool_counts_finished_path() -> None:
    statement = SMALL[0].statement
    with RocqGoalSession(statement, EXTRA_IMPORTS) as session:
        result = search(session, statement, "lin", SearchConfig(budget_s=10))
    assert result.proved and result.tactics
