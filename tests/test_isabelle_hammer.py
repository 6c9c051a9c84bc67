"""Parsing Sledgehammer's "Try this" suggestions, from the recorded reply and from constructed ones."""

from __future__ import annotations

import json

import pytest

from prover.itp.isabelle.file import Built
from prover.itp.isabelle.hammer import HEURISTIC_METHODS, Suggestion, parse_suggestions
from prover.itp.isabelle.theory import prepare
from tests.conftest import ISABELLE_FIXTURES, needs

RECORDED = ISABELLE_FIXTURES / "use_theories.Sledgehammer.parsed.json"


@needs(RECORDED.is_file(), f"the recorded Sledgehammer reply {RECORDED}")
def test_recorded_sledgehammer_reply() -> None:
    finished = json.loads(RECORDED.read_text())[-1]
    assert finished["reply"] == "FINISHED"
    found = parse_suggestions(finished["argument"]["nodes"][0]["messages"])
    assert [(s.prover, s.method, s.time) for s in found] == [
        ("presburger", "by presburger", "0.4 ms"),
        ("simp", "by simp", "0.3 ms"),
        ("auto", "by auto", "0.3 ms"),
        ("blast", "by blast", "0.3 ms"),
        ("fast", "by fast", "0.3 ms"),
        ("metis", "by metis", "2 ms"),
    ]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "cvc5: Try this: by (metis add.commute mult.commute) (12 ms)",
            Suggestion("cvc5", "by (metis add.commute mult.commute)", "12 ms"),
        ),
        (
            "e: Try this: by (smt (verit, best) h0 power2_eq_square) (1.2 s)",
            Suggestion("e", "by (smt (verit, best) h0 power2_eq_square)", "1.2 s"),
        ),
        ("Try this: by (simp add: field_simps)", Suggestion(None, "by (simp add: field_simps)", None)),
        (
            "vampire: Try this: using assms by auto (5 ms)",
            Suggestion("vampire", "using assms by auto", "5 ms"),
        ),
        (
            "zipperposition: Try this:\nproof -\n  show ?thesis by simp\nqed (3 ms)",
            Suggestion("zipperposition", "proof -\n  show ?thesis by simp\nqed", "3 ms"),
        ),
        (
            "verit: Try this: by (auto simp: \\<open>x > 0\\<close>) (< 1 ms)",
            Suggestion("verit", "by (auto simp: \\<open>x > 0\\<close>)", "< 1 ms"),
        ),
    ],
)
def test_constructed_suggestions(message: str, expected: Suggestion) -> None:
    assert parse_suggestions([{"kind": "writeln", "message": message}]) == [expected]


@pytest.mark.parametrize(
    "message",
    [
        "Sledgehammering...",
        "cvc5 found a proof...",
        "vampire: Try this: by blast (> 1.0 s, timed out)",
        "e: Try this: by metis (failed)",
        "Done",
        "No proof found",
    ],
)
def test_non_suggestions_are_ignored(message: str) -> None:
    assert parse_suggestions([{"kind": "writeln", "message": message}]) == []


def test_heuristic_methods_pass_the_guard() -> None:
    statement = 'theory T imports Main begin\ntheorem t: "(1::nat) + 1 = 2"\n  sorry\nend\n'
    assert "by eval" not in HEURISTIC_METHODS
    for method in HEURISTIC_METHODS:
        assert isinstance(prepare(method, statement, "T"), Built), method
