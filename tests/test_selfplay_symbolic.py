"""The symbolic conjecturer: variants of the demo statements are well-formed statement files under
the seed's header with fresh names, the same rng seed gives the same variants, each kind does what
it says, and the variants elaborate in Coq."""

from __future__ import annotations

import random

import pytest

from prover.itp.rocq.text import parse_statement
from prover.search.runner import theorem_name
from prover.selfplay.filter import Candidate, declares_refusal, filter_conjectures, normalise
from prover.selfplay.symbolic import KINDS, Mutation, mutate
from prover.verify.pool import VerifierPool
from tests.conftest import DATA, needs

DEMO = DATA / "rocq-demo" / "statements"
needs_demo = needs(DEMO.is_dir(), f"the demo statements in {DEMO}")
SEEDS = ("n_ineq", "r_abs_bound", "r_sys_two_vars", "z_mod_sum", "n_sum_first", "r_amgm_two", "n_even_double")
ZED = "Require Import ZArith.\nTheorem z : forall a : Z, (a * a >= 0)%Z.\n"
INEQ = "Require Import Arith Lia.\nOpen Scope nat_scope.\n\n(* informal: x *)\nTheorem n_ineq (n : nat) (h0 : 3 <= n) : 2 * n + 1 < n * n.\nProof.\nAdmitted.\n"


def declaration(m: Mutation) -> str:
    """The new theorem's statement on one line, without its name."""
    target = parse_statement(m.statement).targets[0]
    return " ".join(f"{target.binders} : {target.type}".split())


def only(kind: str, statement: str = INEQ, partner: str | None = None) -> set[str]:
    return {declaration(m) for m in mutate(statement, random.Random(0), 50, partner=partner, kinds=[kind])}


@needs_demo
@pytest.mark.parametrize("seed", SEEDS)
def test_mutations_are_fresh_statements_under_the_seed_header(seed: str) -> None:
    statement = (DEMO / f"{seed}.v").read_text()
    header = [s.normalized for s in parse_statement(statement).header]
    mutations = mutate(statement, random.Random(7), 8)
    assert 4 <= len(mutations) <= 8
    assert mutate(statement, random.Random(7), 8) == mutations  # deterministic for a given seed
    names = [m.name for m in mutations]
    assert len(set(names)) == len(names) and seed not in names
    forms = {normalise(statement)}
    for m in mutations:
        parsed = parse_statement(m.statement)
        assert [s.normalized for s in parsed.header] == header and not parsed.prelude
        assert len(parsed.targets) == 1 and theorem_name(m.statement) == m.name
        assert m.kind in KINDS and m.name.startswith(f"{seed}_c")
        assert m.statement.endswith("\nProof.\nAdmitted.\n") and "informal" not in m.statement
        assert declares_refusal(m.statement, statement) is None
        forms.add(normalise(m.statement))
    assert len(forms) == len(mutations) + 1  # none repeats the seed or another mutation
    assert len({m.kind for m in mutations}) >= 3


