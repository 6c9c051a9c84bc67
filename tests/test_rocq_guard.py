from __future__ import annotations

import pytest

from prover.itp.guard import Syntax, mask_comments, scan
from prover.itp.rocq.guard import RULES, UnexpectedAssumptions, full_path, parse_assumptions
from prover.itp.rocq.text import ROCQ_SYNTAX


def forbidden(text: str) -> list[str]:
    return [m.text.split(":")[1].split("(")[0].strip() for m in scan(text, ROCQ_SYNTAX, RULES)]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Proof. Admitted.", "Admitted"),
        ("Proof. admit. Qed.", "admit"),
        ("Proof. give_up. Qed.", "give_up"),
        ("Goal False. Abort.", "Abort"),
        ("Admit Obligations.", "Admit Obligations"),
        ("Unset Guard Checking.", "Guard/Positivity/Universe Checking"),
        ("Local Unset Positivity Checking.", "Guard/Positivity/Universe Checking"),
        ("Unset Universe Checking.", "Guard/Positivity/Universe Checking"),
        ("Set Definitional UIP.", "Guard/Positivity/Universe Checking"),
        ("#[bypass_check(guard)] Fixpoint f (n : nat) : False := f n.", "bypass_check"),
        ('Declare ML Module "unix".', "Declare ML Module"),
        ('Load "/etc/passwd".', "Load"),
        ('Add LoadPath "/tmp" as X.', "LoadPath"),
        ('Add Rec LoadPath "/tmp".', "LoadPath"),
        ('Redirect "/tmp/x" Print nat.', "Redirect"),
        ('Extraction "/tmp/x.ml" nat.', "Extraction"),
        ('Set Extraction Output Directory "/tmp".', "Extraction"),
        ('Cd "/tmp".', "Cd"),
        ("Drop.", "Drop"),
        ("Reset Initial.", "Reset/Back"),
        ("Primitive int := #int63_type.", "Primitive"),
    ],
)
def test_forbidden_commands_are_found(text: str, rule: str) -> None:
    assert rule in forbidden(text)


def test_comments_and_strings_are_not_scanned() -> None:
    assert forbidden('(* Admitted. admit (* Load *) *) Check "Redirect". Lemma readmit_ok : True.') == []


def test_positions_are_reported() -> None:
    [message] = scan("Lemma a : True.\nProof.\n  admit.\nQed.", ROCQ_SYNTAX, RULES)
    assert (message.line, message.column) == (3, 2)


def test_mask_keeps_offsets_and_newlines() -> None:
    text = "a (* b\n c *) d -- e\nf"
    masked = mask_comments(text, Syntax(block=("(*", "*)"), line="--"))
    assert len(masked) == len(text)
    assert masked.splitlines() == ["a     ", "      d     ", "f"]


def test_assumptions_closed() -> None:
    assert parse_assumptions("Closed under the global context") == []


def test_assumptions_axiom_list_with_wrapped_types() -> None:
    output = (
        "Axioms:\nClassicalDedekindReals.sig_forall_dec\n  : forall P : nat -> Prop,\n    P 0\n"
        "FunctionalExtensionality.functional_extensionality_dep\n  : forall A, A\nx : True"
    )
    assert parse_assumptions(output) == [
        "ClassicalDedekindReals.sig_forall_dec",
        "FunctionalExtensionality.functional_extensionality_dep",
        "x",
    ]


@pytest.mark.parametrize(
    "output",
    [
        "Axioms:\nf is assumed to be guarded.",
        "Section Variables:\ny\n: False",
        "Constants/Inductives relying on type-in-type: foo",
        "",
    ],
)
def test_anything_but_plain_axioms_is_refused(output: str) -> None:
    with pytest.raises(UnexpectedAssumptions):
        parse_assumptions(output)


def test_full_path_from_about_even_when_wrapped() -> None:
    about = "x : False\n\nx is not universe polymorphic\nExpands to: Constant\nTop.ClassicalDedekindReals.sig_forall_dec"
    assert full_path(about) == "Top.ClassicalDedekindReals.sig_forall_dec"
    assert full_path("Notation x := y") is None
