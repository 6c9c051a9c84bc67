"""Which tactic to try first on a state: the table's fixed order, or a learned step-level policy.

The best-first search (``portfolio.py``) asks a ``Policy`` for the cost of each candidate tactic
on a state; a path's cost is the sum of its steps' costs. ``TablePolicy`` is the hand-written
order (each row's priority: ``--engine portfolio``). ``ModelPolicy`` is the step-level prover of
GPT-f and BFS-Prover (``--engine step``): a causal LM that reads the goal state and scores every
candidate by its log-probability as the next tactic, optionally also writing tactics of its own.
Its cost is ``-log p`` with p normalised over the state's candidates, so costs add up along a path
like the table's priorities do; the table's priority stays in the sum at a small weight, so that
between tactics the model finds equally likely the hand-written order still decides.

``state_prompt`` is the one rendering of a state that training (``train/steps.py``) and inference
share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from prover.itp.goals import ProofState
from prover.search.tactics import TABLE, Rule

if TYPE_CHECKING:
    from prover.generate.base import Generator
    from prover.generate.score import Scorer

_MAX_HYPS_CHARS = 900
_MAX_CONCL_CHARS = 600
PROMPT_END = "\nTactic:"
MACRO_CHARS = 40  # a table row's tactic longer than this is written as the row's name
TABLE_NAMES = frozenset(rule.name for rule in TABLE)
MODEL_RULE = Rule("model", "pre", "", 1.5, timeout_s=3)  # a tactic the model wrote itself


def state_prompt(state: ProofState) -> str:
    """The first goal (what the next tactic acts on) in full, how many others wait, then the cue.
    Long hypotheses are cut from the front: the conclusion and the latest hypotheses matter most."""
    if not state.goals:
        return f"no goals{PROMPT_END}"
    goal = state.goals[0]
    hyps = "\n".join(goal.hypotheses)
    if len(hyps) > _MAX_HYPS_CHARS:
        hyps = "…" + hyps[-_MAX_HYPS_CHARS:]
    concl = goal.conclusion[:_MAX_CONCL_CHARS]
    others = len(state.goals) - 1 + state.shelved
    lines = [f"goals: {1 + others}", hyps, f"⊢ {concl}"]
    return "\n".join(line for line in lines if line) + PROMPT_END


def tactic_completion(tactic: str, rule: str = "") -> str:
    """What the model writes after ``state_prompt``: one space, then the tactic — or, for a row of
    the table whose tactic is a long script, the row's name in brackets (``[nat_to_Z_list]``). A
    small model then learns *which* script to run instead of spelling out 200 characters of Ltac,
    and ranking costs a few tokens per row; tactics with arguments and the model's own are always
    written out, since their arguments are the point."""
    text = " ".join(tactic.split())
    if rule in TABLE_NAMES and len(text) > MACRO_CHARS:
        return f" [{rule}]"
    return " " + text


def policy_costs(scores: Sequence[float], priorities: Sequence[float], scale: float,
                 table_weight: float) -> list[float]:
    """What a learned policy charges each candidate of a state: ``scale`` × ``-log p``, p the softmax
    of ``scores`` over the state's candidates (so costs add up along a path like the table's
    priorities), plus ``table_weight`` × the candidate's table priority (between candidates the
    policy finds equally likely, the hand-written order still decides)."""
    top = max(scores)
    norm = top + math.log(sum(math.exp(s - top) for s in scores))
    return [scale * (norm - s) + table_weight * p for s, p in zip(scores, priorities, strict=True)]


class Policy(Protocol):
    def identity(self) -> str: ...

    def costs(self, state: ProofState, candidates: Sequence[tuple[Rule, str]]) -> list[float]:
        """One cost per candidate (lower runs earlier)."""
        ...

    def propose(self, state: ProofState) -> list[str]:
        """Tactics of the policy's own for ``state`` (none for the table)."""
        ...


class TablePolicy:
    """The hand-written order: each rule's priority."""

    def identity(self) -> str:
        return "table"

    def costs(self, state: ProofState, candidates: Sequence[tuple[Rule, str]]) -> list[float]:
        return [rule.priority for rule, _ in candidates]

    def propose(self, state: ProofState) -> list[str]:
        return []


@dataclass
class ModelPolicyConfig:
    samples: int = 0  # tactics the model writes itself per state (0: it only ranks)
    temperature: float = 1.0
    max_tokens: int = 48
    seed: int = 0
    table_weight: float = 0.5  # how much of the table's priority stays in a step's cost
    scale: float = 1.0  # -log p is multiplied by this (the table's priorities span about 0..4)


class ModelPolicy:
    """A causal LM as the step-level policy: ``scorer`` ranks candidates; ``generator`` (optional,
    the same model behind the generation backend) writes ``samples`` tactics per state."""

    def __init__(self, scorer: Scorer, config: ModelPolicyConfig | None = None,
                 generator: Generator | None = None) -> None:
        self.scorer = scorer
        self.config = config or ModelPolicyConfig()
        self.generator = generator

    def identity(self) -> str:
        c = self.config
        return f"model:{self.scorer.identity()}:s{c.samples}:w{c.table_weight}:x{c.scale}"

    def costs(self, state: ProofState, candidates: Sequence[tuple[Rule, str]]) -> list[float]:
        if not candidates:
            return []
        texts = [tactic_completion(t, r.name) for r, t in candidates]
        scores = self.scorer.logprobs(state_prompt(state), texts)
        return policy_costs(scores, [rule.priority for rule, _ in candidates], self.config.scale,
                            self.config.table_weight)

    def propose(self, state: ProofState) -> list[str]:
        c = self.config
        if self.generator is None or c.samples <= 0:
            return []
        answers = self.generator.generate([state_prompt(state)], c.samples, c.temperature, 1.0, c.max_tokens,
                                          ["\n"], c.seed)[0]
        found: list[str] = []
        for answer in answers:
            tactic = answer.text.strip()
            if tactic.endswith(".") and tactic not in found:
                found.append(tactic)
        return found


def load_policy(model: str, config: ModelPolicyConfig | None = None) -> Policy:
    """The step-level policy of a local folder or hub id: a trained ranker's folder
    (``ranker.py``), else a causal LM scoring through transformers on the CPU. Raises
    ``ValueError`` with one line when it cannot be loaded."""
    from pathlib import Path

    from prover.generate.base import GenerationError
    from prover.generate.score import TransformersScorer
    from prover.search.ranker import RankerPolicy, is_ranker

    if is_ranker(model):
        return RankerPolicy.load(Path(model))

    try:
        return ModelPolicy(TransformersScorer(model), config)
    except GenerationError as exc:
        raise ValueError(str(exc)) from exc
