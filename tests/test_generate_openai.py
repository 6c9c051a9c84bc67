"""The OpenAI-compatible client against a real server on loopback: ``CompletionServer`` serving the
small model through the transformers backend; plus retries against a server that fails first."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import httpx
import pytest

from prover.generate.base import GenerationError
from prover.generate.hf import TransformersGenerator
from prover.generate.openai_compat import OpenAIGenerator, completions_url
from prover.generate.serve import CompletionServer
from tests.generate_support import loopback, tiny_generator, tiny_model

__all__ = ["tiny_generator", "tiny_model"]

PROMPTS = ["Theorem t (n : nat) : n + 0 = n.\nProof.\n", "Lemma u : True.\nProof.\n"]


def test_client_against_the_small_model_server(tiny_generator: TransformersGenerator) -> None:
    with CompletionServer(tiny_generator, "tiny", max_requests=10) as server:
        models = httpx.get(server.base_url + "/v1/models", timeout=10).json()
        assert models["data"][0]["id"] == "tiny"
        client = OpenAIGenerator(server.base_url, "tiny", concurrency=2, timeout_s=30, max_retries=0)
        try:
            out = client.generate(PROMPTS, n=2, temperature=1.0, top_p=0.9, max_tokens=12, stop=["\n\n"], seed=3)
        finally:
            client.close()
    direct = tiny_generator.generate(PROMPTS, 2, 1.0, 0.9, 12, ["\n\n"], 3)
    assert [len(c) for c in out] == [2, 2]
    for got, want in zip(out, direct, strict=True):
        assert [c.text for c in got] == [c.text for c in want]  # the same model, seed and prompt
        for g, w in zip(got, want, strict=True):
            assert g.tokens == w.tokens and g.finish_reason == w.finish_reason
            assert g.logprob == pytest.approx(w.logprob)
    assert client.requests == 2 and client.retries == 0


def test_server_rejects_bad_request_and_stops_by_itself(tiny_generator: TransformersGenerator) -> None:
    server = CompletionServer(tiny_generator, "tiny", max_requests=1).start()
    reply = httpx.post(server.base_url + "/v1/completions", json={"prompt": 5}, timeout=10)
    assert reply.status_code == 400 and "prompt" in reply.json()["error"]["message"]
    server._thread.join(timeout=10)  # max_requests reached: it shut itself down
    assert server._thread is not None and not server._thread.is_alive()


class _Flaky(BaseHTTPRequestHandler):
    """Fails the first request with 503 (Retry-After: 0), then answers like a completions server."""

    calls: ClassVar[list[dict[str, Any]]] = []
    status_first: ClassVar[int] = 503

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body)
        if len(type(self).calls) == 1:
            data = b'{"error": {"message": "busy"}}'
            self.send_response(type(self).status_first)
            self.send_header("Retry-After", "0")
        else:
            choices = [{"index": i, "text": f" lia.{i}", "finish_reason": "stop",
                        "logprobs": {"token_logprobs": [-0.5, -0.25]}} for i in range(body["n"])]
            data = json.dumps({"choices": choices, "usage": {"completion_tokens": 2 * body["n"]}}).encode()
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def flaky() -> Iterator[str]:
    _Flaky.calls = []
    with loopback(_Flaky) as url:
        yield f"{url}/v1"


def test_retries_after_503(flaky: str) -> None:
    client = OpenAIGenerator(flaky, "m", max_retries=2, backoff_s=0.01, timeout_s=5)
    out = client.generate(["Goal True."], n=2, temperature=0.5, top_p=1.0, max_tokens=5, stop=[], seed=None)
    client.close()
    assert client.requests == 2 and client.retries == 1
    assert [c.text for c in out[0]] == [" lia.0", " lia.1"]
    assert out[0][0].tokens == 2 and out[0][0].logprob == pytest.approx(-0.75)
    assert _Flaky.calls[1]["n"] == 2 and "seed" not in _Flaky.calls[1]


def test_client_error_is_not_retried(flaky: str) -> None:
    _Flaky.status_first = 400
    try:
        client = OpenAIGenerator(flaky, "m", max_retries=3, backoff_s=0.01, timeout_s=5)
        with pytest.raises(GenerationError, match="400"):
            client.generate(["x"], n=1, temperature=0.5, top_p=1.0, max_tokens=5, stop=[], seed=1)
        assert client.requests == 1
    finally:
        _Flaky.status_first = 503


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = OpenAIGenerator(f"http://127.0.0.1:{port}", "m", max_retries=2, backoff_s=0.01, timeout_s=2)
    with pytest.raises(GenerationError, match="ConnectError"):
        client.generate(["x"], n=1, temperature=0.5, top_p=1.0, max_tokens=5, stop=[], seed=1)
    assert client.requests == 3 and client.retries == 2


def test_completions_url() -> None:
    assert completions_url("http://h:1") == "http://h:1/v1/completions"
    assert completions_url("http://h:1/v1/") == "http://h:1/v1/completions"


def test_requests_with_their_own_seeds_in_one_client_call(tiny_generator: TransformersGenerator) -> None:
    """Each request is one HTTP request with its own n and seed, answered as the model would alone."""
    from prover.generate.batching import Request, SamplingParams

    requests = [Request(PROMPTS[0], 2, 3), Request(PROMPTS[1], 1, 4), Request(PROMPTS[0], 1, 5)]
    params = SamplingParams(1.0, 0.9, 12)
    with CompletionServer(tiny_generator, "tiny", max_requests=10) as server:
        client = OpenAIGenerator(server.base_url, "tiny", concurrency=3, timeout_s=30, max_retries=0)
        try:
            out = client.generate_requests(requests, params)
        finally:
            client.close()
    assert client.requests == 3 and [len(cs) for cs in out] == [2, 1, 1]
    for request, got in zip(requests, out, strict=True):
        [want] = tiny_generator.generate_requests([request], params)
        assert [c.text for c in got] == [c.text for c in want]


class _SlowGenerator:
    """Answers after ``delay_s``, as a server does that only replies once a long generation is done."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def identity(self) -> str:
        return "slow"

    def generate(self, prompts: Any, n: int, temperature: float, top_p: float, max_tokens: int, stop: Any,
                 seed: int | None) -> list[list[Any]]:
        import time

        from prover.generate.base import Completion

        time.sleep(self.delay_s)
        return [[Completion("done", 1, None, "stop") for _ in range(n)] for _ in prompts]

    def close(self) -> None:
        pass


def test_a_long_generation_is_waited_for_not_restarted() -> None:
    """The read timeout fits ``max_tokens`` at the slowest decoding rate: a reply that takes longer
    than ``timeout_s`` but not longer than that generation may take arrives, without a retry."""
    from prover.generate.openai_compat import SLOWEST_TOKENS_PER_S, read_timeout

    assert read_timeout(300.0, 32768) == 32768 / SLOWEST_TOKENS_PER_S and read_timeout(300.0, 512) == 300.0
    with CompletionServer(_SlowGenerator(1.0), "slow", max_requests=10) as server:  # type: ignore[arg-type]
        client = OpenAIGenerator(server.base_url, "slow", timeout_s=0.3, max_retries=0)
        [[answer]] = client.generate(["p"], 1, 1.0, 1.0, 40, [], 0)  # 40 tokens may take 4 s
        assert answer.text == "done" and client.requests == 1 and client.retries == 0
        with pytest.raises(GenerationError, match="ReadTimeout"):
            client.generate(["p"], 1, 1.0, 1.0, 2, [], 0)  # 2 tokens: 0.3 s is ample, 1 s is not
        client.close()
