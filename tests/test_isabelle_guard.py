"""Isabelle soundness guard and theory assembly: what may reach Isabelle, and in what shape.

No Isabelle is needed: every case here is decided before the server sees anything.
"""

from __future__ import annotations

import json
import re

import pytest

from prover.itp.base import Reason
from prover.itp.isabelle.file import Built, Piece
from prover.itp.isabelle.guard import HEAP_IMPORTS
from prover.itp.isabelle.text import mask, symbol_starts, to_ascii_symbols
from prover.itp.isabelle.theory import Rejected, parse_target, prepare
from tests.conftest import DATA, REPO, needs

HEADER = "theory mathd_algebra_478 imports\n  Complex_Main\nbegin\n\n"
THEOREM = (
    "theorem mathd_algebra_478:\n"
    "  fixes b h v ::real\n"
    '  assumes "0 < b \\<and> 0 < h \\<and> 0 < v"\n'
    '      and "v = 1 / 3 * (b * h)"\n'
    '      and "b = 30"\n'
    '      and "h = 13 / 2"\n'
    '    shows "v = 65"'
)
STATEMENT = HEADER + THEOREM + "\n  sorry\n\nend\n"
PROOF = "\n  using assms by simp\n"


def full(before: str = "", proof: str = PROOF, header: str = HEADER) -> str:
    """A candidate theory: header, helper text, the target copied, its proof."""
    return f"{header}{before}\n{THEOREM}{proof}\nend\n"


def built(candidate: str, statement: str | None = STATEMENT) -> Built:
    result = prepare(candidate, statement, "Prover_Check_t")
    assert isinstance(result, Built), result
    return result


def full_reason(result: Rejected) -> str:
    """``reason: detail``, the way the two fields read together."""
    return str(result.reason) if result.detail is None else f"{result.reason}: {result.detail}"


def rejected(candidate: str, statement: str | None = STATEMENT) -> Rejected:
    result = prepare(candidate, statement, "Prover_Check_t")
    assert isinstance(result, Rejected), result.text
    return result


# -- exploits: each must be rejected, with the rule that caught it -----------------------------------

