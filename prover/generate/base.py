"""The one interface every generation backend implements, and the settings that choose a backend.

The prover and the conjecturer are two roles of one model on one backend, so everything above this
package (the model engine, self-play, evaluation) talks only to ``Generator.generate``: a batch of
prompts in, ``n`` completions per prompt out, each with its token count and, where the backend
reports it, its summed log-probability. Backends: ``hf.py`` (transformers, CPU or GPU),
``openai_compat.py`` (any OpenAI-compatible server), ``vllm_backend.py`` (vLLM on a GPU);
``cache.py`` wraps any of them with a persistent completion cache.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

BACKENDS = ("transformers", "openai", "vllm")
OPENAI_APIS = ("auto", "completions", "chat")  # GenerationConfig.api
FINISH_REASONS = ("stop", "length")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".json", ".model", ".txt", ".npz")


class GenerationError(RuntimeError):
    """A backend could not produce completions (server refused, retries exhausted, model missing)."""


@dataclass(frozen=True)
class Completion:
    """One sampled continuation of a prompt.

    ``text`` is cut before the first stop string (the stop string itself is not included, as in
    the OpenAI API); ``tokens`` counts the generated tokens up to and including the one that
    completed the stop string or the end-of-sequence token; ``logprob`` is their summed
    log-probability under the model (before temperature and top-p), None when the backend does not
    report it; ``finish_reason`` is ``"stop"`` (stop string or end of sequence) or ``"length"``."""

    text: str
    tokens: int
    logprob: float | None
    finish_reason: str
    token_logprobs: tuple[float, ...] | None = None  # per token, when the backend reports them

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["token_logprobs"] = None if self.token_logprobs is None else list(self.token_logprobs)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Completion:
        per_token = data.get("token_logprobs")
        return cls(
            text=str(data["text"]),
            tokens=int(data["tokens"]),
            logprob=None if data.get("logprob") is None else float(data["logprob"]),
            finish_reason=str(data["finish_reason"]),
            token_logprobs=None if per_token is None else tuple(float(x) for x in per_token),
        )


class Generator(Protocol):
    """A generation backend. Implementations must make a seeded request reproducible per prompt
    (the same prompt, parameters and seed give the same completions whatever else is in the batch):
    the completion cache relies on it. On a batching backend "the same" means the same tokens and
    text; the log-probabilities may differ in the last bits, since padding and batch size change the
    order of additions in the batched matmuls (transformers: about 1e-6 in float32).

    A backend that batches requests with different seeds or ``n`` also has ``generate_requests``
    (``batching.Request`` list and ``batching.SamplingParams``); callers reach either through
    ``batching.generate_requests``."""

    def identity(self) -> str:
        """The backend, the model and every setting that changes what it samples (weights version,
        dtype, template-independent): completions are cached under it."""
        ...

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
        """``n`` completions for each prompt, in prompt order. Raises ``GenerationError``."""
        ...

    def close(self) -> None:
        """Free the model or connections; idempotent."""
        ...


def default_threads() -> int:
    """CPU threads for torch: a few, not all, since the verifier pool's proof assistants need the
    remaining cores while the model samples."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class GenerationConfig:
    """Which backend and model generate, and the default sampling parameters.

    The field types are the ones ``prover.config`` reads from TOML (a ``[generate]`` section)."""

    backend: str = "transformers"  # one of BACKENDS
    model: str | None = None  # a local directory or a Hugging Face id (server: the served name)
    # sampling defaults (a caller may override them per request)
    n: int = 8
    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens: int = 512
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    # transformers
    device: str = "auto"  # "auto" (cuda when available), "cpu", "cuda", "cuda:1" …
    dtype: str = "auto"  # "auto" (bf16 on GPU, fp32 on CPU), "float32", "bfloat16", "float16"
    threads: int | None = None  # torch CPU threads; None: default_threads()
    max_batch: int = 16  # sequences per forward batch (prompts × n)
    # OpenAI-compatible server
    base_url: str = "http://127.0.0.1:8000"
    api_key_env: str = "OPENAI_API_KEY"  # the environment variable holding the key, if any
    concurrency: int = 8  # requests in flight at once
    timeout_s: float = 300.0
    max_retries: int = 4
    # "completions" (POST /v1/completions with the rendered text), "chat" (POST /v1/chat/completions
    # with the prompt's messages: the server applies the model's chat template), or "auto": chat when
    # prompt_format is "chat" (what a chat preset sets), since this client has no tokenizer to apply it
    api: str = "auto"
    # vLLM engine arguments (vllm_backend.EngineOptions); dtype above is vLLM's too
    gpu_memory_utilization: float = 0.85
    max_model_len: int | None = None  # None: the model's own context
    tensor_parallel_size: int = 1  # GPUs one model is split over
    max_num_seqs: int | None = None  # sequences scheduled at once; None: vLLM's default
    quantization: str | None = None  # "awq", "gptq", "fp8", … (vLLM's names)
    enable_prefix_caching: bool = True
    trust_remote_code: bool = False
    # a hub model's branch, tag or commit (transformers and vLLM); part of the backend identity
    revision: str | None = None
    # prompts and cache
    preset: str | None = None  # a model-family preset (presets.py); sets templates, prompt_format, max_tokens
    templates: str = "default"  # a template set in prover/generate/templates/ or a TOML path
    prompt_format: str = "auto"  # "auto" (chat when the tokenizer has a template), "plain", "chat"
    cache_path: str | None = None  # SQLite completion cache; none when unset

    def openai_api(self) -> str:
        """``api`` with "auto" resolved: "chat" or "completions"."""
        if self.api != "auto":
            return self.api
        return "chat" if self.prompt_format == "chat" else "completions"

    def validate(self) -> None:
        """Raises ``ValueError`` with a one-line message for settings no backend can run with."""
        if self.backend not in BACKENDS:
            choices = ", ".join(BACKENDS)
            raise ValueError(f"unknown generation backend {self.backend!r}; choose one of {choices}")
        if self.prompt_format not in ("auto", "plain", "chat"):
            raise ValueError(f"prompt_format must be auto, plain or chat, not {self.prompt_format!r}")
        if self.api not in OPENAI_APIS:
            raise ValueError(f"api must be {', '.join(OPENAI_APIS)}, not {self.api!r}")
        check_sampling(self.n, self.temperature, self.top_p, self.max_tokens)


