from __future__ import annotations

import pytest

from prover.itp.base import CheckRequest
from prover.itp.rocq.plan import plan_check
from prover.itp.rocq.text import declared_theorems, parse_statement, split_binders, split_sentences

from .conftest import MINIF2F_ROCQ, needs_minif2f


def texts(source: str) -> list[str]:
    return [s.text for s in split_sentences(source)]


def test_sentences_end_at_dot_followed_by_space() -> None:
    assert texts("Require Import Coq.Reals.Reals. Check 1.5.\nQed.") == [
        "Require Import Coq.Reals.Reals.",
        "Check 1.5.",
        "Qed.",
    ]


def test_bullets_and_braces_are_sentences() -> None:
    assert texts("split. - lra. + { auto. } -- now auto. 2: { reflexivity. } all: auto.") == [
        "split.",
        "-",
        "lra.",
        "+",
        "{",
        "auto.",
        "}",
        "--",
        "now auto.",
        "2: {",
        "reflexivity.",
        "}",
        "all: auto.",
    ]


def test_comments_and_strings_do_not_end_sentences() -> None:
    source = 'Proof. (* a. b. (* nested. *) *) idtac "x. y". Qed.'
    assert texts(source) == ["Proof.", 'idtac "x. y".', "Qed."]


def test_sentence_offsets_point_into_the_source() -> None:
    source = "Lemma a : True.\n  Proof.  exact I.\nQed."
    for sentence in split_sentences(source):
        assert source[sentence.start :].startswith(sentence.text)


def test_split_binders_skips_colons_inside_brackets() -> None:
    assert split_binders(" (x : R) {n : nat} (h : x = 1 :> R) : x > 0") == (
        "(x : R) {n : nat} (h : x = 1 :> R)",
        "x > 0",
    )
    assert split_binders(": forall x, x = x") == ("", "forall x, x = x")
    assert split_binders("(x : nat) x = x") is None


@needs_minif2f
def test_parse_statement_two_theorems() -> None:
    statement = parse_statement((MINIF2F_ROCQ / "valid" / "imo_1966_p5.v").read_text())
    assert [s.text for s in statement.header] == ["Require Import Reals.", "Open Scope R_scope."]
    assert [t.name for t in statement.targets] == ["imo_1966_p5", "imo_1966_p5'"]
    assert statement.targets[0].binders.startswith("(x a : nat -> R)")


@needs_minif2f
def test_parse_statement_trusted_prelude_declares_axioms() -> None:
    statement = parse_statement((MINIF2F_ROCQ / "valid" / "amc12a_2016_p3.v").read_text())
    assert [s.text.split()[0] for s in statement.prelude] == ["Parameter", "Axiom"]


def test_as_type_without_binders_keeps_one_shape() -> None:
    target = parse_statement("Theorem t : 1 = 1.\nProof.\nAdmitted.").targets[0]
    assert target.as_type() == "forall (_ : unit) , 1 = 1"


def test_statement_without_theorem_is_an_input_error() -> None:
    with pytest.raises(ValueError, match="no Theorem"):
        parse_statement("Require Import Reals.\nCheck 1.")


@needs_minif2f
def test_every_minif2f_statement_parses() -> None:
    files = sorted(MINIF2F_ROCQ.glob("*/*.v"))
    assert len(files) == 488
    for path in files:
        assert parse_statement(path.read_text()).targets, path.name


def test_plan_drops_trusted_repeats_once() -> None:
    statement = "Require Import Reals.\nParameter f : R.\nTheorem t : f = f.\nProof.\nAdmitted."
    proof = "Require Import Reals.\nParameter f : R.\nParameter f : R.\nTheorem t : f = f.\nProof. reflexivity. Qed."
    plan = plan_check(CheckRequest(proof, statement))
    assert [s.text for s in plan.candidate][:2] == ["Parameter f : R.", "Theorem t : f = f."]
    assert plan.theorem_names == ["t"]


def test_declared_theorems_follow_modules() -> None:
    source = "Lemma a : True. Admitted. Module M. Section S. Theorem b : True. Admitted. End S. End M. Fact c : True."
    assert declared_theorems(split_sentences(source)) == ["a", "M.b", "c"]