EXPLOITS = {
    "sorry_in_helper": (full('lemma helper: "False" sorry\n'), "forbidden: sorry"),
    "sorry_as_proof": (full(proof="\n  sorry\n"), "forbidden: sorry"),
    "oops_then_restate": (full(proof="\n  oops\n"), "forbidden: oops"),
    "proof_placeholder": (full(proof="\n  \\<proof>\n"), "forbidden: proof_placeholder"),
    "axiomatization": (full('axiomatization where unsound: "False"\n'), "forbidden: axioms"),
    "old_axioms": (full('axioms unsound: "False"\n'), "forbidden: axioms"),
    "ML_block": (full("ML \\<open>val _ = ()\\<close>\n"), "forbidden: ML"),
    "ML_val_unicode_cartouche": (full("ML_val ‹Thm.assume›\n"), "forbidden: ML"),
    "ML_file": (full('ML_file "cheat.ML"\n'), "forbidden: ML"),
    "setup": (full("setup ‹I›\n"), "forbidden: ML_setup"),
    "local_setup": (full("local_setup ‹I›\n"), "forbidden: ML_setup"),
    "declaration": (full("declaration ‹K I›\n"), "forbidden: ML_setup"),
    "method_setup": (full('method_setup cheat = ‹Scan.succeed undefined› ""\n'), "forbidden: ML_setup"),
    "oracle": (full("oracle cheat = ‹fn ct => ct›\n"), "forbidden: ML"),
    "tactic_method": (full(proof="\n  apply (tactic ‹all_tac›)\n  done\n"), "forbidden: ML"),
    "quick_and_dirty": (full("declare [[quick_and_dirty = true]]\n"), "forbidden: cheat_option"),
    "quick_and_dirty_in_proof": (
        full(proof="\n  using [[quick_and_dirty]] by simp\n"),
        "forbidden: cheat_option",
    ),
    "skip_proofs": (full("declare [[skip_proofs]]\n"), "forbidden: cheat_option"),
    "smt_oracle": (full(proof="\n  using [[smt_oracle]] assms by smt\n"), "forbidden: cheat_option"),
    "eval_oracle": (full(proof="\n  using assms by eval\n"), "forbidden: code_eval"),
    "code_printing": (
        full('code_printing constant HOL.False \\<rightharpoonup> (Haskell) "True"\n'),
        "forbidden: code_eval",
    ),
    "unsafe": (full(proof="\n  by (unsafe_tac)\n"), "forbidden: unsafe"),
    "notation_shift": (full('no_notation plus (infixl "+" 65)\n'), "forbidden: syntax"),
    "translations": (full('translations "x = y" <= "x"\n'), "forbidden: syntax"),
    "hide_const": (full("hide_const (open) times\n"), "forbidden: syntax"),
    "unbundle": (full("unbundle no_list_syntax\n"), "forbidden: syntax"),
    "coercion": (full("declare [[coercion_enabled]]\n"), "forbidden: syntax"),
    "shadowing_definition": (full('definition v :: real where "v = 65"\n'), "forbidden: declaration"),
    "mixfix_definition": (
        full(
            'definition pl :: "real \\<Rightarrow> real \\<Rightarrow> real" (infixl "*" 70) where "pl = (+)"\n'
        ),
        "forbidden: mixfix",
    ),
    "type_synonym": (full("type_synonym real = nat\n"), "forbidden: declaration"),
    "consts": (full("consts c :: real\n"), "forbidden: declaration"),
    "context_with_assumption": (
        f'{HEADER}context assumes "False"\nbegin\n\n{THEOREM}{PROOF}\nend\n\nend\n',
        "forbidden: structure",
    ),
    "locale": (full('locale l = assumes "False"\n'), "forbidden: declaration"),
    "instance": (full("instance real :: finite sorry\n"), "forbidden: sorry"),
    "config_before_target": (full("declare [[simp_depth_limit = 1]]\n"), "forbidden: config"),
    "extra_import": (
        full(header='theory X imports Complex_Main "HOL-Library.Multiset" begin\n'),
        "forbidden: import",
    ),
    "sorry_behind_a_number": (full(proof="\n  apply simp\n  prefer 2sorry\n"), "forbidden: sorry"),
    "sorry_after_cartouche_in_string": (full('lemma h: "x = ‹" sorry "›"\n'), "forbidden: sorry"),
    "ML_antiquotation_in_text": (full("text ‹@{ML ‹Thm.assume›}›\n"), "forbidden: ML"),
    "code_antiquotation_in_text": (full("text ‹see \\<^code>‹f››\n"), "forbidden: ML_antiquotation"),
    "tactic_inside_document_lemma": (
        full('text ‹@{lemma "False" by (tactic ‹all_tac›)}›\n'),
        "forbidden: ML",
    ),
    "second_theory_header": (full("theory Other imports Main begin\n"), "forbidden: structure"),
    "mixfix_cartouche_numeral": (
        full('definition sixty_five :: real (‹65›) where "sixty_five = 0"\n'),
        "forbidden: mixfix",
    ),
    "mixfix_open_close_identifier": (
        full('definition fake_v :: real (\\<open>v\\<close>) where "fake_v = 65"\n'),
        "forbidden: mixfix",
    ),
    "mixfix_template_cartouche": (
        full(
            'definition op :: "real \\<Rightarrow> real \\<Rightarrow> real" (‹_ ⊕ _›) where "op a b = a"\n'
        ),
        "forbidden: mixfix",
    ),
    "abbreviation_without_syntax": (
        full('abbreviation v where "v \\<equiv> (65::real)"\n'),
        "forbidden: declaration",
    ),
    "including_a_bundle": (full(proof="\n  including foo using assms by simp\n"), "forbidden: syntax"),
    "write_in_a_proof": (
        full(proof='\nproof -\n  write times (infixl "+" 65)\n  show ?thesis using assms by simp\nqed\n'),
        "forbidden: syntax",
    ),
    "ML_antiquotation_in_text_string": (full('text "@{ML ‹Thm.assume›}"\n'), "forbidden: ML"),
    "ML_control_antiquotation_in_formal_comment": (
        full("\\<comment> ‹\\<^ML>‹Thm.assume››\n"),
        "forbidden: ML",
    ),
    "value_antiquotation": (full('text ‹@{value "1 + (1::nat)"}›\n'), "forbidden: code_eval"),
}


