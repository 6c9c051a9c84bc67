"""NL-FL bootstrapping and the SFT export: comments are added without touching the formal text, the
annotated proofs still verify in a real Coq pool, and the exported datasets load back in curriculum
order."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from prover.bootstrap import (
    BootstrapItem,
    BootstrapResult,
    annotate,
    bootstrap,
    comment,
    describe_step,
)
from prover.generate.lang import masked
from prover.itp.base import CheckRequest, Limits
from prover.train.export import bootstrapped_record, conjecturer_record, curriculum, export, prover_record
from prover.verify.pool import VerifierPool

from .conftest import DATA, needs

DEMO = DATA / "rocq-demo"
PROOFS = sorted((DEMO / "proofs").glob("*.v"))
needs_demo = needs(bool(PROOFS), f"the demo proofs in {DEMO / 'proofs'}")
NASTY = 'a "quoted" *) Qed. (* unclosed " and *)'


def informal_of(text: str) -> str | None:
    match = re.search(r"\(\* informal: (.*?) \*\)", text)
    return match.group(1) if match else None


def added_lines(language: str, original: str, annotated: str) -> list[str]:
    """The lines ``annotated`` adds to ``original``; fails unless ``original``'s lines all come back
    in order and every added line is one whole comment."""
    remaining = original.splitlines(keepends=True)
    added = []
    for line in annotated.splitlines(keepends=True):
        if remaining and line == remaining[0]:
            remaining.pop(0)
        else:
            added.append(line)
    assert remaining == [], f"original lines lost: {remaining[:2]}"
    for line in added:
        assert line.strip() and not masked(language, line).strip(), f"not a whole comment: {line!r}"
    return added


# --- annotation, no Coq needed -------------------------------------------------------------------


@pytest.mark.parametrize(("step", "expected"), [
    ("intros x y.", "Introduce x and y."),
    ("induction n as [| k IH].", "induction on n"),
    ("- reflexivity.", "reflexivity"),
    ("rewrite <- H, Nat.add_0_r in h.", "right to left with H, then with Nat.add_0_r in h"),
    ("destruct (Rcase_abs x); lra.", "cases on (Rcase_abs x), then on each resulting goal: conclude by linear real"),
    ("assert (x + 1 <> 0) by lra.", "claim x + 1 <> 0 (the side goal: conclude by linear real"),
    ("exists 585.", "585 as the witness"),
    ("prove_sup0.", "Apply prove_sup0."),
    ("2: { lia.", "linear integer arithmetic"),
])
def test_describe_rocq_steps(step: str, expected: str) -> None:
    assert expected in describe_step("rocq", step)


def test_describe_other_languages_and_silent_steps() -> None:
    assert describe_step("rocq", "-") == describe_step("rocq", "}") == describe_step("isabelle", "qed") == ""
    assert "omega" in describe_step("lean", "omega")
    assert describe_step("lean", "rw [← h2] at h") == "Rewrite right to left with h2 in h."
    assert "induction on n" in describe_step("lean", "induction n with")
    assert "h" in describe_step("lean", "· nlinarith [sq_nonneg x, h]") and "nonlinear" in describe_step("lean", "nlinarith")
    assert describe_step("isabelle", "apply (rule conjI)") == "Apply the rule conjI."
    assert "using foo" in describe_step("isabelle", "by (simp add: foo)")
    with pytest.raises(ValueError, match="unknown language"):
        describe_step("agda", "refl")


@pytest.mark.parametrize("language", ["rocq", "isabelle"])
def test_block_comments_cannot_end_early(language: str) -> None:
    for text in (NASTY, "*)", "(*", "(*)", '"', "x *)(* y", "ends with (", "*"):
        line = comment(language, text)
        assert line.startswith("(* ") and line.endswith(" *)") and not masked(language, line).strip(), line


def test_lean_comment_is_one_line() -> None:
    assert comment("lean", "two\nlines -/ here") == "-- two lines -/ here"


@needs_demo
@pytest.mark.parametrize("path", PROOFS, ids=lambda p: p.stem)
def test_annotate_demo_proof_only_adds_comment_lines(path: Path) -> None:
    original = path.read_text()
    informal = informal_of(original)
    annotated = annotate("rocq", original, informal)
    added = added_lines("rocq", original, annotated)
    assert informal is not None and len(added) >= 1
    # Every tactic line of every proof is explained by the comment line just above it.
    lines, tactics, inside = annotated.splitlines(), [], False
    for k, line in enumerate(lines):
        inside = (inside or line == "Proof.") and line != "Qed."
        if inside and re.match(r"\s*(?:[-+*]\s+)?[a-z]", line):
            tactics.append(k)
    assert tactics and all(lines[k - 1].lstrip().startswith("(* ") for k in tactics)
    # The file says the informal text already (its `(* informal: … *)` line): it is not echoed.
    assert annotated.count(informal) == 1
    # Annotating again changes nothing.
    assert annotate("rocq", annotated, informal) == annotated


def test_the_informal_text_opens_the_main_proof_unless_the_statement_says_it() -> None:
    statement = "Require Import Lia.\n\n(* informal: One is at most two. *)\nTheorem t : 1 <= 2.\nProof.\nAdmitted.\n"
    proof = "Require Import Lia.\n\nTheorem t : 1 <= 2.\nProof.\n  lia.\nQed.\n"  # as the portfolio writes it
    opened = annotate("rocq", proof, "One is at most two.")
    assert opened.split("Proof.\n", 1)[1].startswith("  (* One is at most two. *)\n  (* Conclude by linear")
    assert "One is at most" not in annotate("rocq", proof, "One is at most two.", statement=statement)


def test_annotating_twice_is_annotating_once() -> None:
    # Round 2 showed the old behaviour: 3 comment lines became 6 on a second pass.
    proof = "Theorem t : 1 + 1 = 2 /\\ 2 = 2.\nProof.\n  split.\n  - simpl.\n    reflexivity.\n  - reflexivity.\nQed.\n"
    for language, text, informal in (("rocq", proof, "Two facts."), ("lean", LEAN, "If 3x + 7 = 22 then x = 5."),
                                     ("isabelle", ISABELLE, "Doubling.")):
        once = annotate(language, text, informal)
        assert once != text and annotate(language, once, informal) == once, language
    sketch = "We split the conjunction. The first part is arithmetic. The second is trivial."
    once = annotate("rocq", proof, sketch=sketch)
    assert annotate("rocq", once, sketch=sketch) == once and once.count("(*") == 3


def test_sketch_sentences_are_spread_in_order() -> None:
    proof = "Theorem t : 1 + 1 = 2 /\\ 2 = 2.\nProof.\n  split.\n  - simpl.\n    reflexivity.\n  - reflexivity.\nQed.\n"
    sketch = "Proof sketch: We split the conjunction.\nThe first part is arithmetic. The second is trivial."
    annotated = annotate("rocq", proof, "ignored when a sketch is given", sketch)
    added = [line.strip() for line in added_lines("rocq", proof, annotated)]
    assert added == ["(* We split the conjunction. *)", "(* The first part is arithmetic. *)",
                     "(* The second is trivial. *)"]
    assert annotated.index("split the conjunction") < annotated.index("split.")
    assert annotated.index("arithmetic.") < annotated.index("- simpl.") < annotated.index("trivial")
    many = annotate("rocq", "Theorem t : True.\nProof.\n  exact I.\nQed.\n", sketch="A. B. C.")
    assert many.count("(*") == 1 and "(* A. B. C. *)\n  exact I." in many


def test_multi_line_sentence_gets_its_comment_before_its_first_line() -> None:
    proof = "Theorem t : True.\nProof.\n  assert (2 = 2\n    /\\ 3 = 3) by (split; reflexivity). exact I.\nQed.\n"
    annotated = annotate("rocq", proof)
    added_lines("rocq", proof, annotated)
    assert "Proof.\n  (* First show the claim 2 = 2 /\\ 3 = 3" in annotated
    assert "The goal is exactly I. *)\n  assert (2 = 2\n    /\\ 3 = 3)" in annotated


LEAN = """import Mathlib

