"""A client for any OpenAI-compatible server (``vllm serve``, SGLang, ``prover``'s own test server,
hosted APIs) with ``n`` samples per prompt, in one of two modes (``api``):

- ``"completions"``: ``POST {base_url}/v1/completions`` with the prompt as rendered text;
- ``"chat"``: ``POST {base_url}/v1/chat/completions`` with the structured prompt (``Request.chat``)
  as messages — the system turn when there is one, the user turn, and the response prefill as a final
  assistant message that the model continues — so the server applies the model's own chat template.
  Chat models (the chat presets) are served that way, and hosted chat APIs offer nothing else. The
  prefill and the thinking switch use vLLM's documented chat extensions (``continue_final_message``
  with ``add_generation_prompt: false``; ``chat_template_kwargs``), sent only when the prompt has them.

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
from prover.generate.thinking import CLOSE, OPEN

APIS = ("completions", "chat")
_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
_NO_ROUTE = frozenset({404, 405})
_MAX_BACKOFF_S = 30.0
# A server answers a non-streamed completion only when it is done: the read timeout must fit the
# longest generation asked for, at the slowest rate a loaded server still decodes one sequence, or a
# 32k-token answer times out and is restarted from zero on every retry.
SLOWEST_TOKENS_PER_S = 10.0


def completions_url(base_url: str, api: str = "completions") -> str:
    """``…/v1/completions`` (or ``…/v1/chat/completions`` for ``api`` "chat") whether ``base_url``
    names the server or its ``/v1`` root."""
    base = base_url.rstrip("/")
    root = base if base.endswith("/v1") else base + "/v1"
    return root + ("/chat/completions" if api == "chat" else "/completions")


def chat_body(request: Request) -> dict[str, Any]:
    """The chat-mode fields of one request: its messages, plus the vLLM extensions its prompt needs.
    A request without a structured prompt (a caller that only has text) is one user turn."""
    prompt = request.chat
    if prompt is None:
        return {"messages": [{"role": "user", "content": request.prompt}]}
    messages = [{"role": "system", "content": prompt.system}] if prompt.system.strip() else []
    messages.append({"role": "user", "content": prompt.user})
    body: dict[str, Any] = {}
    if prompt.response:
        # The model continues the prefill inside its own turn, as it continues the rendered text in
        # completions mode; the two flags are exclusive in vLLM (a generation prompt would open a
        # second assistant turn after the prefill).
        messages.append({"role": "assistant", "content": prompt.response})
        body.update(continue_final_message=True, add_generation_prompt=False)
    if prompt.thinking is not None:
        body["chat_template_kwargs"] = {"enable_thinking": prompt.thinking}
    body["messages"] = messages
    return body


class OpenAIGenerator:
    """``Generator`` over an OpenAI-compatible server. ``model`` is the name the server serves;
    the API key, when one is needed, comes from the environment variable ``api_key_env``; ``api`` is
    "completions" or "chat" (module docstring)."""

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
        api: str = "completions",
    ) -> None:
        if api not in APIS:
            raise ValueError(f"api must be {' or '.join(APIS)}, not {api!r}")
        self.api = api
        self.url = completions_url(base_url, api)
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
            # The sampled tokens' log-probabilities: completions takes a count of alternatives (1),
            # chat a switch.
            body["logprobs"] = True if self.api == "chat" else 1

        timeout = httpx.Timeout(self.timeout_s, read=read_timeout(self.timeout_s, params.max_tokens))

        def one(r: Request) -> list[Completion]:
            seeded = {} if r.seed is None else {"seed": r.seed}
            fields = chat_body(r) if self.api == "chat" else {"prompt": r.prompt}
            return self._one({**body, **seeded, "n": r.n, **fields}, r.n, timeout)

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
        read = _chat_completion if self.api == "chat" else _completion
        return [read(c, completion_tokens, n) for c in choices]

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
            said = " ".join(response.text[:300].split())  # one line, whatever the server's layout
            if response.status_code in _NO_ROUTE and self.api == "chat":
                # vLLM also answers 404 for a model name it does not serve: both causes are named.
                raise GenerationError(
                    f"{self.url} answered {response.status_code}: this server has no chat-completions "
                    f"route (or does not serve the model {self.model!r}); set api = \"completions\" in "
                    f"[generate] for a completions-only server. The server said: {said}")
            raise GenerationError(f"{self.url} answered {response.status_code}: {said}")
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
    """One completions-mode choice: its ``text`` and per-token ``logprobs.token_logprobs``."""
    per_token = (choice.get("logprobs") or {}).get("token_logprobs")
    values = tuple(float(x) for x in per_token if x is not None) if isinstance(per_token, list) else None
    return _made(str(choice.get("text", "")), values, choice.get("finish_reason"), completion_tokens, n)


def _chat_completion(choice: dict[str, Any], completion_tokens: Any, n: int) -> Completion:
    """One chat-mode choice: ``message.content`` and per-token ``logprobs.content[].logprob``.

    The text is what the model wrote after the prefill, as in completions mode: callers read the
    whole answer as ``Prompt.answer(text)``, which puts the prefill in front. A server run with a
    reasoning parser hands the thinking apart (``reasoning_content``, or ``reasoning`` in newer vLLM);
    it is put back in ``<think>`` tags so the answer reads as the model wrote it, and one cut off while
    thinking stays open, so ``thinking.split_thinking`` calls it truncated."""
    message = choice.get("message") or {}
    content = str(message.get("content") or "")
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        closed = content or choice.get("finish_reason") != "length"
        content = f"{OPEN}{reasoning}{CLOSE}{content}" if closed else f"{OPEN}{reasoning}"
    per_token = (choice.get("logprobs") or {}).get("content")
    values = None
    if isinstance(per_token, list):
        values = tuple(float(t["logprob"]) for t in per_token
                       if isinstance(t, dict) and t.get("logprob") is not None)
    return _made(content, values, choice.get("finish_reason"), completion_tokens, n)


def _made(text: str, values: tuple[float, ...] | None, finish_reason: Any, completion_tokens: Any,
          n: int) -> Completion:
    """Token counts come from the per-token log-probabilities when the server sent them; otherwise
    the usage total is shared evenly (exact for ``n`` = 1)."""
    if values is not None:
        tokens = len(values)
    elif isinstance(completion_tokens, int):
        tokens = completion_tokens // n
    else:
        tokens = 0
    return Completion(
        text=text,
        tokens=tokens,
        logprob=None if values is None else float(sum(values)),
        finish_reason="length" if finish_reason == "length" else "stop",
        token_logprobs=values,
    )