@pytest.mark.parametrize("case", sorted(EXPLOITS))
def test_exploit_is_rejected(case: str) -> None:
    candidate, reason = EXPLOITS[case]
    result = rejected(candidate)
    assert full_reason(result) == reason
    assert all(m.severity == "error" and m.line is not None for m in result.messages)


def test_exploit_positions_point_into_the_candidate() -> None:
    result = rejected(full('lemma helper: "False"\n  sorry\n'))
    assert (result.messages[0].line, result.messages[0].column) == (6, 2)


def test_sorry_is_rejected_without_a_statement_too() -> None:
    assert (
        full_reason(rejected('theory X imports Main begin\nlemma "False" sorry\nend\n', statement=None))
        == "forbidden: sorry"
    )


def test_weakened_restatement_is_a_mismatch() -> None:
    weak = full().replace('shows "v = 65"', 'shows "v = v"')
    assert rejected(weak).reason == "statement_mismatch"


def test_missing_target_theorem_is_incomplete() -> None:
    other = f'{HEADER}lemma something_else: "(1::nat) = 1" by simp\nend\n'
    assert rejected(other).reason == "incomplete"


def test_unparsable_statement_is_a_bad_statement() -> None:
    assert rejected("by simp", statement="theory T imports Main begin\nend\n").reason == "bad_statement"


# -- what must stay allowed ---------------------------------------------------------------------------

ALLOWED = {
    "comment_mentioning_sorry": full("(* no sorry here (* nested sorry *) *)\n"),
    "formal_comment": full("\\<comment> \\<open>we never use sorry\\<close>\n"),
    "sorry_inside_a_string": full('lemma h: "sorry = sorry" by simp\n'),
    "back": full(proof="\n  using assms apply simp\n  back\n  done\n"),
    "code_simp_and_eval_facts": full(proof="\n  using assms by (code_simp, simp add: eval_nat_numeral)\n"),
    "helper_definition_with_fresh_name": full(
        'definition helper_sq :: "real \\<Rightarrow> real" where "helper_sq x = x * x"\n'
    ),
    "config_inside_the_proof": full(proof="\n  using [[simp_trace]] assms by simp\n"),
    "allowed_extra_import": full(header='theory X imports Complex_Main "HOL-Library.Sum_of_Squares" begin\n'),
    "identifier_containing_keywords": full('lemma oops_sorry_ML: "True" by simp\n'),
    "text_prose_about_ML_and_tactics": full("text ‹No ML, no tactic, no oracle, no notation.›\n"),
    "section_prose": full("section ‹The ML tactic›\nsubsection \\<open>oracle\\<close>\n"),
    "formal_comment_prose": full("\\<comment> ‹tactic: simp; ML: none›\n"),
    "txt_prose_in_a_proof": full(
        proof="\nproof -\n  txt ‹the tactic›\n  show ?thesis using assms by simp\nqed\n"
    ),
    "antiquotation_in_a_plain_comment": full("(* @{ML ‹Thm.assume›} *)\n"),
    "harmless_antiquotations": full('text ‹@{thm add.commute}, @{term "x + 1"}, \\<^term>‹x››\n'),
    "subscripts": full('lemma sub: "(x\\<^sub>1::nat) = x\\<^sub>1" by simp\n'),
    "statement_copy_in_unicode_with_cartouches": full()
    .replace('"v = 65"', "‹v = 65›")
    .replace("\\<and>", "∧"),
}


@pytest.mark.parametrize("case", sorted(ALLOWED))
def test_harmless_text_is_allowed(case: str) -> None:
    assert built(ALLOWED[case]).text.startswith("theory Prover_Check_t\n")


