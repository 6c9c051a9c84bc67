"""Candidates that decompose integer, nat-in-R and complex goals (``search/arithmetic.py``): which
goals get them, and that each proves, against a real Coq and certified by the pool, a statement
the search could not prove without it. The statements are written for this test (none is a
miniF2F problem)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from prover.itp.base import CheckRequest
from prover.itp.goals import Goal
from prover.search.arguments import argument_candidates
from prover.search.portfolio import SearchConfig
from prover.search.runner import Problem, prove
from prover.search.shape import shape_of
from tests.conftest import REPO


def _names(hyps: Sequence[str], concl: str) -> dict[str, str]:
    goal = Goal(tuple(hyps), concl)
    return {rule.name: tactic for rule, tactic in argument_candidates(shape_of(goal), goal)}


def test_which_goals_get_which_decomposition() -> None:
    gcd = _names(["n : nat", "h0 : Nat.gcd n 12 = 4", "h1 : Nat.lcm n 12 = 24"], "n = 8")
    assert "gcd_parts" in gcd and "bounded_cases" in gcd
    assert "assert (n <= 24) by (nia)" in gcd["bounded_cases"]  # the largest literal of its equations
    assert "gcd_parts" not in _names(["x, y : R", "h : x = y"], "x + 1 = y + 1")
    modpow = _names([], "3 ^ 1000 mod 7 = 4")
    assert {"modpow_nat", "modpow_N", "modpow_Z"} <= set(modpow)
    assert not any(n.startswith("modpow") for n in _names(["n : nat"], "n ^ 2 mod 7 = 4"))
    inr = _names(["x : nat", "h0 : (0 < x)%nat", "h : INR x + 1 = 5"], "x = 4")
    assert {"inr_facts", "nat_in_R"} <= set(inr)
    assert "nat_in_R" not in _names(["x : nat", "h : INR x + 1 = 5"], "INR x = 4")
    assert "complex_hyps" in _names(["a, b : C", "h0 : a + b = 3"], "a = 2")
    assert "complex_hyps" not in _names(["a, b : C"], "a + b = b + a")
    # No enumeration past what a budget can afford.
    assert "bounded_cases" not in _names(["a, b : nat", "h : a * b = 2005"], "a + b = 406")


CASES = {
    "gcd_lcm": ("Require Import Arith.\n\nTheorem gcd_lcm : forall n : nat, Nat.gcd n 12 = 4 -> "
                "Nat.lcm n 12 = 24 -> n = 8.\nProof.\nAdmitted.\n", "Nat.gcd_divide_l"),
    "modpow": ("Require Import ZArith.\nOpen Scope Z_scope.\n\nTheorem modpow : (3 ^ 1000000) mod 7 = 4.\n"
               "Proof.\nAdmitted.\n",
               "Zpow_mod_correct"),
    "nat_in_r": ("Require Import Reals.\nOpen Scope R_scope.\n\nTheorem nat_in_r (x : nat) :\n"
                 "  IZR (Z.of_nat x) + 1 / 4 * IZR (Z.of_nat x) = 10 -> x = 8%nat.\nProof.\nAdmitted.\n",
                 "INR_eq"),
    "complex": ("Require Import Reals.\nRequire Import Coquelicot.Coquelicot.\nOpen Scope C_scope.\n\n"
                "Theorem complex (a b : C) (h0 : a + b = 3) (h1 : a - b = 1) : a = 2 /\\ b = 1.\n"
                "Proof.\nAdmitted.\n", "f_equal fst"),
}


@pytest.mark.rocq
@pytest.mark.parametrize("name", sorted(CASES))
def test_each_decomposition_proves_what_the_search_could_not(rocq_pool, name: str) -> None:  # type: ignore[no-untyped-def]
    statement, used = CASES[name]
    workdir = Path(REPO / "runs" / "test-step")
    without = prove(Problem(name, statement), rocq_pool, SearchConfig(budget_s=8, arguments=False), workdir)
    assert not without.proved
    found = prove(Problem(name, statement), rocq_pool, SearchConfig(budget_s=30), workdir)
    assert found.proved and found.proof is not None and used in found.proof


@pytest.mark.rocq
def test_bounded_cases_enumerate_a_product(rocq_pool) -> None:  # type: ignore[no-untyped-def]
    # (CoqHammer's sauto also proves small ones, so this checks the candidate itself, by the pool.)
    statement = ("Require Import Arith Lia.\n\nTheorem cases (a b : nat) (h0 : a * a * b = 147) (h1 : 1 < a) :\n"
                 "  b = 3.\nProof.\nAdmitted.\n")
    goal = Goal(("a, b : nat", "h0 : a * a * b = 147", "h1 : 1 < a"), "b = 3")
    tactics = [t for rule, t in argument_candidates(shape_of(goal), goal) if rule.name == "bounded_cases"]
    assert [t.split(")")[0] for t in tactics] == ["assert (a <= 147", "assert (b <= 147"]
    tactic = tactics[0]
    proof = statement.replace("Admitted.", f"  intros. {tactic}\n  all: lia.\nQed.")
    assert rocq_pool.check(CheckRequest(proof, statement)).verified
