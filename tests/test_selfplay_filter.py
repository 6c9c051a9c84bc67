"""The conjecture filter: planted bad conjectures are refused for the right reason, a genuine one is
kept; the text-level rules (declares, normal forms, the model's answers) without Coq."""

from __future__ import annotations

import pytest

from prover.itp.rocq.text import parse_statement
from prover.selfplay.filter import (
    Candidate,
    FilterResult,
    declares_refusal,
    filter_conjectures,
    from_model,
    normalise,
    summary,
)
from prover.verify.pool import VerifierPool
from tests.conftest import DATA, needs

DEMO = DATA / "rocq-demo" / "statements"
NAT = "Require Import Arith Lia.\n\n(* informal: a seed. *)\nTheorem seed (n : nat) (h0 : 3 <= n) : 2 * n + 1 < n * n.\nProof.\nAdmitted.\n"
REAL = "Require Import Reals.\nRequire Import Lra.\nOpen Scope R_scope.\n\nTheorem rseed (x : R) (h0 : 3 * x + 7 = 22) : x = 5.\nProof.\nAdmitted.\n"
H = "Require Import Arith Lia.\n\n"
HR = "Require Import Reals.\nRequire Import Lra.\nOpen Scope R_scope.\n\n"
KEPT = "Theorem kept (n : nat) (h0 : 3 <= n) : 2 * n + 2 < n * n."


def stmt(decl: str, header: str = H) -> str:
    return f"{header}{decl}\nProof.\nAdmitted.\n"


# -- without Coq -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (H + "Axiom cheat : False.\nTheorem a : 1 = 2.\nProof.\nAdmitted.\n", "Axiom cheat"),
        (H + "Definition f := 3.\nTheorem a : f = 3.\n", "Definition f"),
        (H + "Notation \"'two'\" := 3.\nTheorem a : 2 = 3.\n", "Notation"),
        (H + "Require Import Reals.\nTheorem a : 2 = 3.\n", "Require Import Reals"),
        ("Require Import ZArith.\nTheorem a : 2 = 3.\n", "ZArith"),
        ("Theorem a : 2 = 3.\n", "header differs"),
        (H + "Theorem a : 2 = 3.\nProof. reflexivity. Qed.\n", "after the theorem"),
        (H + "Theorem a : 2 = 3.\nLemma b : 3 = 3.\n", "after the theorem"),
        (H + "#[local] Theorem a : 2 = 3.\n", "not a plain theorem"),
        (H + "Local Theorem a : 2 = 3.\n", "not a plain theorem"),
        (H + "Theorem a : ltac:(exact (2 = 3)).\n", "ltac"),
        (H + "Hypothesis oops : False.\n", "no Theorem"),
        (H + "Theorem a : 2 = 3.\nInfix \"+++\" := plus (at level 50).\n", "after the theorem"),
    ],
)
def test_a_conjecture_declares_nothing(text: str, fragment: str) -> None:
    refusal = declares_refusal(text, NAT)
    assert refusal is not None and refusal[0] == "declares"
    assert fragment in refusal[1]


def test_comments_and_the_seed_header_are_fine() -> None:
    text = H + "(* Axiom cheat : False. *)\nTheorem a (* Definition *) : 2 = 3.\nProof.\nAdmitted.\n"
    assert declares_refusal(text, NAT) is None
    assert declares_refusal(H + "Theorem a : 2 = 3.", NAT) is None  # no placeholder proof: fine
    # The seed's own declarations belong to its header and may be repeated.
    seed = "Require Import Reals.\nDefinition logb (a x : R) : R := ln x / ln a.\nTheorem s : logb 2 4 = 2.\n"
    repeat = "Require Import Reals.\nDefinition logb (a x : R) : R := ln x / ln a.\nTheorem t : logb 2 8 = 3.\n"
    assert declares_refusal(repeat, seed) is None
    assert declares_refusal(repeat.replace("ln x / ln a", "x"), seed) is not None


