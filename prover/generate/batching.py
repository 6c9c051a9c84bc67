"""Batched generation: requests with their own ``n`` and seed under one set of sampling parameters
(the split vLLM makes between a prompt and its ``SamplingParams``), and ``BatchingGenerator``, which
merges what concurrent callers ask for into one backend call.

``Generator.generate`` takes one seed for all its prompts, so two callers with different seeds (two
eval samples of one problem, two problems of one run) could never share a call. A ``Request`` carries
its own seed; a backend that has ``generate_requests`` (transformers, vLLM, the OpenAI client, the
completion cache) runs any mix of them in one batch, each request as reproducible as if it were alone.
``generate_requests(generator, …)`` falls back to one ``generate`` call per (n, seed) for any other
``Generator`` (test fakes, the Ray replicas), so every caller can use it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prover.generate.base import Completion, Generator

if TYPE_CHECKING:  # typing only: prompts.py pulls in the proof-assistant syntax tables
    from prover.generate.prompts import Prompt


@dataclass(frozen=True)
class SamplingParams:
    """What every request of one batch shares."""

    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Request:
    """``n`` completions of ``prompt``; a seeded request is reproducible whatever shares its batch.

    ``chat`` is the structured prompt ``prompt`` was rendered from, for a backend that sends messages
    rather than text (``openai_compat`` with ``api = "chat"``: the server applies the model's own chat
    template). Every other backend reads ``prompt`` only, so a request without it is served as before."""

    prompt: str
    n: int = 1
    seed: int | None = None
    chat: Prompt | None = None


def as_requests(prompts: Sequence[str], n: int, temperature: float, top_p: float, max_tokens: int,
                stop: Sequence[str], seed: int | None) -> tuple[list[Request], SamplingParams]:
    """A ``Generator.generate`` call as requests: how a batching backend's ``generate`` delegates."""
    return [Request(p, n, seed) for p in prompts], SamplingParams(temperature, top_p, max_tokens, tuple(stop))


def generate_requests(
    generator: Generator, requests: Sequence[Request], params: SamplingParams
) -> list[list[Completion]]:
    """Each request's completions, in request order, in as few backend calls as ``generator``
    allows (one when it has ``generate_requests``)."""
    native = getattr(generator, "generate_requests", None)
    if native is not None:
        out: list[list[Completion]] = native(requests, params)
        return out
    groups: dict[tuple[int, int | None], list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault((r.n, r.seed), []).append(i)
    results: list[list[Completion]] = [[] for _ in requests]
    for (n, seed), indices in groups.items():
        answers = generator.generate([requests[i].prompt for i in indices], n, params.temperature,
                                     params.top_p, params.max_tokens, list(params.stop), seed)
        for i, completions in zip(indices, answers, strict=True):
            results[i] = completions
    return results


def takes_messages(generator: Generator) -> bool:
    """Whether ``generator`` sends ``Request.chat`` as messages, so a caller need not render the
    prompt with a tokenizer it does not have. It looks through wrappers that pass requests on (cache,
    batcher); one that takes only text (``base.SerialisedGenerator``) loses the structured prompt, so
    behind it the answer is False."""
    inner: Any = generator
    while inner is not None and hasattr(inner, "generate_requests"):
        if getattr(inner, "api", None) == "chat":
            return True
        inner = getattr(inner, "inner", None)
    return False


@dataclass
class GenerationStats:
    """The backend calls a ``BatchingGenerator`` made: how many, and how many requests and sequences
    (requests × n) each carried — what the eval report shows of batching."""

    calls: int = 0
    requests: int = 0
    sequences: int = 0
    merged: int = 0  # calls that carried requests of more than one caller
    sizes: Counter[int] = field(default_factory=Counter)  # sequences per call -> calls of that size

    def add(self, requests: Sequence[Request], callers: int) -> None:
        sequences = sum(r.n for r in requests)
        self.calls += 1
        self.requests += len(requests)
        self.sequences += sequences
        self.merged += callers > 1
        self.sizes[sequences] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls, "requests": self.requests, "sequences": self.sequences,
            "merged_calls": self.merged,
            "mean_sequences_per_call": round(self.sequences / self.calls, 3) if self.calls else 0.0,
            "sequences_per_call": {str(k): v for k, v in sorted(self.sizes.items())},
        }


@dataclass
class _Ticket:
    requests: Sequence[Request]
    params: SamplingParams
    result: list[list[Completion]] | None = None
    error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None


class BatchingGenerator:
    """A ``Generator`` that lets one call at a time into ``inner`` (as ``SerialisedGenerator`` did) and
    sends everything callers asked for while that call ran, with equal sampling parameters, as the
    next call: eval workers and lock-stepped samples share batches, and a caller's checks overlap the
    others' generation. No caller waits for a batch to fill: a call goes out as soon as the backend is
    free, so a lone caller is served at once."""

    def __init__(self, inner: Generator) -> None:
        self.inner = inner  # (``base.tokenizer_of`` finds the backend's tokenizer through it)
        self.stats = GenerationStats()
        self._cond = threading.Condition()
        self._waiting: list[_Ticket] = []
        self._busy = False

    def identity(self) -> str:
        return self.inner.identity()

    def close(self) -> None:
        self.inner.close()

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_tokens: int,
                 stop: Sequence[str], seed: int | None) -> list[list[Completion]]:
        return self.generate_requests(*as_requests(prompts, n, temperature, top_p, max_tokens, stop, seed))

    def generate_requests(
        self, requests: Sequence[Request], params: SamplingParams
    ) -> list[list[Completion]]:
        ticket = _Ticket(list(requests), params)
        with self._cond:
            self._waiting.append(ticket)
        while True:
            with self._cond:
                while not ticket.done and self._busy:
                    self._cond.wait()
                if ticket.done:
                    break
                # The backend is free: this caller runs the oldest waiting parameters' batch, which
                # need not include its own ticket (then it waits for the next turn).
                self._busy = True
                head = self._waiting[0].params
                batch = [t for t in self._waiting if t.params == head]
                self._waiting = [t for t in self._waiting if t.params != head]
            self._run(batch, head)
        if ticket.error is not None:
            raise ticket.error
        assert ticket.result is not None
        return ticket.result

    def _run(self, batch: list[_Ticket], params: SamplingParams) -> None:
        merged = [r for t in batch for r in t.requests]
        try:
            answers = generate_requests(self.inner, merged, params)
            at = 0
            for t in batch:
                t.result = answers[at : at + len(t.requests)]
                at += len(t.requests)
        except BaseException as exc:  # every caller of the failed call sees its error
            for t in batch:
                t.error = exc
        finally:
            with self._cond:
                self.stats.add(merged, len(batch))
                self._busy = False
                self._cond.notify_all()
