"""The OpenAI-compatible client's chat-completions mode (``api = "chat"``): what it sends and how it
reads the answers, against a recording server on loopback, and end to end against ``CompletionServer``
applying the small model's chat template."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from prover.generate.base import GenerationConfig, GenerationError, SerialisedGenerator
from prover.generate.batching import BatchingGenerator, Request, SamplingParams, takes_messages
from prover.generate.cache import CachedGenerator, CompletionCache, cache_key
from prover.generate.hf import TransformersGenerator
from prover.generate.openai_compat import OpenAIGenerator, chat_body, completions_url
from prover.generate.prompts import Prompt
from prover.generate.serve import CompletionServer
from prover.generate.thinking import split_thinking
from tests.generate_support import loopback, tiny_generator, tiny_model

__all__ = ["tiny_generator", "tiny_model"]

PREFILLED = Prompt("You prove theorems in Coq.", "Prove that n + 0 = n.", "```coq\nTheorem t : ", ("```",), False)
PLAIN = Prompt("", "Prove that n + 0 = n.", "", (), None)
PARAMS = SamplingParams(0.7, 0.9, 64, ("```",))


class _Chat(BaseHTTPRequestHandler):
    """Records each request (path, body) and answers like a chat-completions server: choice ``i``
    says `` lia.i`` and choice 1 ran out of tokens; ``status`` other than 200 is answered instead."""

    calls: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    status: ClassVar[int] = 200
    reasoning: ClassVar[str | None] = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        cls = type(self)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls.calls.append((self.path, body))
        if cls.status != 200:
            # Laid out over several lines, as some servers do: the client's error must still be one.
            data = json.dumps({"detail": "Not Found", "routes": ["/v1/completions"]}, indent=2).encode()
        else:
            choices = []
            for i in reversed(range(body["n"])):  # out of order: the client sorts by index
                message: dict[str, Any] = {"role": "assistant", "content": f" lia.{i}"}
                if cls.reasoning is not None:
                    message["reasoning_content"] = cls.reasoning
                    message["content"] = None if i == 1 else message["content"]
                choices.append({"index": i, "message": message, "finish_reason": "length" if i == 1 else "stop",
                                "logprobs": {"content": [{"token": "a", "logprob": -0.5},
                                                         {"token": "b", "logprob": -0.25}]}})
            data = json.dumps({"object": "chat.completion", "choices": choices,
                               "usage": {"completion_tokens": 2 * body["n"]}}).encode()
        self.send_response(cls.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def chat_server() -> Iterator[str]:
    _Chat.calls, _Chat.status, _Chat.reasoning = [], 200, None
    with loopback(_Chat) as url:
        yield url


def _client(base_url: str, **kw: Any) -> OpenAIGenerator:
    return OpenAIGenerator(base_url, "m", max_retries=0, backoff_s=0.01, timeout_s=5, api="chat", **kw)


def test_chat_request_carries_the_turns_the_prefill_and_the_thinking_switch(chat_server: str) -> None:
    client = _client(chat_server)
    try:
        client.generate_requests([Request(PREFILLED.plain(), 2, 7, chat=PREFILLED)], PARAMS)
        client.generate_requests([Request(PLAIN.plain(), 1, None, chat=PLAIN)], PARAMS)
    finally:
        client.close()
    (path, body), (_, plain) = _Chat.calls
    assert path == "/v1/chat/completions" and "prompt" not in body
    assert body["messages"] == [
        {"role": "system", "content": "You prove theorems in Coq."},
        {"role": "user", "content": "Prove that n + 0 = n."},
        {"role": "assistant", "content": "```coq\nTheorem t : "},  # the prefill, continued by the model
    ]
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert {k: body[k] for k in ("model", "n", "max_tokens", "temperature", "top_p", "seed", "stop")} == {
        "model": "m", "n": 2, "max_tokens": 64, "temperature": 0.7, "top_p": 0.9, "seed": 7, "stop": ["```"]}
    assert body["logprobs"] is True
    # No system turn, no prefill, no thinking switch: none of the extensions are sent (a hosted API
    # that knows only the OpenAI fields accepts the request).
    assert plain["messages"] == [{"role": "user", "content": "Prove that n + 0 = n."}]
    assert not {"continue_final_message", "add_generation_prompt", "chat_template_kwargs", "seed"} & set(plain)


def test_a_text_only_request_is_one_user_turn() -> None:
    assert chat_body(Request("Goal True.", 1, None)) == {"messages": [{"role": "user", "content": "Goal True."}]}


def test_chat_answers_read_as_completions_and_length_is_truncation(chat_server: str) -> None:
    client = _client(chat_server)
    try:
        [out] = client.generate_requests([Request(PREFILLED.plain(), 2, 1, chat=PREFILLED)], PARAMS)
    finally:
        client.close()
    assert [c.text for c in out] == [" lia.0", " lia.1"]  # in index order
    assert [c.finish_reason for c in out] == ["stop", "length"]
    assert out[0].tokens == 2 and out[0].logprob == pytest.approx(-0.75)
    # As in completions mode the text is what follows the prefill, and the whole answer puts the
    # prefill in front of it, once.
    assert PREFILLED.answer(out[0].text) == "```coq\nTheorem t :  lia.0"


def test_thinking_handed_apart_by_a_reasoning_parser_is_put_back(chat_server: str) -> None:
    _Chat.reasoning = "try lia first"
    client = _client(chat_server)
    try:
        [out] = client.generate_requests([Request("p", 2, 1, chat=PLAIN)], PARAMS)
    finally:
        client.close()
    assert out[0].text == "<think>try lia first</think> lia.0"
    assert split_thinking(out[0].text).answer == " lia.0"
    assert out[1].text == "<think>try lia first" and split_thinking(out[1].text).truncated  # cut off thinking


def test_a_server_without_the_chat_route_is_one_clear_line(chat_server: str) -> None:
    _Chat.status = 404
    client = _client(chat_server)
    try:
        with pytest.raises(GenerationError) as caught:
            client.generate_requests([Request("p", 1, 1, chat=PLAIN)], PARAMS)
    finally:
        client.close()
    message = str(caught.value)
    assert "\n" not in message and "answered 404" in message and "chat-completions route" in message
    assert 'api = "completions"' in message and "/v1/chat/completions" in message
    assert client.requests == 1  # a missing route is not retried


def test_chat_mode_retries_a_busy_server(chat_server: str) -> None:
    _Chat.status = 503
    client = OpenAIGenerator(chat_server, "m", max_retries=1, backoff_s=0.01, timeout_s=5, api="chat")
    try:
        with pytest.raises(GenerationError, match="503"):
            client.generate_requests([Request("p", 1, 1)], PARAMS)
    finally:
        client.close()
    assert client.requests == 2 and client.retries == 1


def test_end_to_end_through_the_small_models_chat_template(tiny_generator: TransformersGenerator) -> None:
    """The server applies the template (prefill continued in the assistant's turn): the same samples
    as the model continuing the prompt rendered locally with that template, with the same seed."""
    params = SamplingParams(1.0, 0.9, 12, ("\n\n",))
    thinking = Prompt(PLAIN.system, PLAIN.user, PLAIN.response, PLAIN.stop, True)  # the template ignores it
    prompts = [PREFILLED, PLAIN, thinking]
    requests = [Request(p.plain(), 2, 3 + i, chat=p) for i, p in enumerate(prompts)]
    with CompletionServer(tiny_generator, "tiny", max_requests=10) as server:
        client = OpenAIGenerator(server.base_url, "tiny", concurrency=2, timeout_s=30, max_retries=0, api="chat")
        try:
            out = client.generate_requests(requests, params)
        finally:
            client.close()
    for i, (prompt, got) in enumerate(zip(prompts, out, strict=True)):
        [want] = tiny_generator.generate_requests([Request(prompt.chat(tiny_generator.tokenizer), 2, 3 + i)],
                                                  params)
        assert [c.text for c in got] == [c.text for c in want]
        for g, w in zip(got, want, strict=True):
            assert g.tokens == w.tokens and g.finish_reason == w.finish_reason
            assert g.logprob == pytest.approx(w.logprob)


def test_the_server_refuses_a_bad_chat_request(tiny_generator: TransformersGenerator) -> None:
    import httpx

    with CompletionServer(tiny_generator, "tiny", max_requests=10) as server:
        url = server.base_url + "/v1/chat/completions"
        both = {"messages": [{"role": "user", "content": "x"}], "continue_final_message": True}
        reply = httpx.post(url, json=both, timeout=10)  # add_generation_prompt defaults to true
        assert reply.status_code == 400 and "add_generation_prompt" in reply.json()["error"]["message"]
        reply = httpx.post(url, json={"messages": "x"}, timeout=10)
        assert reply.status_code == 400 and "messages" in reply.json()["error"]["message"]


def test_api_setting_follows_the_prompt_format_unless_written(tmp_path: Path) -> None:
    from prover.config import load_settings
    from prover.generate import make_generator
    from prover.generate.presets import apply_preset

    assert GenerationConfig().openai_api() == "completions"
    kimina, v15 = GenerationConfig(), GenerationConfig()
    apply_preset(kimina, "kimina-prover")
    apply_preset(v15, "deepseek-prover-v1.5")
    assert kimina.openai_api() == "chat" and v15.openai_api() == "completions"
    assert GenerationConfig(prompt_format="chat", api="completions").openai_api() == "completions"
    toml = tmp_path / "prover.toml"
    toml.write_text('[generate]\nbackend = "openai"\nmodel = "m"\napi = "chat"\n')
    client = make_generator(load_settings(toml).generate)
    try:
        assert isinstance(client, OpenAIGenerator) and client.api == "chat"
        assert client.url == "http://127.0.0.1:8000/v1/chat/completions"
    finally:
        client.close()
    with pytest.raises(ValueError, match="api must be"):
        GenerationConfig(api="responses").validate()
    with pytest.raises(ValueError, match="api must be"):
        OpenAIGenerator("http://h", "m", api="responses")
    assert completions_url("http://h:1/v1/", "chat") == "http://h:1/v1/chat/completions"


class _Recorder:
    """A backend that records the requests it gets; ``api`` as the OpenAI client's."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.seen: list[Request] = []

    def identity(self) -> str:
        return "recorder"

    def generate(self, *args: Any) -> Any:
        raise AssertionError("the cache calls generate_requests")

    def generate_requests(self, requests: Any, params: SamplingParams) -> Any:
        from prover.generate.base import Completion

        self.seen.extend(requests)
        return [[Completion("x", 1, None, "stop")] * r.n for r in requests]

    def close(self) -> None:
        pass


def test_the_structured_prompt_reaches_the_backend_and_keys_the_cache_only_there() -> None:
    thinking = Prompt(PLAIN.system, PLAIN.user, PLAIN.response, PLAIN.stop, True)
    requests = [Request("same text", 1, 0, chat=PLAIN), Request("same text", 1, 0, chat=thinking)]
    chat = _Recorder("chat")
    BatchingGenerator(CachedGenerator(chat, CompletionCache())).generate_requests(requests, PARAMS)  # type: ignore[arg-type]
    assert [r.chat for r in chat.seen] == [PLAIN, thinking]  # two keys: the thinking switch differs
    text = _Recorder("completions")
    CachedGenerator(text, CompletionCache()).generate_requests(requests, PARAMS)  # type: ignore[arg-type]
    assert len(text.seen) == 1  # a text backend sees the same text twice: one key, as before
    assert takes_messages(BatchingGenerator(CachedGenerator(chat, CompletionCache()))) is True  # type: ignore[arg-type]
    assert takes_messages(text) is False  # type: ignore[arg-type]
    assert takes_messages(SerialisedGenerator(chat)) is False  # type: ignore[arg-type]  # it passes text only
    args = ("id", "p", 1, 0.5, 0.9, 10, [], 3)
    assert cache_key(*args) == cache_key(*args, None) != cache_key(*args, PLAIN)
