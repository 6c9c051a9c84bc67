"""Tool correction: proofs whose only fault is wrong automation steps are repaired at those steps,
and every repaired proof is verified by the pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from prover.itp.base import CheckRequest, Limits
from prover.itp.rocq.backend import RocqBackend
from prover.itp.rocq.text import split_sentences
from prover.search.correction import branch_end
from prover.search.runner import Problem, repair
from prover.verify.pool import VerifierPool

REAL = "Require Import Reals.\nOpen Scope R_scope.\n\nTheorem t (x y : R) (h0 : x + y = 10) (h1 : x - y = 2) : x = 6 /\\ y = 4.\nProof.\nAdmitted.\n"
NAT = "Require Import Arith.\n\nTheorem sq (x y : nat) (h : x <= y) : x * x <= y * y.\nProof.\nAdmitted.\n"


def steps(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def test_branch_end_follows_bullets_and_braces() -> None:
    body = split_sentences("split. - lra. - intros. lra. - { lia. } lra.")
    texts = [s.text for s in body]
    assert texts == ["split.", "-", "lra.", "-", "intros.", "lra.", "-", "{", "lia.", "}", "lra."]
    assert branch_end(body, 2) == 3  # the first bullet's branch ends at the next "-"
    assert branch_end(body, 4) == 6
    assert branch_end(body, 8) == 9  # inside braces: up to the closing "}"
    assert branch_end(body, 0) == len(body)  # no bullet: the rest of the proof
    nested = split_sentences("split. - split. + lra. + lra. - lra.")
    assert branch_end(nested, 4) == 5  # "+" level ends at the next "+"
    assert branch_end(nested, 6) == 7  # the last "+" branch ends at the outer "-"


@pytest.fixture(scope="module")
def pool() -> Iterator[VerifierPool]:
    with VerifierPool(RocqBackend(), workers=1, limits=Limits(timeout_s=30)) as p:
        yield p


pytestmark_rocq = pytest.mark.rocq


@pytestmark_rocq
@pytest.mark.parametrize(
    "proof, statement, repairs",
    [
        (  # a wrong closer in a flat script
            REAL.replace("Admitted.", "  split; ring.\nQed.").replace("Open Scope", "Require Import Lra.\nOpen Scope"),
            REAL,
            1,
        ),
        (  # two wrong closers in two bullets: repaired one after the other
            REAL.replace("Admitted.", "  split.\n  - ring.\n  - lia.\nQed.").replace("Open Scope", "Require Import Lra.\nOpen Scope"),
            REAL,
            2,
        ),
        (  # lia where nia is needed, after a step that works
            NAT.replace("Admitted.", "  intros.\n  lia.\nQed.").replace("Require Import Arith.", "Require Import Arith Lia."),
            NAT,
            1,
        ),
        (  # auto that does not close the goal, inside braces
            REAL.replace("Admitted.", "  split.\n  { auto. }\n  { lra. }\nQed.").replace("Open Scope", "Require Import Lra.\nOpen Scope"),
            REAL,
            1,
        ),
    ],
)
def test_wrong_automation_steps_are_repaired(pool: VerifierPool, tmp_path: Path, proof: str, statement: str, repairs: int) -> None:
    assert not pool.check(CheckRequest(proof, statement)).verified
    problem = Problem("t", statement)
    result = repair(problem, proof, pool, 60.0, tmp_path)
    assert result.repaired, [r.to_json() for r in result.repairs]
    assert len(result.repairs) == repairs
    assert all(r.replacement and r.error for r in result.repairs)
    assert pool.check(CheckRequest(result.proof, statement)).verified  # independently, again
    # What the proof got right is kept: the repaired text still holds the original good steps.
    good = [s for s in steps(proof) if s not in {r.failing for r in result.repairs}]
    assert all(s in result.proof for s in good if s not in ("Qed.",))


@pytestmark_rocq
def test_a_cheat_is_not_a_tool_problem(pool: VerifierPool, tmp_path: Path) -> None:
    proof = REAL.replace("Admitted.", "  admit.\nQed.")
    result = repair(Problem("t", REAL), proof, pool, 20.0, tmp_path)
    assert not result.repaired and result.verdict.reason == "forbidden" and not result.repairs


@pytestmark_rocq
def test_an_unrepairable_step_is_recorded(pool: VerifierPool, tmp_path: Path) -> None:
    false = "Require Import Arith.\n\nTheorem f (n : nat) : n * n = n + 1.\nProof.\nAdmitted.\n"
    proof = false.replace("Admitted.", "  lia.\nQed.").replace("Require Import Arith.", "Require Import Arith Lia.")
    result = repair(Problem("f", false), proof, pool, 6.0, tmp_path)
    assert not result.repaired
    assert result.repairs and result.repairs[0].failing == "lia." and not result.repairs[0].replacement
