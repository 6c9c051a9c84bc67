"""A small OpenAI-compatible server over any ``Generator`` (``POST /v1/completions``, ``POST
/v1/chat/completions`` through the backend tokenizer's chat template, ``GET /v1/models``), on the
standard library's ``http.server``.

It serves the small model to the OpenAI-compatible client over loopback, so that client is tested
against a real server, and lets several processes share one loaded model on a CPU machine. It is not
a production server: requests are served one at a time (the model is one shared object), and
``max_requests`` / ``idle_s`` make it stop by itself.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prover.generate.base import Generator, tokenizer_of


class CompletionServer:
    """``with CompletionServer(generator, "tiny") as server: server.base_url …``. Binds 127.0.0.1
    on a free port unless told otherwise; stops after ``max_requests`` completion requests or
    ``idle_s`` seconds without one (when set), or on leaving the ``with`` block."""

    def __init__(self, generator: Generator, model_name: str, host: str = "127.0.0.1", port: int = 0,
                 max_requests: int | None = None, idle_s: float | None = None) -> None:
        self.generator = generator
        self.model_name = model_name
        self.max_requests = max_requests
        self.idle_s = idle_s
        self.served = 0
        self._last = time.monotonic()
        self._model_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._stop_lock = threading.Lock()
        self._serving = False

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CompletionServer:
        """Serve from a background thread."""
        self._serving = True  # before the thread starts, so a stop() right away still shuts it down
        self._thread = threading.Thread(target=self._serve, name="completion-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (a ``prover serve`` command) until stopped."""
        self._serving = True
        self._serve()

    def _serve(self) -> None:
        if self.idle_s is not None:
            threading.Thread(target=self._watch_idle, name="completion-server-idle", daemon=True).start()
        self._httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        with self._stop_lock:
            if self._stopped.is_set():
                return
            self._stopped.set()
        if self._serving:
            self._httpd.shutdown()  # waits for the serving loop to end
        self._httpd.server_close()

    def __enter__(self) -> CompletionServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _watch_idle(self) -> None:
        assert self.idle_s is not None
        while not self._stopped.wait(0.2):
            if time.monotonic() - self._last > self.idle_s:
                threading.Thread(target=self.stop, daemon=True).start()
                return

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """The OpenAI ``text_completion`` answer to one request body; raises ``ValueError`` for a bad one."""
        prompt = body.get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else prompt
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise ValueError("prompt must be a string or a list of strings")
        stop = body.get("stop") or []
        stop = [stop] if isinstance(stop, str) else stop
        n = int(body.get("n", 1))
        seed = body.get("seed")
        with self._model_lock:
            results = self.generator.generate(
                prompts, n, float(body.get("temperature", 1.0)), float(body.get("top_p", 1.0)),
                int(body.get("max_tokens", 16)), [str(s) for s in stop], None if seed is None else int(seed),
            )
        choices = []
        for i, completions in enumerate(results):
            for j, c in enumerate(completions):
                logprobs = None
                if body.get("logprobs") is not None and c.token_logprobs is not None:
                    logprobs = {"tokens": None, "token_logprobs": list(c.token_logprobs),
                                "top_logprobs": None, "text_offset": None}
                choices.append({"index": i * n + j, "text": c.text, "finish_reason": c.finish_reason,
                                "logprobs": logprobs})
        used = sum(c.tokens for completions in results for c in completions)
        return {
            "id": f"cmpl-{self.served}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": self.model_name,
            "choices": choices,
            "usage": {"completion_tokens": used},
        }

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """The OpenAI ``chat.completion`` answer to one request body: its ``messages`` through the
        tokenizer's chat template (with vLLM's ``add_generation_prompt``, ``continue_final_message``
        and ``chat_template_kwargs``), then sampled as a completion of that text."""
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in messages):
            raise ValueError("messages must be a non-empty list of {role, content} strings")
        tokenizer = tokenizer_of(self.generator)
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ValueError("this model has no chat template: use /v1/completions")
        add = bool(body.get("add_generation_prompt", True))
        cont = bool(body.get("continue_final_message", False))
        if add and cont:  # as vLLM: a generation prompt after the prefill would open a second turn
            raise ValueError("continue_final_message and add_generation_prompt cannot both be set")
        kwargs = body.get("chat_template_kwargs") or {}
        if not isinstance(kwargs, dict):
            raise ValueError("chat_template_kwargs must be an object")
        try:
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add,
                                                 continue_final_message=cont, **kwargs)
        except Exception as exc:  # jinja's TemplateError, transformers' ValueError: the request's fault
            raise ValueError(f"chat template: {exc}") from exc
        answer = self.complete({**body, "prompt": str(text), "logprobs": body.get("logprobs") or None})
        choices = []
        for c in answer["choices"]:
            per_token = (c["logprobs"] or {}).get("token_logprobs")
            # Completion keeps no token strings, so each entry has its log-probability only.
            logprobs = None if per_token is None else {"content": [
                {"token": "", "logprob": x, "bytes": None, "top_logprobs": []} for x in per_token]}
            choices.append({"index": c["index"], "message": {"role": "assistant", "content": c["text"]},
                            "finish_reason": c["finish_reason"], "logprobs": logprobs})
        return {**answer, "id": f"chatcmpl-{self.served}", "object": "chat.completion", "choices": choices}

    def _count(self) -> None:
        self.served += 1
        self._last = time.monotonic()
        if self.max_requests is not None and self.served >= self.max_requests:
            threading.Thread(target=self.stop, daemon=True).start()


def _handler(server: CompletionServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: a test or a batch run would drown in access lines

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": server.model_name, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            route = {"/v1/completions": server.complete, "/v1/chat/completions": server.chat}.get(
                self.path.rstrip("/"))
            if route is None:
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("the request body must be a JSON object")
                answer = route(body)
            except (ValueError, TypeError) as exc:
                self._send(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})
                return
            except Exception as exc:  # the model failed: a server error the client may retry
                self._send(500, {"error": {"message": f"{type(exc).__name__}: {exc}"}})
                return
            finally:
                server._count()
            self._send(200, answer)

    return Handler

