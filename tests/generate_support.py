"""Shared fixtures for the generation tests: the small model this project makes itself, made once per
test session in a temporary folder, and a transformers generator over it (one torch thread: the
tests must stay light on a shared machine)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from prover.train.model_init import SIMPLE_CHAT_TEMPLATE, init_model, project_corpus

REPO = Path(__file__).resolve().parents[1]


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
