"""Prompt templates for every (language, role), plain and through a chat template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.evaluate.benchmarks import _isabelle_statement, _lean_statement
from prover.generate.prompts import (
    ROLES,
    Prompt,
    conjecturer_prompt,
    corrector_prompt,
    load_templates,
    mark_errors,
    prover_prompt,
    shipped_sets,
)
from prover.itp.base import Message
from tests.generate_support import REPO, tiny_model

__all__ = ["tiny_model"]

DATA = REPO / "data"


def statements() -> dict[str, str]:
    lean = json.loads((DATA / "minif2f-lean4" / "minif2f_lean4.jsonl").read_text().splitlines()[0])
    isa = json.loads((DATA / "minif2f-isabelle" / "minif2f_isabelle.jsonl").read_text().splitlines()[0])
    return {
        "rocq": (DATA / "rocq-demo" / "statements" / "n_even_double.v").read_text(),
        "lean": _lean_statement(lean["header"], lean["formal_statement"]),
        "isabelle": _isabelle_statement(isa["header"], isa["formal_statement"]),
    }


PLACEHOLDER = ("Admitted.", "sorry", "sorry")
FENCE = {"rocq": "```coq", "lean": "```lean4", "isabelle": "```isabelle"}
NAME = {"rocq": "Rocq (Coq)", "lean": "Lean 4", "isabelle": "Isabelle/HOL"}


def build(templates_name: str, lang: str, role: str, statement: str) -> Prompt:
    templates = load_templates(templates_name)
    proof = statement.replace("Admitted.", "lia.\nQed.") if lang == "rocq" else statement.replace("sorry", "simp")
    errors = [Message("error", "Tactic failure: lia cannot solve this goal (*) .", 6, 2),
              Message("warning", "unused variable", 2), Message("error", "no line for this one")]
    if role in ("prover", "prover_sketch"):
        return prover_prompt(templates, lang, statement, informal="Twice n is even.", sketch=role == "prover_sketch")
    if role == "conjecturer":
        return conjecturer_prompt(templates, lang, statement, proof, "Lemma helper : 0 = 0.")
    return corrector_prompt(templates, lang, statement, proof, errors)


@pytest.mark.parametrize("lang", ["rocq", "lean", "isabelle"])
@pytest.mark.parametrize("role", ROLES)
def test_every_language_and_role(lang: str, role: str) -> None:
    statement = statements()[lang]
    prompt = build("default", lang, role, statement)
    text = prompt.plain()
    assert NAME[lang] in text and FENCE[lang] in text
    assert not any(f"{{{name}}}" in text for name in ("statement", "stub", "fence", "language", "marked", "errors"))
    if role != "conjecturer":
        assert statement.strip() in text  # the trusted statement is shown as it is
    if role in ("prover", "corrector"):
        assert prompt.response.startswith(FENCE[lang]) and prompt.stop == ("```",)
        assert not prompt.response.rstrip().endswith(("Admitted.", "sorry"))  # the proof goes here
    if role == "prover":
        assert "Informally: Twice n is even." in text
    if role == "corrector":
        assert "ERROR: Tactic failure" in text and "- line 6: Tactic failure" in text
        assert "- no line for this one" in text and "unused variable" not in text
    if role == "conjecturer":
        assert "Lemma helper : 0 = 0." in text and "no proof" in text
    # the completion set (base models) renders too
    assert build("completion", lang, role, statement).plain()


def test_marked_errors_are_comments_at_their_lines() -> None:
    proof = "Theorem t : True.\nProof.\n  lia.\nQed."
    marked = mark_errors("rocq", proof, [Message("error", "bad *) tactic\nsecond line", 3, 2)])
    assert marked.splitlines()[3] == "  (* ERROR: bad * ) tactic second line *)"  # cannot close early
    lean = mark_errors("lean", "theorem t : True := by\n  simp", [Message("error", "simp failed", 2)])
    assert lean.splitlines()[2] == "  -- ERROR: simp failed"


def test_lean_braces_are_left_alone() -> None:
    statement = "theorem t {x : ℕ} (h : x ∈ ({1, 2} : Set ℕ)) : x ≤ 2 := by sorry"
    prompt = prover_prompt(load_templates(), "lean", statement)
    assert "{x : ℕ}" in prompt.user and "{1, 2}" in prompt.response
    assert prompt.response.endswith(":= by\n")


def test_chat_template_through_the_tokenizer(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    prompt = prover_prompt(load_templates(), "rocq", statements()["rocq"])
    chat = prompt.render(tokenizer)
    assert chat.startswith("<|system|>\nYou are an expert") and "<|assistant|>\n```coq\n" in chat
    assert chat.endswith(prompt.response)
    assert prompt.render(tokenizer, "plain") == prompt.plain()
    tokenizer.chat_template = None
    assert prompt.render(tokenizer) == prompt.plain()
    with pytest.raises(ValueError, match="chat template"):
        prompt.render(tokenizer, "chat")


def test_template_sets_are_data(tmp_path: Path) -> None:
    assert {"default", "completion"} <= set(shipped_sets())
    completion = prover_prompt(load_templates("completion"), "rocq", statements()["rocq"])
    assert completion.plain() == completion.response and completion.stop == ("\nQed.", "\nDefined.")
    own = tmp_path / "family.toml"
    own.write_text("\n".join(f'[{r}]\nsystem = ""\nuser = "U {{language}}"\nresponse = "R"\n' for r in ROLES))
    assert prover_prompt(load_templates(str(own)), "isabelle", statements()["isabelle"]).user == "U Isabelle/HOL"
    with pytest.raises(ValueError, match="no template set"):
        load_templates("nonexistent")
    (tmp_path / "bad.toml").write_text('[prover]\nsystem = ""\n')
    with pytest.raises(ValueError, match="needs system, user, response"):
        load_templates(str(tmp_path / "bad.toml"))