# -- assembly ------------------------------------------------------------------------------------------


def test_the_trusted_statement_is_what_gets_checked() -> None:
    candidate = full(
        'lemma helper: "(2::real) = 1 + 1" by simp\n', header="theory Whatever imports Main begin\n"
    )
    text = built(candidate).text
    assert text.startswith("theory Prover_Check_t\n  imports Complex_Main Main\nbegin\n")
    assert THEOREM in text and text.count("theorem mathd_algebra_478") == 1
    assert text.index("lemma helper") < text.index(THEOREM) < text.index("using assms by simp")
    assert "Whatever" not in text and text.rstrip().endswith("end") and text.count("\nend") == 1


def test_candidate_whitespace_differences_in_its_statement_copy_are_fine() -> None:
    candidate = full().replace("fixes b h v ::real", "fixes   b h v :: real").replace('"b = 30"', '"b=30"')
    assert THEOREM in built(candidate).text


def test_a_bare_proof_body_is_attached_to_the_statement() -> None:
    text = built("using assms by simp").text
    assert f"{THEOREM}\n" in text and text.index(THEOREM) < text.index("using assms by simp")


def test_trusted_preamble_copied_by_the_candidate_is_not_duplicated() -> None:
    preamble = 'definition dbl :: "nat \\<Rightarrow> nat" where\n  "dbl n = 2 * n"\n'
    statement = f'theory P imports Main begin\n\n{preamble}\ntheorem p: "dbl 2 = 4"\n  sorry\nend\n'
    candidate = (
        f'theory P imports Main begin\n{preamble}\ntheorem p: "dbl 2 = 4"\n  by (simp add: dbl_def)\nend\n'
    )
    text = built(candidate, statement).text
    assert text.count("definition dbl") == 1 and "by (simp add: dbl_def)" in text


def test_unicode_symbols_are_written_in_ascii_form() -> None:
    text = built(full('lemma uni: "∀x::nat. x ≤ x + 1" by simp\n')).text
    assert '"\\<forall>x::nat. x \\<le> x + 1"' in text and "∀" not in text


def test_without_statement_the_candidate_theory_is_renamed_only() -> None:
    text = built('theory Mine imports Main begin\nlemma "x = x" by simp\nend\n', statement=None).text
    assert text == 'theory Prover_Check_t\n  imports Main\nbegin\n\nlemma "x = x" by simp\n\nend\n'


def test_hammer_theory_ends_in_sledgehammer_and_oops() -> None:
    result = prepare('proof -\n  have "v = 65" using assms', STATEMENT, "H", hammer_timeout_s=10)
    assert isinstance(result, Built) and result.hammer_line is not None
    lines = result.text.splitlines()
    assert (
        lines[result.hammer_line - 1] == "sledgehammer [timeout = 10]" and lines[result.hammer_line] == "oops"
    )


# -- positions --------------------------------------------------------------------------------------------


def test_symbol_offsets_match_a_real_isabelle_position() -> None:
    # examples/Example.thy of isabelle-client, for which the recorded use_theories reply reports
    # the `by` of line 5 at offset 59..61: symbols counted from 1, \<forall> being one symbol.
    example = 'theory Example\nimports Main\nbegin\nlemma "\\<forall> x. \\<exists> y. x = y"\nby auto\nend'
    b = Built(example, example, [Piece(0, len(symbol_starts(example)), "candidate", 0)])
    assert b.locate({"line": 5, "offset": 59, "end_offset": 61, "file": "Example.thy"}) == ("candidate", 5, 0)


def test_positions_map_back_through_the_generated_file() -> None:
    candidate = full('lemma uni: "∀x::nat. x ≤ x + 1"\n  by simp\n', proof="\n  using assms\n  by auto\n")
    b = built(candidate)
    k = b.text.index("by auto")
    offset = len(symbol_starts(b.text[:k])) + 1
    line = b.text.count("\n", 0, k) + 1
    assert b.locate({"line": line, "offset": offset}) == ("candidate", *_line_col(candidate, "by auto"))
    k = b.text.index("by simp")  # after the Unicode symbols, which became \<forall> and \<le>
    assert b.locate({"offset": len(symbol_starts(b.text[:k])) + 1}) == (
        "candidate",
        *_line_col(candidate, "by simp"),
    )
    header_line = b.locate({"line": 1})
    assert header_line[0] == "header" and header_line[1] == 1