theorem lin (x : ℝ) (h : 3 * x + 7 = 22) : x = 5 := by
  have h2 : 3 * x = 15 := by
    linarith
  · nlinarith [sq_nonneg x,
      h]
"""


def test_lean_annotation_uses_line_comments() -> None:
    annotated = annotate("lean", LEAN, 'If 3x + 7 = 22 then x = 5.\n(* not a "Coq" comment *)')
    added = added_lines("lean", LEAN, annotated)
    assert [line.strip() for line in added] == [
        '-- If 3x + 7 = 22 then x = 5. (* not a "Coq" comment *)',
        "-- First show the claim 3 * x = 15.",
        "-- Conclude by linear arithmetic (linarith).",
        "-- Conclude by nonlinear arithmetic (nlinarith), using products of facts.",
    ]  # the continuation line `h]` of the term gets no comment
    assert "  -- If 3x" in annotated and "    -- Conclude by linear" in annotated and "(*" not in annotated.split("--")[0]


ISABELLE = """theory T imports Main begin

lemma double: "2 * (n::nat) = n + n"
proof (induct n)
  case 0
  then show ?case by simp
next
  case (Suc n)
  then show ?case by (simp add: algebra_simps)
qed

end
"""


def test_isabelle_annotation_uses_block_comments() -> None:
    annotated = annotate("isabelle", ISABELLE, informal=f"Doubling {NASTY}")
    added = added_lines("isabelle", ISABELLE, annotated)
    assert all(line.strip().startswith("(* ") and line.strip().endswith(" *)") for line in added)
    assert "(* Proceed by induction on n. *)\nproof (induct n)" in annotated
    assert added[0].startswith("(* Doubling a 'quoted' * ) Qed.") and "--" not in annotated
    assert not any("qed" in line or "next" in line.lower() for line in added[1:])


# --- export, no Coq needed -----------------------------------------------------------------------


def test_export_validates_its_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^no records to export$"):
        export([], tmp_path)
    good = prover_record("rocq", "t", "Theorem t : True.\nProof.\nAdmitted.\n", "Theorem t : True.\nProof. exact I. Qed.")
    with pytest.raises(ValueError, match="unknown export format"):
        export([good], tmp_path, formats=("csv",))
    with pytest.raises(ValueError, match=r"record 1 \(u\): unknown kind 'critic'"):
        export([good, {**good, "problem": "u", "kind": "critic"}], tmp_path)
    with pytest.raises(ValueError, match="needs seed_statement, seed_proof"):
        export([{**good, "kind": "conjecturer"}], tmp_path)
    with pytest.raises(ValueError, match="length 3 is not"):
        export([{**good, "length": 3}], tmp_path)
    with pytest.raises(ValueError, match="unknown language"):
        export([{**good, "language": "agda"}], tmp_path)
    assert not list(tmp_path.iterdir())


def test_curriculum_is_by_length_then_name() -> None:
    rows = [{"problem": p, "length": n, "i": i} for i, (p, n) in enumerate([("b", 5), ("a", 5), ("c", 1), ("a", 5)])]
    assert [(r["problem"], r["i"]) for r in curriculum(rows)] == [("c", 2), ("a", 1), ("a", 3), ("b", 0)]


# --- against a real Coq --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> Iterator[VerifierPool]:
    from prover.itp.rocq.backend import RocqBackend

    with VerifierPool(RocqBackend(), workers=2, limits=Limits(timeout_s=30)) as p:
        yield p


def statement_of(path: Path) -> str:
    return (DEMO / "statements" / path.name).read_text()


@pytest.fixture(scope="module")
def results(pool: VerifierPool) -> list[tuple[str, BootstrapItem, BootstrapResult]]:
    items = [(p.stem, BootstrapItem(statement_of(p), p.read_text(), informal_of(p.read_text()))) for p in PROOFS]
    first = PROOFS[0]
    items.append(("nasty", BootstrapItem(statement_of(first), first.read_text(), NASTY)))
    items.append(("sketch", BootstrapItem(statement_of(first), first.read_text(),
                                          sketch=f"Proof sketch: induct on n. {NASTY}\n- Base: compute.")))
    verdicts = bootstrap("rocq", [item for _, item in items], pool)
    return [(name, item, result) for (name, item), result in zip(items, verdicts, strict=True)]


@pytest.mark.rocq
@needs_demo
def test_every_annotated_demo_proof_verifies(results: list[tuple[str, BootstrapItem, BootstrapResult]]) -> None:
    assert len(results) == len(PROOFS) + 2
    for name, item, result in results:
        assert result.verified, (name, result.reason, result.annotated)
        assert result.reason is None and result.original == item.proof
        assert added_lines("rocq", item.proof, result.annotated), name
    nasty = results[-2][2].annotated
    assert "(* a 'quoted' * ) Qed. ( * unclosed ' and * ) *)" in nasty


@pytest.mark.rocq
@needs_demo
def test_an_early_closing_comment_is_caught_by_the_pool(pool: VerifierPool) -> None:
    # Why ``comment`` escapes: the same text spliced in raw ends the comment early, and the pool
    # refuses the proof, so a bootstrap result for it would say verified=False.
    path = PROOFS[0]
    broken = path.read_text().replace("Proof.\n", f"Proof.\n  (* {NASTY} *)\n", 1)
    assert not pool.check(CheckRequest(broken, statement_of(path))).verified
    result = bootstrap("rocq", [BootstrapItem(statement_of(path), broken)], pool)[0]
    assert not result.verified and result.reason


@pytest.mark.rocq
@needs_demo
def test_export_round_trip(results: list[tuple[str, BootstrapItem, BootstrapResult]], pool: VerifierPool,
                           tmp_path: Path) -> None:
    import datasets

    records = [bootstrapped_record("rocq", name, item.statement, result, informal=item.informal, round=0,
                                   source="portfolio")
               for name, item, result in results if name in {p.stem for p in PROOFS}]
    seed = records[0]
    records.append(conjecturer_record("rocq", "conj", seed["statement"], seed["proof"], "Lemma l : True.",
                                      "Theorem conj : 1 + 1 = 2.\nProof.\nAdmitted.\n", round=1))
    paths = export(records, tmp_path)
    assert set(paths) == {"disk", "jsonl", "parquet"} and all(p.exists() for p in paths.values())
    rows = list(datasets.load_from_disk(str(paths["disk"])))
    assert len(rows) == len(records)
    assert [(r["length"], r["problem"]) for r in rows] == sorted((len(r["proof"]), r["problem"]) for r in records)
    assert rows[0]["problem"] == "conj" and rows[0]["seed_proof"] == seed["proof"]
    provers = [r for r in rows if r["kind"] == "prover"]
    assert all(r["nl"] and r["proof"].count("(*") > r["statement"].count("(*") for r in provers)
    assert all(r["round"] == 0 and r["informal"] and r["seed_statement"] is None for r in provers)
    lines = [json.loads(line) for line in paths["jsonl"].read_text().splitlines()]
    assert lines == rows
    parquet = datasets.load_dataset("parquet", data_files=str(paths["parquet"]), split="train")
    assert parquet["problem"] == [r["problem"] for r in rows]
    # The exported proofs are the checked files: re-check the shortest, a middle and the longest.
    picks = [provers[0], provers[len(provers) // 2], provers[-1]]
    verdicts = list(pool.map(CheckRequest(r["proof"], r["statement"]) for r in picks))
    assert all(v.verified for v in verdicts), [v.detail for v in verdicts]