def test_normal_form_ignores_names_layout_and_comments() -> None:
    a = stmt("Theorem one (n : nat) (h0 : 3 <= n) : 2 * n + 2 < n * n.")
    b = H + "(* note *)\nLemma two (m : nat)\n   (hyp:3<=m) :\n 2*m+2 < m*m.\nProof.\nAdmitted.\n"
    c = stmt("Theorem three : forall k : nat, 3 <= k -> 2 * k + 2 < k * k.")
    d = stmt("Theorem four (n : nat) (h0 : 3 <= n) : 2 * n + 3 < n * n.")
    assert normalise(a) == normalise(b)
    assert normalise(c) == normalise(stmt("Theorem t : forall j : nat, 3 <= j -> 2 * j + 2 < j * j."))
    assert normalise(a) != normalise(d)
    assert normalise(a) != normalise(a.replace(H, "Require Import Arith.\n"))
    for text in (a, c, NAT, REAL):
        assert normalise(normalise(text)) == normalise(text)
    # Only bound names are renamed: a free constant keeps its name.
    assert normalise(stmt("Theorem t (x : R) : sin x = 0.")) != normalise(stmt("Theorem t (x : R) : cos x = 0."))
    with pytest.raises(ValueError, match="no Theorem"):
        normalise("Require Import Arith.\n")


def test_model_answers() -> None:
    found = from_model(NAT, "Here is one:\n```coq\nTheorem x (n : nat) (h : 4 <= n) : 3 * n < n * n.\n```\n")
    assert isinstance(found, Candidate) and found.origin == "model"
    assert parse_statement(found.statement).targets[0].name == "x"
    assert "informal" not in found.statement and found.statement.startswith("Require Import Arith Lia.")
    assert declares_refusal(found.statement, NAT) is None
    axiom = from_model(NAT, "```coq\nAxiom c : False.\nTheorem x (n : nat) : n + 0 = n.\n```")
    assert isinstance(axiom, FilterResult) and axiom.reason == "declares" and "Axiom" in (axiom.detail or "")
    defined = from_model(NAT, "```coq\nDefinition f n := n + 1.\nTheorem x (n : nat) : f n = S n.\n```")
    assert isinstance(defined, FilterResult) and defined.reason == "declares"
    prose = from_model(NAT, "I cannot think of a conjecture.")
    assert isinstance(prose, FilterResult) and prose.reason == "bad_statement" and not prose.kept


# -- with Coq ----------------------------------------------------------------------------------------


