"""The extractor: tolerant of how models write answers, never letting forbidden text through."""

from __future__ import annotations

import pytest

from prover.generate.extract import extract_conjecture, extract_proof, is_prose, trim_prose
from prover.generate.prompts import load_templates, prover_prompt
from prover.itp.base import Reason
from tests.test_generate_prompts import statements

ROCQ = statements()["rocq"]
LEAN = statements()["lean"]
ISABELLE = statements()["isabelle"]
BODY = "  induction n as [| k IH].\n  - reflexivity.\n  - replace (2 * S k) with (S (S (2 * k))) by ring.\n    exact IH.\n"
WHOLE = (
    "Require Import Arith.\n\nTheorem n_even_double (n : nat) : Nat.even (2 * n) = true.\n"
    "Proof.\n" + BODY + "Qed.\n"
)


def test_prompt_prefix_plus_completion_missing_qed() -> None:
    prompt = prover_prompt(load_templates(), "rocq", ROCQ)
    got = extract_proof("rocq", ROCQ, prompt.answer(BODY))  # the stop string "```" ended it before Qed.
    assert got.ok and got.text is not None
    assert got.text.endswith("Proof.\n" + BODY + "Qed.\n") and "Qed. added" in got.notes
    assert got.text.startswith("Require Import Arith.")


def test_fences_and_prose_around_them() -> None:
    answer = f"Sure! Here is a proof by induction.\n\n```coq\n{WHOLE}```\n\nThis works because 2 * S k unfolds."
    got = extract_proof("rocq", ROCQ, answer)
    assert got.text == WHOLE
    # a sketch with several blocks: the one declaring the theorem wins
    sketch = f"Proof sketch: induct.\n```coq\nlia.\n```\nSo:\n```coq\n{WHOLE}```\nDone."
    assert extract_proof("rocq", ROCQ, sketch).text == WHOLE


def test_unfenced_body_with_prose_and_trailing_text() -> None:
    answer = "We proceed by induction on n.\n\n" + BODY + "Qed.\n\nThe inductive step rewrites with ring."
    got = extract_proof("rocq", ROCQ, answer)
    assert got.ok and got.text is not None and got.text.count("Qed.") == 1
    assert "We proceed" not in got.text and "inductive step" not in got.text
    # a repeated "Proof." is not doubled
    again = extract_proof("rocq", ROCQ, "Proof.\n" + BODY)
    assert again.text is not None and again.text.count("Proof.") == 1


def test_theorem_without_header_gets_the_trusted_header() -> None:
    answer = "```coq\n" + WHOLE.replace("Require Import Arith.\n\n", "") + "```"
    got = extract_proof("rocq", ROCQ, answer)
    assert got.text is not None and got.text.startswith("Require Import Arith.")


@pytest.mark.parametrize(
    ("lang", "answer", "reason"),
    [
        ("rocq", "```coq\n  lia.\nAdmitted.\n```", Reason.FORBIDDEN),
        ("rocq", "```coq\nAxiom cheat : forall n, Nat.even (2 * n) = true.\n"
                 "Theorem n_even_double (n : nat) : Nat.even (2 * n) = true.\nProof. apply cheat. Qed.\n```",
         Reason.FORBIDDEN),
        ("lean", "```lean4\n  sorry\n```", Reason.INCOMPLETE),
        ("lean", "```lean4\naxiom cheat : False\n```", Reason.FORBIDDEN),
        ("isabelle", "```isabelle\n  sorry\n```", Reason.FORBIDDEN),
    ],
)
def test_placeholders_and_axioms_come_back_refused(lang: str, answer: str, reason: Reason) -> None:
    got = extract_proof(lang, statements()[lang], answer)
    assert not got.ok and got.text is None
    assert got.refusal is not None and got.refusal.reason == reason
    assert got.candidate  # what was assembled is kept for the record


def test_lean_and_isabelle_bodies() -> None:
    lean = extract_proof("lean", LEAN, "Here is the proof:\n\nnorm_num [h₀]\nsimp\n\nThis should work.")
    assert lean.text is not None and lean.text.endswith(":= by\n  norm_num [h₀]\n  simp\n")
    isa = extract_proof("isabelle", ISABELLE, "```isabelle\nproof -\n  show ?thesis by simp\nqed\n```")
    assert isa.text is not None and isa.text.rstrip().endswith("qed\n\nend")


def test_conjectures_keep_only_one_theorem() -> None:
    got = extract_conjecture("rocq", ROCQ, "```coq\nAxiom f : False.\nDefinition d := 2.\n"
                             "Theorem n_even_quad (n : nat) : Nat.even (4 * n) = true.\nProof. auto. Qed.\n```")
    assert got.text == ("Require Import Arith.\n\nTheorem n_even_quad (n : nat) : Nat.even (4 * n) = true."
                        "\nProof.\nAdmitted.\n")
    lean = extract_conjecture("lean", LEAN, "```lean4\ntheorem new_one (x : ℕ) (h : x = 2) : x + x = 4 := by\n  omega\n```")
    assert lean.text is not None and lean.text.endswith("theorem new_one (x : ℕ) (h : x = 2) : x + x = 4 := by sorry\n")
    assert lean.text.startswith("import Mathlib")
    isa = extract_conjecture("isabelle", ISABELLE,
                             '```isabelle\nlemma foo:\n  fixes x :: nat\n  assumes "x = 2"\n  shows "x + x = 4"\n'
                             "  using assms by simp\n```")
    assert isa.text is not None and isa.text.endswith('shows "x + x = 4"\n  sorry\n\nend\n')
    assert not extract_conjecture("rocq", ROCQ, "I cannot think of one.").ok


def test_prose_detection() -> None:
    assert is_prose("We proceed by induction on n.") and is_prose("Explanation:")
    assert not is_prose("Proof.") and not is_prose("Require Import Arith.")
    assert not is_prose("Theorem t (n : nat) : n = n.") and not is_prose("  intros n. lia.")
    assert trim_prose("Here is the proof:\nintros.\nlia.\nHope this helps you.") == "intros.\nlia."
