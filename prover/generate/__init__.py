"""Generation: one protocol (``base.Generator``) over three backends — transformers (``hf.py``),
OpenAI-compatible servers (``openai_compat.py``), vLLM (``vllm_backend.py``) — batched requests with
their own seeds and a micro-batcher that merges concurrent callers (``batching.py``), a completion cache
(``cache.py``), prompt templates per language and role (``prompts.py``, ``templates/``), the answer
extractor (``extract.py``) and a small OpenAI-compatible server (``serve.py``).

Heavy libraries (torch, transformers, vllm) are imported only when a backend is built.
"""

from __future__ import annotations

import os

from prover.generate.base import GenerationConfig, Generator


def make_generator(config: GenerationConfig) -> Generator:
    """The backend ``config`` names, wrapped in the completion cache when ``cache_path`` is set.
    Raises ``ValueError`` for bad settings, ``RuntimeError`` for a missing package."""
    config.validate()
    if config.model is None:
        raise ValueError("no model given: pass --model (a local directory or a Hugging Face id)")
    generator: Generator
    if config.backend == "transformers":
        from prover.generate.hf import TransformersGenerator

        generator = TransformersGenerator(config.model, config.device, config.dtype, config.threads,
                                          config.max_batch, revision=config.revision)
    elif config.backend == "openai":
        from prover.generate.openai_compat import OpenAIGenerator

        generator = OpenAIGenerator(config.base_url, config.model, config.api_key_env, config.concurrency,
                                    config.timeout_s, config.max_retries, api=config.openai_api())
    else:
        from prover.generate.vllm_backend import EngineOptions, VLLMGenerator

        generator = VLLMGenerator(config.model, EngineOptions.of(config))
    if config.cache_path is not None:
        from prover.generate.cache import CachedGenerator, CompletionCache

        generator = CachedGenerator(generator, CompletionCache(os.path.expanduser(config.cache_path)))
    return generator
