"""A client for any OpenAI-compatible completions server (``vllm serve``, ``prover``'s own test
server, hosted APIs): ``POST {base_url}/v1/completions`` with ``n`` samples per prompt.

One request per prompt, at most ``concurrency`` in flight (a thread pool over one shared
``httpx.Client``), so a slow or failing prompt holds up only itself. Rate limits (429), server errors
(5xx) and connection failures are retried with exponential backoff (honouring ``Retry-After``); any
other refusal is the caller's mistake and raises at once with the server's message.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from prover.generate.base import Completion, GenerationError, check_sampling
from prover.generate.batching import Request, SamplingParams, as_requests

_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
_MAX_BACKOFF_S = 30.0
# A server answers a non-streamed completion only when it is done: the read timeout must fit the
# longest generation asked for, at the slowest rate a loaded server still decodes one sequence, or a
# 32k-token answer times out and is restarted from zero on every retry.
SLOWEST_TOKENS_PER_S = 10.0


def completions_url(base_url: str) -> str:
    """``…/v1/completions`` whether ``base_url`` names the server or its ``/v1`` root."""
    base = base_url.rstrip("/")
    return (base if base.endswith("/v1") else base + "/v1") + "/completions"


class OpenAIGenerator:
    """``Generator`` over an OpenAI-compatible server. ``model`` is the name the server serves;
    the API key, when one is needed, comes from the environment variable ``api_key_env``."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        timeout_s: float = 300.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        logprobs: bool = True,
    ) -> None:
        self.url = completions_url(base_url)
        self.model = model
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.logprobs = logprobs
        self.concurrency = max(1, concurrency)
        headers = {}
        key = os.environ.get(api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        self.timeout_s = timeout_s
        self._client = httpx.Client(headers=headers, timeout=timeout_s, limits=limits)
        self.requests = 0  # HTTP requests sent, retries included
        self.retries = 0

    def identity(self) -> str:
        # The server's weights are not visible from here: the URL and model name stand for them.
        return f"openai:{self.url}:{self.model}"

    def close(self) -> None:
        self._client.close()

    def generate(
        self,
        prompts: Sequence[str],
        n: int,
        temperature: float,
        top_p: float,
        max_tokens: int,
        stop: Sequence[str],
        seed: int | None,
    ) -> list[list[Completion]]:
        return self.generate_requests(*as_requests(prompts, n, temperature, top_p, max_tokens, stop, seed))

    def generate_requests(
        self, requests: Sequence[Request], params: SamplingParams
    ) -> list[list[Completion]]:
        """One HTTP request per ``Request`` (its own ``n`` and seed), ``concurrency`` in flight."""
        for r in requests:
            check_sampling(r.n, params.temperature, params.top_p, params.max_tokens)
        body: dict[str, Any] = {
            "model": self.model,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if self.logprobs:
            body["logprobs"] = 1  # the sampled token's log-probability (plus one alternative)

        timeout = httpx.Timeout(self.timeout_s, read=read_timeout(self.timeout_s, params.max_tokens))

        def one(r: Request) -> list[Completion]:
            seeded = {} if r.seed is None else {"seed": r.seed}
            return self._one({**body, **seeded, "n": r.n, "prompt": r.prompt}, r.n, timeout)

        if len(requests) <= 1:
            return [one(r) for r in requests]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests))) as pool:
            return list(pool.map(one, requests))

    def _one(self, body: dict[str, Any], n: int, timeout: httpx.Timeout) -> list[Completion]:
        reply = self._post(body, timeout)
        choices = reply.get("choices")
        if not isinstance(choices, list) or len(choices) != n:
            raise GenerationError(f"{self.url} answered {len(choices or [])} choices, expected {n}")
        usage = reply.get("usage") or {}
        completion_tokens = usage.get("completion_tokens")
        choices = sorted(choices, key=lambda c: int(c.get("index", 0)))
        return [_completion(c, completion_tokens, n) for c in choices]

    def _post(self, body: dict[str, Any], timeout: httpx.Timeout) -> dict[str, Any]:
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            self.requests += 1
            try:
                response = self._client.post(self.url, json=body, timeout=timeout)
            except httpx.TransportError as exc:  # connection refused/reset, timeouts
                if last:
                    raise GenerationError(f"{self.url}: {type(exc).__name__}: {exc}") from exc
                self._wait(attempt, None)
                continue
            if response.status_code == 200:
                try:
                    data: dict[str, Any] = response.json()
                except ValueError as exc:
                    raise GenerationError(f"{self.url} answered something that is not JSON") from exc
                return data
            if response.status_code in _RETRY_STATUS and not last:
                self._wait(attempt, response.headers.get("retry-after"))
                continue
            raise GenerationError(f"{self.url} answered {response.status_code}: {response.text[:300]}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        self.retries += 1
        delay = self.backoff_s * 2**attempt * (1 + random.random() / 2)  # jitter spreads retries
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date: the backoff stands
                delay = max(delay, float(retry_after))
        time.sleep(min(delay, _MAX_BACKOFF_S))


def read_timeout(timeout_s: float, max_tokens: int) -> float:
    """``timeout_s``, or longer when ``max_tokens`` at ``SLOWEST_TOKENS_PER_S`` needs longer."""
    return max(timeout_s, max_tokens / SLOWEST_TOKENS_PER_S)


def _completion(choice: dict[str, Any], completion_tokens: Any, n: int) -> Completion:
    """One choice. Token counts come from the per-token log-probabilities when the server sent
    them; otherwise the usage total is shared evenly (exact for ``n`` = 1)."""
    logprobs = choice.get("logprobs") or {}
    per_token = logprobs.get("token_logprobs")
    values = None
    if isinstance(per_token, list):
        values = tuple(float(x) for x in per_token if x is not None)
    if values is not None:
        tokens = len(values)
    elif isinstance(completion_tokens, int):
        tokens = completion_tokens // n
    else:
        tokens = 0
    finish = "length" if choice.get("finish_reason") == "length" else "stop"
    return Completion(
        text=str(choice.get("text", "")),
        tokens=tokens,
        logprob=None if values is None else float(sum(values)),
        finish_reason=finish,
        token_logprobs=values,
    )