@pytest.mark.rocq
def test_planted_conjectures(rocq_pool: VerifierPool) -> None:
    planted = [
        ("declares", Candidate(H + "Axiom cheat : False.\nTheorem a : 1 = 2.\nProof.\nAdmitted.\n", NAT)),
        ("declares", Candidate(H + "Definition f := 3.\nTheorem a : f = 3.\nProof.\nAdmitted.\n", NAT)),
        ("declares", Candidate(H + "Notation \"'two'\" := 3.\nTheorem a : 2 = 3.\nProof.\nAdmitted.\n", NAT)),
        ("declares", Candidate(stmt("Theorem a : 2 = 3.", "Require Import Reals.\n"), NAT)),
        ("bad_statement", Candidate(stmt("Theorem a (n : nat) : n + true = 3."), NAT)),
        ("bad_statement", Candidate(stmt("Theorem a (n : nat) : n + = 3."), NAT)),
        ("trivial", Candidate(stmt("Theorem a : forall n : nat, n = n."), NAT)),
        ("trivial", Candidate(stmt("Theorem a : 2 + 2 = 4."), NAT)),
        ("inconsistent", Candidate(stmt("Theorem a (x : nat) (h0 : x < 2) (h1 : x > 5) : x = 100."), NAT)),
        ("inconsistent", Candidate(stmt("Theorem a (x : R) (h0 : x > 1) (h1 : x < 0) : x = 7.", HR), REAL)),
        (None, Candidate(stmt(KEPT), NAT)),
        ("duplicate", Candidate(H + "(* again *) Lemma other (m : nat)\n (hm : 3 <= m) : 2*m + 2 < m*m.\n", NAT)),
        ("duplicate", Candidate(stmt("Theorem again (k : nat) (h0 : 3 <= k) : 2 * k + 1 < k * k."), NAT)),
        ("duplicate", Candidate(stmt("Theorem old (n : nat) : n + 0 = n."), NAT)),
        # Only the hypotheses are refuted: the premise of a negated conclusion is not one of them.
        (None, Candidate(stmt("Theorem neg (x : nat) (h0 : x < 2) : x <> 7."), NAT)),
        (None, Candidate(stmt("Theorem neg2 : forall x : nat, x < 2 -> ~ (x > 5)."), NAT)),
        (None, Candidate(stmt("Theorem neg3 : forall x : nat, x < 2 -> x > 5 -> False."), NAT)),
        (None, Candidate(stmt("Theorem zge (x : Z) (h : (x > 5)%Z) : (x >= 6)%Z.", "Require Import ZArith.\n"),
                         "Require Import ZArith.\nTheorem s : (1 = 1)%Z.\n")),
    ]
    seen = [normalise(stmt("Theorem old_name (m : nat) : m + 0 = m."))]
    results = filter_conjectures([c for _, c in planted], rocq_pool, seen=seen, quick_timeout_s=5)
    assert [r.reason for r in results] == [reason for reason, _ in planted]
    assert [r.kept for r in results] == [reason is None for reason, _ in planted]
    assert results[11].detail == "same as candidate 10"
    assert results[12].detail == "restates its seed"
    assert results[13].detail == "already seen"
    # A kept conjecture is the seed's header, the theorem, a placeholder: nothing else.
    kept = results[10].statement
    assert kept == f"{H}{KEPT}\nProof.\nAdmitted.\n"
    assert "informal" not in kept
    assert summary(results) == {
        "kept": 5, "declares": 4, "duplicate": 3, "bad_statement": 2, "trivial": 2, "inconsistent": 2,
    }


@pytest.mark.rocq
@needs(DEMO.is_dir(), f"the demo statements in {DEMO}")
def test_the_seeds_themselves_pass_as_conjectures_of_each_other(rocq_pool: VerifierPool) -> None:
    """A real statement under its own header elaborates; a closed computation is trivial."""
    ineq = (DEMO / "n_ineq.v").read_text()
    mod = (DEMO / "n_mod_arith.v").read_text()
    renamed = ineq.replace("n_ineq", "other").replace("2 * n + 1", "2 * n + 2")
    computed = mod.replace("n_mod_arith", "other")
    results = filter_conjectures([Candidate(renamed, ineq), Candidate(computed, NAT)], rocq_pool)
    assert results[0].kept, results[0]
    assert results[1].reason == "declares"  # another header than its seed's
    assert filter_conjectures([Candidate(computed.replace("mod 5 = 1", "mod 5 = 2"), mod)], rocq_pool)[0].kept


def test_a_thinking_models_conjecture_is_the_code_after_its_thoughts() -> None:
    from prover.generate.thinking import split_thinking

    answer = ("<think>Maybe ```coq\nTheorem draft (n : nat) : n = n.\n``` no.</think>\n"
              "```coq\nTheorem x (n : nat) (h : 4 <= n) : 3 * n < n * n.\n```\n")
    found = from_model(NAT, split_thinking(answer).answer)
    assert isinstance(found, Candidate) and parse_statement(found.statement).targets[0].name == "x"
    cut = from_model(NAT, split_thinking("<think>Let me try ```coq\nTheorem draft").answer)
    assert isinstance(cut, FilterResult) and not cut.kept