def tokenizer_of(generator: Generator) -> Any | None:
    """The backend's tokenizer when it has one (for chat templates), looking through wrappers."""
    inner: Any = generator
    while inner is not None and not hasattr(inner, "tokenizer"):
        inner = getattr(inner, "inner", None)
    return None if inner is None else inner.tokenizer


def check_sampling(n: int, temperature: float, top_p: float, max_tokens: int) -> None:
    """The parameter ranges every backend accepts; raises ``ValueError``."""
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, not {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], not {top_p}")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, not {max_tokens}")


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the earliest stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text, False) if cut < 0 else (text[:cut], True)


def weights_version(model: str) -> str:
    """A short fingerprint of a local model directory's files (name, size, modification time), so
    that completions cached for one checkpoint are never served for a retrained one in the same
    directory. Hashing the contents would cost minutes for a 7B model; a retrained file always gets
    a new modification time. For a hub id the caller uses the resolved commit instead."""
    path = Path(model)
    if not path.is_dir():
        return ""
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.is_file() and f.name.endswith(_WEIGHT_SUFFIXES):
            st = f.stat()
            h.update(f"{f.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


class SerialisedGenerator:
    """A ``Generator`` that lets one thread at a time into ``inner``: threads that share one model
    (self-play problems) take turns generating while their checks overlap. ``batching.
    BatchingGenerator`` does the same and also merges the requests of threads that wait."""

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self._lock = threading.Lock()

    def identity(self) -> str:
        return self.inner.identity()

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_tokens: int,
                 stop: Sequence[str], seed: int | None) -> list[list[Completion]]:
        with self._lock:
            return self.inner.generate(prompts, n, temperature, top_p, max_tokens, stop, seed)

    def close(self) -> None:
        self.inner.close()
