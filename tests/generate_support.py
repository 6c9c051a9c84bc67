"""Shared fixtures for the generation tests: the small model this project makes itself, made once per
test session in a temporary folder, a transformers generator over it (one torch thread: the
tests must stay light on a shared machine), and a loopback HTTP server for a request handler."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from prover.train.model_init import SIMPLE_CHAT_TEMPLATE, init_model, project_corpus

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def loopback(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on a free local port in a thread; yields ``http://127.0.0.1:PORT``."""
    httpd = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.set_num_threads(1)
    corpus = project_corpus(REPO)
    assert corpus, "the project's proof texts are missing"
    return init_model(tmp_path_factory.mktemp("tiny") / "model", corpus, vocab_size=400, n_layer=2, n_embd=32,
                      n_head=2, n_positions=512, chat_template=SIMPLE_CHAT_TEMPLATE)


@pytest.fixture(scope="session")
def tiny_generator(tiny_model: Path) -> Iterator[object]:
    from prover.generate.hf import TransformersGenerator

    generator = TransformersGenerator(str(tiny_model), device="cpu", threads=1, max_batch=8)
    yield generator
    generator.close()
