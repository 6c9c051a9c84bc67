"""Step-level training data: (goal state → tactic) examples from the proofs a search found.

Each ranked step of a verified proof (``search.result.Step``: the state as ``policy.state_prompt``
renders it, the tactic taken there) becomes one example whose completion is exactly what the
policy scores at inference (``policy.tactic_completion``), so the model learns the distribution it
is later asked for. A step seen in several proofs is one example: frequent easy states must not
drown the rare hard ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.search.policy import tactic_completion
from prover.search.ranker import RankExample
from prover.train.examples import Example


@dataclass(frozen=True)
class StepRecord:
    """One step of one verified proof: which problem it proves, the state, the tactic."""

    problem: str
    state: str
    tactic: str
    rule: str = ""
    candidates: tuple[tuple[str, str], ...] = ()  # (rule, tactic) the search could take there
    tried: tuple[tuple[str, str, float], ...] = ()  # (tactic, outcome, seconds) of those it ran there


def records_from_detail(problem: str, steps: Iterable[Mapping[str, Any]]) -> list[StepRecord]:
    """The step records of a search's JSON detail (``{"state", "tactic", "rule", "candidates"}``)."""
    return [StepRecord(problem, s["state"], s["tactic"], s.get("rule", ""),
                       tuple((str(r), str(t)) for r, t in s.get("candidates", ())),
                       tuple((str(t), str(o), float(x)) for t, o, x in s.get("tried", ())))
            for s in steps]


def proof_records(samples: Iterable[Any]) -> list[StepRecord]:
    """The step records of every proved sample among ``samples`` (eval-store rows, each with
    ``problem``, ``proved`` and the search's ``detail``), in their order."""
    return [record for sample in samples if sample.proved
            for record in records_from_detail(sample.problem, sample.detail.get("steps", []))]


def distinct_steps(records: Iterable[StepRecord]) -> Iterator[StepRecord]:
    """The first record of each distinct (state, tactic): a step seen in several proofs counts once."""
    seen: set[tuple[str, str]] = set()
    for record in records:
        key = (record.state, record.tactic)
        if key not in seen:
            seen.add(key)
            yield record


def step_examples(records: Iterable[StepRecord]) -> list[Example]:
    """One example per distinct (state, tactic), in first-seen order."""
    return [Example(r.state, tactic_completion(r.tactic, r.rule)) for r in distinct_steps(records)]


def rank_examples(records: Iterable[StepRecord]) -> list[RankExample]:
    """One ranking example per distinct (state, tactic) whose state kept its candidates: the tactic
    taken against every other candidate of that state."""
    examples = []
    for record in distinct_steps(r for r in records if r.candidates):
        candidates = list(record.candidates)
        taken = (record.rule, record.tactic)
        if taken not in candidates:
            candidates.append(taken)  # a tactic the model wrote, or one the table no longer offers
        examples.append(RankExample(record.state, tuple(candidates), candidates.index(taken)))
    return examples


def tokenizer_corpus(records: Sequence[StepRecord]) -> list[str]:
    """The texts the policy's tokenizer is trained on: the training states and tactics only (a
    held-out problem's statement never reaches this list; the caller passes training records)."""
    return [f"{r.state}{tactic_completion(r.tactic, r.rule)}\n" for r in records]


def init_step_model(out_dir: Path, records: Sequence[StepRecord], seed: int = 0) -> Path:
    """A fresh small decoder with a tokenizer trained on ``records``' own text: the untrained
    policy of expert iteration's first round."""
    from prover.train.model_init import init_model

    return init_model(out_dir, tokenizer_corpus(records), vocab_size=1024, n_layer=2, n_embd=128, n_head=4,
                      n_positions=1024, seed=seed)
