"""The model engine: whole proofs sampled from a model, verified in the pool, and revised from the
checker's errors — the conjecture correction of the Lyra paper — with tool correction of failing
automation steps first in the hybrid engine.

Round 0 samples ``k`` whole proofs from the prover prompt. The extractor turns each answer into a
proof file (a candidate it refuses is a failed attempt with that refusal's reason); every other
candidate goes to the verifier pool, all of a round in one batch. The first verified proof ends the
run. Otherwise the hybrid engine repairs the failures at their failing step (``runner.repair``), and
each following round asks the corrector prompt — the failing attempt with the checker's errors
marked inline, plus the error list — for revisions, up to ``rounds`` rounds; every ``restart_every``
rounds it samples afresh from the prover prompt instead (Lyra restarts from scratch now and then, so
one bad first attempt does not steer every revision). The budget is checked between phases; a
generation or a check under way is not interrupted.

Independent runs of one problem (an eval's samples, each with its own seed) step together
(``prove_many``): a round's prompts of all of them are one generation batch of requests with their
own seeds (``generate.batching``), and all their candidates reach the pool before any verdict is
awaited. A run's attempts do not depend on which runs it shares a round with.

Every attempt is kept (prompt, completion, candidate, errors, the attempt it revises, verdict,
tokens, time): the (prompt, completion, verdict) triples are training data.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prover.generate.base import (
    Completion,
    GenerationConfig,
    GenerationError,
    Generator,
    check_sampling,
    tokenizer_of,
)
from prover.generate.batching import Request, SamplingParams, generate_requests, takes_messages
from prover.generate.extract import extract_proof
from prover.generate.prompts import Prompt, Templates, corrector_prompt, load_templates, prover_prompt
from prover.generate.thinking import TRUNCATED_THINKING, split_thinking
from prover.itp.base import CheckRequest, Message, Reason, Verdict
from prover.search.runner import Problem, repair
from prover.verify.pool import CheckPool

KINDS = ("prover", "corrector", "tool_correction")
_Job = tuple[Prompt, int | None]  # a prompt and the attempt it revises
_Sent = tuple[str, "ModelAttempt", Future[Verdict]]  # a candidate, its first attempt, its verdict to come


@dataclass
class ModelEngineConfig:
    k: int = 8  # samples per round
    rounds: int = 2  # revision rounds after round 0
    restart_every: int = 3  # every this many rounds sample afresh from the prover prompt (0: never)
    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens: int = 512
    seed: int | None = 0  # round r samples with seed + r; None: unseeded
    tool_correction: bool = False  # the hybrid engine
    max_repairs: int = 2  # tool corrections per round (each a portfolio search)
    repair_budget_s: float = 30.0  # per tool correction
    budget_s: float = 300.0
    templates: str = "default"
    prompt_format: str = "auto"  # "auto", "plain", "chat" (see prompts.Prompt.render)
    sketch: bool = False  # the prover prompt asks for a natural-language sketch first

    @classmethod
    def from_generation(cls, gen: GenerationConfig, **fields: Any) -> ModelEngineConfig:
        """The engine's settings with the sampling defaults of a ``[generate]`` section (``n`` as
        ``k``); ``fields`` override any of them."""
        base = {"k": gen.n, "temperature": gen.temperature, "top_p": gen.top_p, "max_tokens": gen.max_tokens,
                "seed": gen.seed, "templates": gen.templates, "prompt_format": gen.prompt_format}
        return cls(**(base | fields))

    def validate(self) -> None:
        """Raises ``ValueError`` with a one-line message."""
        check_sampling(self.k, self.temperature, self.top_p, self.max_tokens)
        if self.rounds < 0 or self.restart_every < 0 or self.max_repairs < 0:
            raise ValueError("rounds, restart_every and max_repairs must not be negative")
        if self.budget_s <= 0 or self.repair_budget_s <= 0:
            raise ValueError("the budgets must be positive")


@dataclass
class ModelAttempt:
    """One candidate proof: sampled (``prover``), revised (``corrector``) or tool-corrected."""

    index: int
    round: int
    kind: str  # one of KINDS
    prompt: int | None  # index into ModelResult.prompts; None for tool correction
    revision_of: int | None  # the attempt this one revises or repairs
    completion: str  # what the model wrote (empty for tool correction)
    candidate: str  # the proof file the extractor assembled (or the repaired file)
    checked: str = "pool"  # pool | static (refused by the extractor) | duplicate (verdict reused)
    verified: bool = False
    reason: str | None = None
    detail: str | None = None
    messages: list[Message] = field(default_factory=list)  # the checker's (or extractor's) messages
    tokens: int = 0
    logprob: float | None = None
    gen_time_s: float = 0.0  # this attempt's share of its batch's generation time
    check_time_s: float = 0.0
    notes: list[str] = field(default_factory=list)  # what the extractor repaired; tool repairs

    def judge(self, verdict: Verdict, checked: str = "pool") -> None:
        self.checked, self.verified = checked, verdict.verified
        self.reason = None if verdict.reason is None else str(verdict.reason)
        self.detail, self.messages = verdict.detail, list(verdict.messages)
        self.check_time_s = 0.0 if checked == "duplicate" else verdict.time_s

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["messages"]
        data["errors"] = [m.to_json() for m in self.messages if m.severity == "error"]
        data["gen_time_s"], data["check_time_s"] = round(self.gen_time_s, 3), round(self.check_time_s, 3)
        return data


@dataclass
class ModelResult:
    name: str
    proved: bool = False  # true only when the verifier pool verified ``proof``
    proof: str | None = None  # the complete checked proof file
    technique: str | None = None  # sampled | revision | tool correction
    attempts: list[ModelAttempt] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)  # rendered prompts, referenced by attempts
    rounds: int = 0  # rounds run (round 0 included)
    revisions: int = 0  # revised proofs sampled from corrector prompts
    corrections: int = 0  # tool corrections run (hybrid)
    tokens: int = 0
    time_s: float = 0.0
    generate_time_s: float = 0.0
    verify_time_s: float = 0.0
    error: str | None = None  # generation failed

    def to_json(self) -> dict[str, Any]:
        reasons = Counter(a.reason for a in self.attempts if not a.verified)
        return {
            "name": self.name, "proved": self.proved, "proof": self.proof, "technique": self.technique,
            "rounds": self.rounds, "revisions": self.revisions, "corrections": self.corrections,
            "tokens": self.tokens, "time_s": round(self.time_s, 3),
            "generate_time_s": round(self.generate_time_s, 3), "verify_time_s": round(self.verify_time_s, 3),
            "error": self.error, "reasons": {str(k): v for k, v in reasons.most_common()},
            "attempts": [a.to_json() for a in self.attempts], "prompts": self.prompts,
        }


class _Run:
    def __init__(self, problem: Problem, generator: Generator, pool: CheckPool, config: ModelEngineConfig,
                 workdir: Path, language: str, on_attempt: Callable[[ModelAttempt], None] | None) -> None:
        self.problem, self.generator, self.pool, self.config = problem, generator, pool, config
        self.workdir, self.language, self.on_attempt = workdir, language, on_attempt
        self.templates: Templates = load_templates(config.templates)
        self.tokenizer = tokenizer_of(generator)
        # A chat-completions server applies the model's template itself: it gets the prompt's turns
        # (Request.chat) and the plain text only names the prompt in records and the cache.
        self.messages = takes_messages(generator)
        self.result = ModelResult(problem.name)
        self.started = time.monotonic()
        self.ended: float | None = None
        self.verdicts: dict[str, Verdict] = {}  # candidate text -> the pool's verdict
        self.prompt_ids: dict[str, int] = {}
        self.rnd = 0  # the next round
        self.failures: list[ModelAttempt] = []  # the last round's, which the next one revises
        self.over = False
        # Settings no prompt can be rendered with fail here, before anything is sampled.
        self.render(prover_prompt(self.templates, language, problem.statement))

    def render(self, prompt: Prompt) -> str:
        return prompt.plain() if self.messages else prompt.render(self.tokenizer, self.config.prompt_format)

    def left(self) -> float:
        return self.config.budget_s - (time.monotonic() - self.started)

    # -- one round at a time (``_drive`` steps several runs together) --------------------------------

    def plan(self) -> _Plan | None:
        """The next round's prompts, or None when this run is over (proved, out of rounds or budget,
        or generation failed)."""
        if self.over or self.rnd > self.config.rounds or self.left() <= 0:
            self.finish()
            return None
        rnd = self.rnd
        self.result.rounds = rnd + 1
        if rnd == 0 or not self.failures or self._restart(rnd):
            statement, sketch = self.problem.statement, self.config.sketch
            jobs: list[_Job] = [
                (prover_prompt(self.templates, self.language, statement, sketch=sketch), None)]
            n, kind = self.config.k, "prover"
        else:
            jobs, n, kind = self._revision_jobs(self.failures)
        texts = [self.render(prompt) for prompt, _ in jobs]
        stop = tuple(sorted({s for prompt, _ in jobs for s in prompt.stop}))
        seed = None if self.config.seed is None else self.config.seed + rnd
        return _Plan(self, jobs, texts, n, kind, seed, stop)

    def settle(self, batch: Sequence[ModelAttempt]) -> None:
        """After the round's checks: repair (hybrid), and either stop or keep the failures."""
        if self.result.proved or self._tool_correct(batch):
            self.over = True
        self.failures = [a for a in batch if a.candidate.strip()]
        self.rnd += 1

    def fail(self, error: str) -> None:
        self.result.error, self.over = error, True
        self.finish()

    def finish(self) -> None:
        if self.ended is None:
            self.ended = time.monotonic()
            self.result.time_s = self.ended - self.started

    def _restart(self, rnd: int) -> bool:
        every = self.config.restart_every
        return every > 0 and rnd % every == 0

    # -- sampling ------------------------------------------------------------------------------------

    def _revision_jobs(self, failures: Sequence[ModelAttempt]) -> tuple[list[_Job], int, str]:
        """Revisions of the round's distinct failures, those the checker located first; about ``k``
        samples in all."""
        distinct: dict[str, ModelAttempt] = {}
        for a in sorted(failures, key=lambda a: a.reason != Reason.ERROR):
            distinct.setdefault(a.candidate, a)
        parents = list(distinct.values())[: self.config.k]
        jobs: list[_Job] = [
            (corrector_prompt(self.templates, self.language, self.problem.statement, a.candidate, a.messages),
             a.index) for a in parents]
        return jobs, max(1, self.config.k // len(parents)), "corrector"

    def take(self, plan: _Plan, samples: Sequence[Sequence[Completion]], per_sequence_s: float,
             ) -> list[ModelAttempt]:
        """The round's attempts from its completions (extracted; a refused one judged statically)."""
        rnd, batch = self.rnd, []
        self.result.generate_time_s += per_sequence_s * len(plan.texts) * plan.n
        for (prompt, parent), text, completions in zip(plan.jobs, plan.texts, samples, strict=True):
            prompt_id = self.prompt_ids.setdefault(text, len(self.prompt_ids))
            if prompt_id == len(self.result.prompts):
                self.result.prompts.append(text)
            for c in completions:
                # A thinking model's proof is the code after its thoughts; cut off while thinking,
                # there is nothing to verify (a budget problem, not a failed proof).
                thought = split_thinking(prompt.answer(c.text))
                extraction = extract_proof(self.language, self.problem.statement, thought.answer)
                attempt = ModelAttempt(len(self.result.attempts), rnd, plan.kind, prompt_id, parent, c.text,
                                       extraction.candidate, tokens=c.tokens, logprob=c.logprob,
                                       gen_time_s=per_sequence_s, notes=extraction.notes)
                refusal = extraction.refusal
                if thought.truncated:
                    attempt.judge(Verdict(False, Reason.INCOMPLETE, detail=TRUNCATED_THINKING), "static")
                elif refusal is not None:
                    attempt.judge(Verdict(False, refusal.reason, refusal.messages, detail=refusal.detail),
                                  "static")
                self.result.tokens += c.tokens
                self.result.attempts.append(attempt)
                batch.append(attempt)
        if plan.kind == "corrector":
            self.result.revisions += len(batch)
        return batch

    # -- checking ------------------------------------------------------------------------------------

    def submit(self, batch: Sequence[ModelAttempt]) -> list[_Sent]:
        """Every extracted candidate of ``batch`` not checked before, sent to the pool (the driver
        submits every run's batch before it awaits any verdict)."""
        fresh: dict[str, ModelAttempt] = {}
        for a in batch:
            if a.checked == "pool" and a.candidate not in self.verdicts:
                fresh.setdefault(a.candidate, a)
        return [(text, a, self.pool.submit(CheckRequest(text, self.problem.statement)))
                for text, a in fresh.items()]

    def collect(self, batch: Sequence[ModelAttempt], sent: Sequence[_Sent]) -> None:
        """The verdicts of ``sent``; a candidate checked before reuses its verdict."""
        first = {text: a for text, a, _ in sent}
        for text, a, future in sent:
            self.verdicts[text] = future.result()
            a.judge(self.verdicts[text])
            self.result.verify_time_s += a.check_time_s
        for a in batch:
            if a.checked == "pool" and first.get(a.candidate) is not a:
                a.judge(self.verdicts[a.candidate], "duplicate")
            if self.on_attempt is not None:
                self.on_attempt(a)
        winner = next((a for a in batch if a.verified), None)
        if winner is not None:
            self._won(winner, "sampled" if winner.kind == "prover" else "revision")

    def _tool_correct(self, batch: Sequence[ModelAttempt]) -> bool:
        """Hybrid: repair the failures the checker located (Rocq only), a few per round."""
        if not self.config.tool_correction or self.language != "rocq":
            return False
        todo = [a for a in batch if a.checked == "pool" and a.reason == Reason.ERROR]
        for a in todo[: self.config.max_repairs]:
            left = self.left()
            if left <= 1:
                break
            budget = min(left, self.config.repair_budget_s)
            workdir = self.workdir / f"repair-{a.index}"
            fixed = repair(self.problem, a.candidate, self.pool, budget, workdir, self.verdicts[a.candidate])
            self.result.corrections += 1
            record = ModelAttempt(len(self.result.attempts), a.round, "tool_correction", None, a.index, "",
                                  fixed.proof)
            record.judge(fixed.verdict)
            record.check_time_s = fixed.time_s
            record.notes = [f"line {r.line}: {r.failing} -> {' '.join(r.replacement) or 'nothing found'}"
                            for r in fixed.repairs]
            self.result.attempts.append(record)
            if self.on_attempt is not None:
                self.on_attempt(record)
            if fixed.repaired:
                self._won(record, "tool correction")
                return True
        return False

    def _won(self, attempt: ModelAttempt, technique: str) -> None:
        self.result.proved, self.result.proof, self.result.technique = True, attempt.candidate, technique


@dataclass
class _Plan:
    """One run's round: its prompts (with the attempt each revises), ``n`` samples of each."""

    run: _Run
    jobs: list[_Job]
    texts: list[str]  # the rendered prompts
    n: int
    kind: str
    seed: int | None
    stop: tuple[str, ...]


def _drive(runs: Sequence[_Run], generator: Generator) -> None:
    """Step ``runs`` together, a round at a time: every open run's prompts go to the generator as one
    batch (one per distinct sampling parameters, usually one), then every run's candidates go to the
    pool before any verdict is awaited, then each run repairs, stops or revises."""
    while True:
        plans = [plan for run in runs if (plan := run.plan()) is not None]
        if not plans:
            return
        groups: dict[SamplingParams, list[_Plan]] = {}
        for plan in plans:
            c = plan.run.config
            params = SamplingParams(c.temperature, c.top_p, c.max_tokens, plan.stop)
            groups.setdefault(params, []).append(plan)
        taken: list[tuple[_Run, list[ModelAttempt]]] = []
        for params, group in groups.items():
            requests = [Request(text, plan.n, plan.seed, chat=prompt) for plan in group
                        for (prompt, _), text in zip(plan.jobs, plan.texts, strict=True)]
            began = time.monotonic()
            try:
                answers = generate_requests(generator, requests, params)
            except GenerationError as exc:
                for plan in group:
                    plan.run.fail(str(exc))
                continue
            per_sequence = (time.monotonic() - began) / max(1, sum(r.n for r in requests))
            at = 0
            for plan in group:
                samples = answers[at : at + len(plan.texts)]
                at += len(plan.texts)
                taken.append((plan.run, plan.run.take(plan, samples, per_sequence)))
        sent = [(run, batch, run.submit(batch)) for run, batch in taken]
        for run, batch, futures in sent:
            run.collect(batch, futures)
            run.settle(batch)


def prove_many(
    problem: Problem,
    generator: Generator,
    pool: CheckPool,
    configs: Sequence[ModelEngineConfig],
    workdir: Path,
    language: str = "rocq",
    on_attempt: Callable[[ModelAttempt], None] | None = None,
) -> list[ModelResult]:
    """Independent runs of ``problem``, one per config (eval: one per sample, each with its own seed),
    stepped together so that each round samples all of them in one batch (``_drive``). A run's
    result is what it would be alone, save its times: ``time_s`` and the budget count the shared
    rounds' wall time. Raises ``ValueError`` for bad settings."""
    for config in configs:
        config.validate()
    dirs = [workdir] if len(configs) == 1 else [workdir / f"run-{i}" for i in range(len(configs))]
    runs = [_Run(problem, generator, pool, config, d, language, on_attempt)
            for config, d in zip(configs, dirs, strict=True)]
    _drive(runs, generator)
    return [run.result for run in runs]


def prove_with_model(
    problem: Problem,
    generator: Generator,
    pool: CheckPool,
    config: ModelEngineConfig,
    workdir: Path,
    language: str = "rocq",
    on_attempt: Callable[[ModelAttempt], None] | None = None,
) -> ModelResult:
    """Sample, verify, repair and revise proofs of ``problem`` until one verifies or the budget or the
    rounds run out (see the module's docstring). Raises ``ValueError`` for bad settings."""
    return prove_many(problem, generator, pool, [config], workdir, language, on_attempt)[0]
