"""A Rocq statement is read once (``RocqStatement``) and carried through conjecture → filter: the
reading renders back to its exact text, the walk over rocq-seeds, rocq-demo and miniF2F-rocq gives
exactly what the text-by-text code gave (``tests/fixtures/parse_once.json.gz``, written by that
code), and one ``propose`` walk scans each statement's text for comments once, outside the static
check (the checker still reads the exact text it is given)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import prover.itp.guard as guard
import prover.selfplay.filter as filter_module
from prover.itp.guard import mask_both, mask_comments
from prover.itp.rocq.statement import RocqStatement, read
from prover.itp.rocq.text import ROCQ_SYNTAX, split_sentences, theorem_of
from prover.itp.statement import ParsedStatement
from prover.selfplay.conjecturing import Seed, propose
from prover.selfplay.filter import Candidate, filter_conjectures
from tests.parse_once_walk import GOLDEN, RecordingPool, load, seed_rows, statements, walk

HYP = "Require Import Arith.\n(* a \"*)\" comment *)\nTheorem t (n : nat) (h : 2 <= n) : forall m, m < n -> m < 3 * n.\n"


def test_a_reading_renders_its_exact_text_and_names_its_parts() -> None:
    for _, text in statements():
        parsed = read(text)
        assert parsed.render() == text
        assert parsed.target is not None and parsed.name == parsed.target.name
        # The same sentences and target as splitting the comment-stripped text, as the old steps did.
        stripped = mask_comments(text, ROCQ_SYNTAX)
        assert [*parsed.sentences] == split_sentences(stripped)
        assert parsed.at is not None and theorem_of(parsed.sentences[parsed.at]) == parsed.target
    parsed = read(HYP)
    assert parsed.header == "Require Import Arith.\n(* a \"*)\" comment *)\n"
    assert parsed.hypotheses == ("2 <= n", "m < n") and parsed.conclusion == "m < 3 * n"
    statement: ParsedStatement = parsed  # the protocol another language's type will satisfy
    assert statement.name == "t"
    assert read("Require Import Arith.\n").at is None


def test_mask_both_is_the_two_masks() -> None:
    for _, text in statements()[:120]:
        assert mask_both(text, ROCQ_SYNTAX) == (
            mask_comments(text, ROCQ_SYNTAX), mask_comments(text, ROCQ_SYNTAX, mask_strings=True))
    odd = 'a "unclosed (* x *) b\n(* "*)" c *) d "" e "x""y" (* open'
    assert mask_both(odd, ROCQ_SYNTAX) == (
        mask_comments(odd, ROCQ_SYNTAX), mask_comments(odd, ROCQ_SYNTAX, mask_strings=True))


def _jsonable(data: Any) -> Any:
    import json

    return json.loads(json.dumps(data))


@pytest.mark.skipif(not GOLDEN.is_file(), reason="the recorded walk is missing")
def test_the_walk_gives_what_the_text_by_text_code_gave() -> None:
    now, before = _jsonable(walk()), load()
    assert now.keys() == before.keys()
    differing = [k for k in before if now[k] != before[k]]
    assert not differing, f"{len(differing)} statements differ, first {differing[0]}"


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bool]]]:
    """Every comment scan (``mask_comments``, ``mask_both``): its text, and whether the static
    check made it."""
    found: list[tuple[str, bool]] = []
    inside = [0]
    scan, static_check = guard._blank_spans, filter_module.static_check

    def spy(text: str, syntax: Any) -> Any:
        found.append((text, inside[0] > 0))
        return scan(text, syntax)

    def checked(*args: Any, **kwargs: Any) -> Any:
        inside[0] += 1
        try:
            return static_check(*args, **kwargs)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(guard, "_blank_spans", spy)
    monkeypatch.setattr(filter_module, "static_check", checked)
    yield found


def test_one_propose_walk_reads_each_statement_once(scans: list[tuple[str, bool]]) -> None:
    rows = [r for r in seed_rows() if r.split == "train"]
    seeds = [Seed(r, "Proof.\n  lia.\nQed.\n", "lia") for r in rows]
    chosen, _ = propose(seeds, 60, 4, random.Random(5), None, 1)  # type: ignore[arg-type]
    assert len(chosen) == 60
    outside = Counter(text for text, in_static in scans if not in_static)
    # Only whole statements are scanned (no sentence or binder re-scans), each exactly once.
    assert max(outside.values()) == 1
    assert all(outside[r.statement] == 1 for r in rows)
    assert all(outside[p.statement] == 1 for p in chosen)
    assert all(isinstance(p.parsed, RocqStatement) and p.parsed.text == p.statement for p in chosen)
    # The filter takes the proposals' readings: it scans nothing again outside the static check.
    scans.clear()
    candidates = [Candidate(p.statement, p.seed.problem.statement, p.kind or "", p.parsed, p.seed.statement)
                  for p in chosen]
    results = filter_conjectures(candidates, RecordingPool())  # type: ignore[arg-type]
    assert [t for t, in_static in scans if not in_static] == []
    assert all(r.parsed is not None and r.parsed.text == r.statement for r in results)
