"""The select stage's rules (STP), as plain functions of what the prove stage measured.

A conjecture is worth training on when it is *barely* provable for the current prover: some but few
of its samples verify (``low < pass rate <= high``: with 8 samples and the STP bounds 0 and 0.25,
one or two) and its proof uses the lemma the seed was paired with (so it exercises that technique).
Of those, the share ``drop_fraction`` with the lowest proof-length / statement-length ratio goes —
at least one as soon as there are two, never the last one: a long statement with a short proof is
usually a restatement, not a new problem. Training then weights proofs of targets the model did not
prove itself above those it already proves (expert iteration leans to the hard cases).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from prover.generate.lang import masked

_NAME = re.compile(r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*")


@dataclass(frozen=True)
class Scored:
    """A kept conjecture after the prove stage."""

    conjecture_id: int
    statement: str
    lemma: str | None
    verified: int  # of the first ``total`` model samples
    total: int
    proof: str | None  # a verified proof, if any

    @property
    def rate(self) -> float:
        return self.verified / self.total if self.total else 0.0


def uses_lemma(proof: str, lemma: str | None) -> bool:
    """Whether the proof's script (after ``Proof.``) names the lemma as a whole (qualified) name,
    outside comments and strings (any lemma when none is given): a comment saying "lia", or
    ``Nat.add_comm_l`` for ``Nat.add_comm``, is no use of it."""
    if not lemma:
        return True
    script = masked("rocq", proof, strings=True).split("Proof.", 1)[-1]
    return lemma in _NAME.findall(script)


def proof_ratio(proof: str, statement: str) -> float:
    """Characters of proof script per character of the theorem's statement."""
    script = proof.split("Proof.", 1)[-1]
    head = statement.split("Proof.", 1)[0]
    return len(script.strip()) / max(1, len(head.strip()))


def dropped(count: int, drop_fraction: float) -> int:
    """How many of ``count`` candidates the ratio filter drops: the share rounded to the nearest,
    at least one of two or more when the share is not 0, never all of them."""
    if count < 2 or drop_fraction <= 0:
        return 0
    return min(count - 1, max(1, math.floor(drop_fraction * count + 0.5)))


def select(scored: Sequence[Scored], low: float, high: float, drop_fraction: float) -> list[Scored]:
    """The conjectures to train on (see the module docstring), in the order given."""
    barely = [s for s in scored
              if s.proof is not None and low < s.rate <= high and uses_lemma(s.proof, s.lemma)]
    drop = dropped(len(barely), drop_fraction)
    if drop == 0:
        return barely
    by_ratio = sorted(barely, key=lambda s: proof_ratio(s.proof or "", s.statement))
    gone = {s.conjecture_id for s in by_ratio[:drop]}
    return [s for s in barely if s.conjecture_id not in gone]


def weight(rate: float, by_model: bool, unproved_weight: float) -> float:
    """A training example's loss weight: targets the model did not prove count ``unproved_weight``
    times, those it proves rarely in between."""
    if not by_model:
        return unproved_weight
    return 1.0 + (unproved_weight - 1.0) * max(0.0, 1.0 - rate)