def _line_col(text: str, needle: str) -> tuple[int, int]:
    k = text.index(needle)
    return text.count("\n", 0, k) + 1, k - (text.rfind("\n", 0, k) + 1)


# -- lexing and data --------------------------------------------------------------------------------------


def test_masking_follows_isabelle_lexing() -> None:
    text = 'a "b ‹ c" d ‹e "f› g (* h (* i *) j *) k `l` m \\<open>n\\<close>'
    assert mask(text).split() == [
        "a",
        '"',
        '"',
        "d",
        "‹",
        "›",
        "g",
        "k",
        "`",
        "`",
        "m",
        "\\<open>",
        "\\<close>",
    ]
    assert to_ascii_symbols("λx. x ∈ ℕ") == "\\<lambda>x. x \\<in> \\<nat>"


def test_header_theory_imports_equal_the_heap_allow_list() -> None:
    thy = (REPO / "isabelle" / "Prover_Header.thy").read_text()
    imports = re.search(r"imports(.*?)begin", mask(thy, strings=False), re.S)
    assert imports is not None
    assert {tok.strip('"') for tok in imports.group(1).split()} | {"Main"} == HEAP_IMPORTS
    assert "Prover_Header" in (REPO / "isabelle" / "ROOT").read_text()


MINIF2F = DATA / "minif2f-isabelle" / "minif2f_isabelle.jsonl"


@needs(MINIF2F.is_file(), f"the miniF2F Isabelle statements in {MINIF2F}")
def test_every_minif2f_statement_parses_and_accepts_its_own_copy() -> None:
    rows = [json.loads(line) for line in MINIF2F.read_text().splitlines()]
    assert len(rows) == 488
    for row in rows:
        statement = row["header"] + row["formal_statement"] + "\n  sorry\nend\n"
        target = parse_target(statement)
        assert target.name == row["name"]
        assert " ".join(target.statement.split()) == " ".join(row["formal_statement"].split())
        candidate = row["header"] + row["formal_statement"] + "\n  by simp\nend\n"
        assert isinstance(prepare(candidate, statement, "T"), Built), row["name"]


# -- joins between trusted and untrusted text ------------------------------------------------------------


@pytest.mark.parametrize(
    "candidate",
    [
        'if "False" by simp',  # a bare body that would turn the statement into `False ==> v = 65`
        'and "True" using assms by simp',
        full(proof='\n  if "False" by simp\n'),
    ],
)
def test_text_after_the_statement_must_start_a_proof(candidate: str) -> None:
    result = rejected(candidate)
    assert full_reason(result) == "forbidden: structure" or result.reason == Reason.STATEMENT_MISMATCH
    assert (
        any("must be a proof command" in m.text for m in result.messages)
        or result.reason == Reason.STATEMENT_MISMATCH
    )


def test_bare_body_that_extends_the_statement_is_refused_as_structure() -> None:
    result = rejected('if "False" by simp')
    assert (
        full_reason(result) == "forbidden: structure"
        and "'if' must be a proof command" in result.messages[0].text
    )


def test_helper_text_after_the_trusted_preamble_must_start_a_command() -> None:
    statement = (
        'theory P imports Main begin\ndefinition d :: nat where "d = 2"\ntheorem p: "d = 2"\n  sorry\nend\n'
    )
    candidate = 'theory P imports Main begin\nfor x :: nat\ntheorem p: "d = 2"\n  by (simp add: d_def)\nend\n'
    result = rejected(candidate, statement)
    assert full_reason(result) == "forbidden: structure" and result.messages[0].line == 2


def test_empty_proof_is_incomplete() -> None:
    assert rejected("  (* nothing *)  ").reason == "incomplete"
