"""The conjecture stage: proved seeds, each paired with a lemma its proof uses, become new statements
— from the symbolic conjecturer (mutations of the statement) and from the model with the
conjecturer prompt — which the filter then sorts into kept and rejected, all recorded in the store.

STP conditions the conjecturer on a lemma so that conjectures exercise a proof technique the prover
already has; no lemma may take more than ``lemma_cap`` of a batch, so one easy technique cannot
crowd out the rest. In Rocq a "lemma" is a library fact the proof rewrites or applies with, or else
the automation that closed it (``lia``, ``nra`` …).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from prover.generate.base import Generator, tokenizer_of
from prover.generate.prompts import conjecturer_prompt, load_templates
from prover.generate.thinking import split_thinking
from prover.itp.rocq.statement import RocqStatement, read
from prover.search.model_engine import ModelEngineConfig
from prover.selfplay.filter import Candidate, FilterResult, filter_conjectures, from_model, normalise, summary
from prover.selfplay.symbolic import mutate
from prover.store import AttemptRow, ConjectureRow, ProblemRow, Store
from prover.verify.pool import CheckPool

_NAME = r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*"
_USES = re.compile(rf"\b(?:rewrite|apply|exact|specialize|pose proof|erewrite|eapply)\s+(?:<-\s*)?({_NAME})")
_CLOSERS = ("nia", "lia", "nra", "lra", "psatz", "field", "ring", "tauto", "intuition", "congruence",
            "reflexivity", "vm_compute", "auto", "omega")
_LOCAL = re.compile(r"^(?:h\d*|H\d*|IH\w*|[a-z])$")  # hypotheses and bound variables, not lemmas


def lemmas_of(proof: str) -> list[str]:
    """The library facts a Rocq proof uses by name, else the automation that closes it."""
    body = proof.split("Proof.", 1)[-1]
    named = [m.group(1) for m in _USES.finditer(body) if not _LOCAL.match(m.group(1))]
    if named:
        return list(dict.fromkeys(named))
    words = re.findall(r"[a-z_]+", body)
    return [next((w for w in reversed(words) if w in _CLOSERS), "auto")]


@dataclass(frozen=True)
class Seed:
    problem: ProblemRow
    proof: str  # a verified proof of it
    lemma: str
    # The seed's statement read once, where it enters the stage; every conjecture made from it (and
    # the filter's header and duplicate checks) takes this reading instead of the text.
    statement: RocqStatement = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "statement", read(self.problem.statement))


def pick_seeds(
    candidates: Sequence[tuple[ProblemRow, str, float, bool]], batch: int, cap: float, threshold: float,
    rng: random.Random,
) -> list[Seed]:
    """Seeds from (problem, proof, model pass rate, proved by the model): those the model proves at
    least ``threshold`` of the time, or that only the teacher proved (the model must learn them);
    each paired with one of its lemmas so that no lemma exceeds ``cap`` of ``batch`` conjectures."""
    eligible = [(p, proof) for p, proof, rate, by_model in candidates if rate >= threshold or not by_model]
    rng.shuffle(eligible)
    limit = max(1, math.ceil(cap * batch))
    used: Counter[str] = Counter()
    seeds = []
    for problem, proof in eligible:
        lemma = next((lem for lem in lemmas_of(proof) if used[lem] < limit), None)
        if lemma is not None:
            used[lemma] += 1
            seeds.append(Seed(problem, proof, lemma))
    return seeds


@dataclass(frozen=True)
class Proposal:
    seed: Seed
    statement: str
    generator: str  # "symbolic" | "model"
    kind: str | None
    parsed: RocqStatement | None = field(default=None, repr=False, compare=False)  # ``statement`` read


def propose(
    seeds: Sequence[Seed], batch: int, per_seed: int, rng: random.Random, store: Store, round: int,
    generator: Generator | None = None, sampling: ModelEngineConfig | None = None,
) -> tuple[list[Proposal], list[FilterResult]]:
    """Up to ``batch`` conjectures, taken round-robin over the seeds so that every seed contributes;
    also what the model wrote that was no statement at all (the extractor's refusals). The model is
    asked ``sampling.k`` times per seed, with its templates, prompt format and sampling settings."""
    per: list[list[Proposal]] = []
    for i, s in enumerate(seeds):
        partner = seeds[(i + 1) % len(seeds)].statement  # for "compose" (same header and binders)
        mutations = mutate(s.statement, rng, per_seed, partner=partner)
        per.append([Proposal(s, m.statement, "symbolic", m.kind, m.parsed) for m in mutations])
    refused: list[FilterResult] = []
    if generator is not None and sampling is not None and seeds:
        asked, refused = _ask_model(seeds, generator, sampling, store, round)
        for row, extra in zip(per, asked, strict=True):
            row[:0] = extra  # the model's own conjectures first: they are rarer
    chosen: list[Proposal] = []
    while len(chosen) < batch and any(per):
        for row in per:
            if row and len(chosen) < batch:
                chosen.append(row.pop(0))
    return chosen, refused


def _ask_model(
    seeds: Sequence[Seed], generator: Generator, sampling: ModelEngineConfig, store: Store, round: int,
) -> tuple[list[list[Proposal]], list[FilterResult]]:
    templates = load_templates(sampling.templates)
    prompts = [conjecturer_prompt(templates, s.problem.language, s.problem.statement, s.proof, s.lemma)
               for s in seeds]
    stop = sorted({x for p in prompts for x in p.stop})
    tokenizer = tokenizer_of(generator)  # the same rendering as the prover's prompts and training
    texts = [p.render(tokenizer, sampling.prompt_format) for p in prompts]
    answers = generator.generate(texts, sampling.k, sampling.temperature, sampling.top_p, sampling.max_tokens,
                                 stop, sampling.seed)
    model_name = generator.identity()
    asked: list[list[Proposal]] = []
    refused: list[FilterResult] = []
    rows: list[AttemptRow] = []
    for s, prompt, completions in zip(seeds, prompts, answers, strict=True):
        mine: list[Proposal] = []
        for i, c in enumerate(completions):
            # A thinking model's drafts inside <think> are not its conjecture; cut off while thinking,
            # the answer is empty and the filter refuses it.
            found = from_model(s.statement, split_thinking(prompt.answer(c.text)).answer)
            ok = isinstance(found, Candidate)
            if isinstance(found, Candidate):
                mine.append(Proposal(s, found.statement, "model", None, found.parsed))
            else:
                refused.append(found)
            assert s.problem.id is not None
            rows.append(AttemptRow(round=round, role="conjecturer", problem_id=s.problem.id, engine="model",
                                   sample=i, kind="conjecturer", text=c.text, verified=ok, model=model_name,
                                   reason=None if ok else getattr(found, "reason", None), tokens=c.tokens))
        asked.append(mine)
    store.add_attempts(rows)
    return asked, refused


def conjecture_stage(
    store: Store, pool: CheckPool, seeds: Sequence[Seed], proposals: Sequence[Proposal], round: int,
) -> dict[str, int]:
    """Filter ``proposals`` against everything the store already holds, then record them with the
    filter's verdicts. Returns counts (generated, kept and per rejection reason).

    The statement stored is the one the filter rebuilt (the seed's header and the one theorem), which
    is the file a kept conjecture is proved against. A proposal refused for declaring something gets
    no problem row at all: the store must never hold a statement that declares an axiom.

    Running it again (a run killed after the rows were written, before the stage was marked done)
    gives the same verdicts: the problems this round's conjectures made are not "already seen", and
    a verdict is recorded only on this round's own conjecture rows."""
    before = [p.statement for p in store.problems() if p.id not in _made_in(store, round)]
    first: dict[str, Proposal] = {}
    for p in proposals:
        first.setdefault(p.statement, p)  # the first proposal of each text
    proposals = list(first.values())
    seen = {normalise(s) for s in before}
    results = filter_conjectures([Candidate(p.statement, p.seed.problem.statement, p.kind or p.generator,
                                            p.parsed, p.seed.statement) for p in proposals], pool, seen)
    recorded = [(p, r) for p, r in zip(proposals, results, strict=True) if r.reason != "declares"]
    ids = store.add_conjectures([ConjectureRow(
        seed_id=_id(p.seed.problem), statement=r.statement, generator=p.generator, round=round,
        lemma=p.seed.lemma, kind=p.kind,
    ) for p, r in recorded])
    mine = {c.id for c in store.conjectures(round=round)}  # a row of an earlier round keeps its verdict
    store.set_conjecture_filter([(cid, r.kept, None if r.kept else (r.reason or "rejected"))
                                 for cid, (_, r) in zip(ids, recorded, strict=True) if cid in mine])
    return {"seeds": len(seeds), "generated": len(proposals), **summary(results)}


def _made_in(store: Store, round: int) -> set[int]:
    """The problems that exist only as conjectures of ``round``."""
    rows = store.conjectures()
    earlier = {c.problem_id for c in rows if c.round != round}
    made = {c.problem_id for c in rows if c.round == round} - earlier
    return {p.id for p in store.problems(source="conjecture") if p.id is not None and p.id in made}


def _id(problem: ProblemRow) -> int:
    assert problem.id is not None
    return problem.id
