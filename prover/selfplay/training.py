"""The train stage's data: expert iteration on verified proofs (this round's, then a replay buffer of
earlier rounds'), hardest first and weighted towards targets the model did not prove itself, plus
conjecturer examples for the selected conjectures; proofs written with NL-FL bootstrapping (natural
language steps as comments) where the commented proof still verifies. The same records are exported
as a ``datasets`` dataset.

Only proofs of training targets and of conjectures are used: held-out problems never reach training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prover.bootstrap import BootstrapItem, bootstrap
from prover.pool import CheckPool
from prover.selfplay.select import weight
from prover.store import ProblemRow, ProofRow, Store
from prover.train.examples import Example, example_of
from prover.train.export import bootstrapped_record, conjecturer_record, prover_record


@dataclass(frozen=True)
class Chosen:
    """A verified proof picked for training, with how hard its problem is for the model."""

    problem: ProblemRow
    proof: ProofRow
    rate: float  # the model's pass rate this round (0 when it did not try)
    by_model: bool


@dataclass(frozen=True)
class ConjectureExample:
    seed: ProblemRow
    seed_proof: str
    lemma: str
    conjecture: ProblemRow


def choose_proofs(
    store: Store, round: int, usable: set[int], rates: Mapping[int, tuple[float, bool]], replay: int
) -> list[Chosen]:
    """One proof per usable problem: the shortest of this round, else (replay) the shortest of the
    most recent earlier round, at most ``replay`` of those; hardest first."""
    current: dict[int, ProofRow] = {}
    earlier: dict[int, ProofRow] = {}
    for proof in store.proofs():
        if proof.problem_id not in usable or proof.round > round:
            continue
        bucket = current if proof.round == round else earlier
        old = bucket.get(proof.problem_id)
        if old is None or (proof.round, -len(proof.text)) > (old.round, -len(old.text)):
            bucket[proof.problem_id] = proof
    replayed = sorted((p for pid, p in earlier.items() if pid not in current), key=lambda p: -p.round)
    picked = list(current.values()) + replayed[:replay]
    chosen = [Chosen(store.problem(p.problem_id), p, *rates.get(p.problem_id, (0.0, False))) for p in picked]
    return sorted(chosen, key=lambda c: (c.by_model, c.rate, c.problem.name))


def build_records(
    chosen: Sequence[Chosen], conjectures: Sequence[ConjectureExample], pool: CheckPool, round: int,
    nl_comments: bool, unproved_weight: float,
) -> list[tuple[dict[str, Any], float]]:
    """Export records (see ``prover.train.export``), each with its loss weight: prover records,
    NL-commented where the commented proof verified (targets the model did not prove itself weighted
    up), then conjecturer records."""
    weighted: list[tuple[dict[str, Any], float]] = []
    by_language: dict[str, list[Chosen]] = {}
    for c in chosen:
        by_language.setdefault(c.problem.language, []).append(c)
    for language, group in by_language.items():
        if nl_comments:
            items = [BootstrapItem(c.problem.statement, c.proof.text, c.problem.informal) for c in group]
            records = [bootstrapped_record(language, c.problem.name, c.problem.statement, result,
                                           informal=c.problem.informal, round=round)
                       for c, result in zip(group, bootstrap(language, items, pool), strict=True)]
        else:
            records = [prover_record(language, c.problem.name, c.problem.statement, c.proof.text,
                                     informal=c.problem.informal, round=round) for c in group]
        for c, record in zip(group, records, strict=True):
            target = c.problem.split == "train"
            weighted.append((record, weight(c.rate, c.by_model, unproved_weight) if target else 1.0))
    for x in conjectures:
        record = conjecturer_record(x.seed.language, x.conjecture.name, x.seed.statement, x.seed_proof,
                                    x.lemma, x.conjecture.statement, round=round)
        weighted.append((record, 1.0))
    return weighted


def examples_of(
    weighted: Sequence[tuple[Mapping[str, Any], float]], templates: str, tokenizer: Any, prompt_format: str,
) -> list[Example]:
    """Training examples rendered with the prompts the model sees at inference."""
    return [dataclasses.replace(example_of(r, templates, tokenizer, prompt_format), weight=w)
            for r, w in weighted]