def test_each_kind() -> None:
    assert "(n : nat) (h0 : 3 <= n) : 2 * n + 2 < n * n" in only("constant")
    assert "(n : nat) (h0 : 4 <= n) : 2 * n + 1 < n * n" in only("constant")
    assert "(h0 : 3 <= 2) : 2 * 2 + 1 < 2 * 2" in only("specialise")
    assert "(n : nat) (h0 : 3 <= n) (k : nat) (hk : k <= 1) : 2 * n + k < n * n" in only("generalise")
    assert "(n : nat) (h0 : 3 <= n) (k : nat) (hk : 1 <= k) : 2 * n + 1 < n * n" not in only("generalise")
    assert only("drop_hypothesis") == {"(n : nat) : 2 * n + 1 < n * n"}
    assert "(n : nat) (h0 : 3 <= n) (hc : 0 < n) : 2 * n + 1 < n * n" in only("add_hypothesis")
    assert only("weaken_conclusion") == {"(n : nat) (h0 : 3 <= n) : 2 * n + 1 <= n * n"}
    real = "Require Import Reals.\nOpen Scope R_scope.\nTheorem s (x y : R) (h0 : x + y = 5) (h1 : x - y = 1) :\n  x = 3 /\\ y = 2.\n"
    conclusions = {d.rsplit(") : ", 1)[1] for d in only("weaken_conclusion", real)}
    assert {"x = 3", "y = 2", "x <= 3 /\\ y = 2", "x = 3 /\\ y >= 2"} <= conclusions
    # A variable of another type than the open scope's gets a typed literal and typed hypotheses.
    # Without an Open Scope last in the header, the scope is unknown (an import may open one).
    unscoped = INEQ.replace("Open Scope nat_scope.\n", "")
    assert "(h0 : 3 <= 2%nat) : 2 * 2%nat + 1 < 2%nat * 2%nat" in only("specialise", unscoped)
    assert "(n : nat) (h0 : 3 <= n) (hc : (0 < n)%nat) : 2 * n + 1 < n * n" in only("add_hypothesis", unscoped)
    zed = ZED
    assert ": ((-1)%Z * (-1)%Z >= 0)%Z" in only("specialise", zed)
    assert ": forall (a : Z), (0 < a)%Z -> (a * a >= 0)%Z" in only("add_hypothesis", zed)
    # The exponent of `^` is a nat: it is never generalised to a real.
    assert all("^ k" not in d for d in only("generalise", (DEMO / "r_amgm_two.v").read_text()))
    # Booleans have no order.
    assert not only("weaken_conclusion", "Require Import Arith.\nTheorem e (n : nat) : Nat.even (2 * n) = true.\n")


def test_compose_needs_the_same_header_and_binders() -> None:
    a = "Require Import Arith.\nTheorem a (n : nat) : n + 0 = n.\nProof.\nAdmitted.\n"
    b = "Require Import Arith.\nTheorem b (m : nat) : 0 + m = m.\n"
    c = "Require Import Arith.\nTheorem c (n : nat) : 0 + n = n.\n"
    assert only("compose", a, c) == {"(n : nat) : (n + 0 = n) /\\ (0 + n = n)"}
    assert not only("compose", a, b)  # other binder names
    assert not only("compose", a, "Require Import ZArith.\nTheorem c (n : nat) : 0 + n = n.\n")
    assert not only("compose", a)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="no Theorem"):
        mutate("Require Import Arith.\n", random.Random(0))
    with pytest.raises(ValueError, match="unknown mutation kind"):
        mutate(INEQ, random.Random(0), kinds=["shuffle"])
    assert mutate(INEQ, random.Random(0), 0) == []
    # A statement whose shape is not read gives no variants rather than broken ones.
    assert mutate("Require Import Arith.\nTheorem t `(n : nat) : n + 0 = n.\n", random.Random(0)) == []


@pytest.mark.rocq
@needs_demo
def test_mutations_elaborate_in_coq(rocq_pool: VerifierPool) -> None:
    candidates = []
    for seed in SEEDS[:4]:
        statement = (DEMO / f"{seed}.v").read_text()
        candidates += [Candidate(m.statement, statement, m.kind) for m in mutate(statement, random.Random(3), 5)]
    # The literals and hypotheses typed for an unknown or another scope elaborate too.
    for statement in (ZED, "Require Import Arith.\nTheorem u (a b : nat) (h : a < b) : a * a + 1 <= b * b.\n"):
        candidates += [Candidate(m.statement, statement, m.kind) for m in mutate(statement, random.Random(3), 12)]
    results = filter_conjectures(candidates, rocq_pool, quick_timeout_s=5)
    refused = [(r.origin, r.reason, r.detail) for r in results if r.reason in ("declares", "duplicate", "bad_statement")]
    assert not refused
    kept = {r.origin for r in results if r.kept}
    assert len(kept) >= 4, kept
