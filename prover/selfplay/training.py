"""The train stage's data: expert iteration on verified proofs (this round's, then a replay buffer of
earlier rounds'), hardest first and weighted towards targets the model did not prove itself, plus
conjecturer examples for the selected conjectures; proofs written with NL-FL bootstrapping (natural
language steps as comments) where the commented proof still verifies. No completion is longer than
the budget the model samples with: it would learn to be cut off. The same records are exported as a
``datasets`` dataset.

Only proofs of training targets and of conjectures are used: held-out problems never reach training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prover.bootstrap import BootstrapItem, bootstrap
from prover.generate.lang import masked
from prover.selfplay.select import weight
from prover.store import ProblemRow, ProofRow, Store
from prover.train.examples import Example, completion_tokens, example_of, proof_body
from prover.train.export import bootstrapped_record, conjecturer_record, prover_record
from prover.verify.pool import CheckPool


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


def own_comments(language: str, statement: str, proof: str) -> bool:
    """Whether what follows the statement's stub in ``proof`` (what the model writes) carries
    comments: a model that learned from annotated proofs writes its own."""
    try:
        body = proof_body(language, statement, proof)
    except ValueError:  # no example can be made of it anyway
        return False
    return masked(language, body) != body


@dataclass(frozen=True)
class Record:
    """An export record with its loss weight; for a proof with NL comments added, also the same proof
    without them (what trains instead when the commented one does not fit the sampling budget)."""

    data: dict[str, Any]
    weight: float
    plain: dict[str, Any] | None = None


def build_records(
    chosen: Sequence[Chosen], conjectures: Sequence[ConjectureExample], pool: CheckPool, round: int,
    nl_comments: bool, unproved_weight: float,
) -> list[Record]:
    """Export records (see ``prover.train.export``), each with its loss weight: prover records,
    NL-commented where the commented proof verified (targets the model did not prove itself weighted
    up), then conjecturer records. A proof that carries comments of its own (the model learned to
    write them) is taken as it is: annotating it again would stack a second set on the first."""
    out: list[Record] = []
    by_language: dict[str, list[Chosen]] = {}
    for c in chosen:
        by_language.setdefault(c.problem.language, []).append(c)
    for language, group in by_language.items():
        own = [own_comments(language, c.problem.statement, c.proof.text) for c in group]
        todo = [i for i, c in enumerate(group) if nl_comments and not own[i]]
        items = [BootstrapItem(group[i].problem.statement, group[i].proof.text, group[i].problem.informal)
                 for i in todo]
        annotated = dict(zip(todo, bootstrap(language, items, pool) if items else [], strict=True))
        for i, c in enumerate(group):
            p = c.problem
            plain = prover_record(language, p.name, p.statement, c.proof.text, informal=p.informal, nl=own[i],
                                  round=round)
            w = weight(c.rate, c.by_model, unproved_weight) if p.split == "train" else 1.0
            if i not in annotated:
                out.append(Record(plain, w))
                continue
            data = bootstrapped_record(language, p.name, p.statement, annotated[i], informal=p.informal,
                                       round=round)
            out.append(Record(data, w, plain if data["nl"] else None))
    for x in conjectures:
        data = conjecturer_record(x.seed.language, x.conjecture.name, x.seed.statement, x.seed_proof, x.lemma,
                                  x.conjecture.statement, round=round)
        out.append(Record(data, 1.0))
    return out


def within_budget(
    records: Sequence[Record], templates: str, tokenizer: Any, prompt_format: str, max_tokens: int,
) -> tuple[list[Record], list[Example], int]:
    """The records whose completion the model could write within its sampling budget (``max_tokens``
    of its own tokens; a longer one teaches it to be cut off), each rendered as a training example
    with the prompts the model sees at inference; an NL-commented proof that does not fit is taken
    without its comments when that fits. Also returns how many records were dropped."""
    kept: list[Record] = []
    examples: list[Example] = []
    for record in records:
        for data in (record.data, record.plain):
            if data is None:
                continue
            example = example_of(data, templates, tokenizer, prompt_format)
            example = dataclasses.replace(example, weight=record.weight)
            if completion_tokens(example, tokenizer) <= max_tokens:
                kept.append(Record(data, record.weight))
                examples.append(example)
                break
    return kept, examples, len(records) - len(kept)
