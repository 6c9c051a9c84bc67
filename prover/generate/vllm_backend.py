"""The vLLM backend (GPU; the ``gpu`` extra): one ``vllm.LLM`` with prefix caching, so the shared
prompt prefix of a batch (instructions, the statement) is computed once for all ``n`` samples and
for every revision round that repeats it.

vLLM is imported only when this backend is constructed; without it (or without a CUDA GPU) the
error says what to install. Every request of a batch goes to vLLM in one call with its own sampling
parameters; its seed makes its samples reproducible whatever else is in the batch, as the
completion cache requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from prover.generate.base import (
    Completion,
    GenerationConfig,
    GenerationError,
    check_sampling,
    weights_version,
)
from prover.generate.batching import Request, SamplingParams, as_requests

# The distribution is prover-itp: "prover" on PyPI is an unrelated placeholder package.
INSTALL_HINT = (
    "vllm is not installed: pip install 'prover-itp[gpu]' (in a checkout: pip install -e '.[gpu]'); "
    "it needs a CUDA GPU"
)


def require_vllm() -> Any:
    """The ``vllm`` module, or a ``RuntimeError`` saying how to install it."""
    try:
        import vllm
    except ImportError as exc:
        raise RuntimeError(INSTALL_HINT) from exc
    return vllm


@dataclass(frozen=True)
class EngineOptions:
    """The ``vllm.LLM`` engine arguments a researcher sets (``[generate]`` in the settings file)."""

    dtype: str = "auto"  # "auto": vLLM chooses (bf16 where supported)
    gpu_memory_utilization: float = 0.85
    max_model_len: int | None = None  # None: the model's own context
    tensor_parallel_size: int = 1  # GPUs one model is split over
    max_num_seqs: int | None = None  # sequences vLLM schedules at once; None: its default
    quantization: str | None = None  # vLLM's names: "awq", "gptq", "fp8", …
    enable_prefix_caching: bool = True  # a batch's shared prompt prefix is computed once
    trust_remote_code: bool = False
    revision: str | None = None  # a hub model's branch, tag or commit
    seed: int = 0

    @classmethod
    def of(cls, config: GenerationConfig) -> EngineOptions:
        names = {f.name for f in fields(cls)} - {"seed"}
        return cls(**{name: getattr(config, name) for name in names})

    def kwargs(self) -> dict[str, Any]:
        """``vllm.LLM`` keyword arguments; unset options are left to vLLM's defaults."""
        return {k: v for k, v in asdict(self).items() if v is not None}


class VLLMGenerator:
    """``Generator`` over ``vllm.LLM`` with the engine ``options``."""

    def __init__(self, model: str, options: EngineOptions | None = None, logprobs: bool = True) -> None:
        vllm = require_vllm()
        self._vllm = vllm
        self.model_name = model
        self.logprobs = logprobs
        self.options = options or EngineOptions()
        try:
            self.llm: Any = vllm.LLM(model=model, **self.options.kwargs())
        except Exception as exc:  # vLLM raises many kinds (no GPU, out of memory, bad model)
            raise GenerationError(f"vLLM could not load {model!r}: {type(exc).__name__}: {exc}") from exc
        o = self.options
        # The weights' version: a local folder's files, else the hub commit vLLM downloaded (a
        # re-pushed model under the same name is another model, and its cached completions too).
        version = weights_version(model) or hub_commit(model, o.revision) or o.revision or "unknown"
        self._identity = f"vllm:{model}@{version}:{o.dtype}:{o.quantization or 'none'}"

    def identity(self) -> str:
        return self._identity

    def close(self) -> None:
        """Free the engine and its GPU memory (self-play trains on the same GPU next); idempotent."""
        if self.llm is None:
            return
        self.llm = None
        release_gpu_memory(self._vllm)

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
        """All requests in one ``LLM.generate`` call, one vLLM ``SamplingParams`` each (their own
        ``n`` and seed): vLLM's scheduler batches them however it likes."""
        for r in requests:
            check_sampling(r.n, params.temperature, params.top_p, params.max_tokens)
        if self.llm is None:
            raise GenerationError("the generator is closed")
        if not requests:
            return []
        per_request = [
            self._vllm.SamplingParams(
                n=r.n,
                temperature=params.temperature,
                top_p=params.top_p if params.temperature > 0 else 1.0,
                max_tokens=params.max_tokens,
                stop=list(params.stop) or None,
                seed=r.seed,
                logprobs=0 if self.logprobs else None,  # 0: only the sampled token's log-probability
            )
            for r in requests
        ]
        outputs = self.llm.generate([r.prompt for r in requests], per_request, use_tqdm=False)
        return [[_completion(c) for c in out.outputs] for out in outputs]


def hub_commit(model: str, revision: str | None) -> str | None:
    """The commit of a hub model in the local Hugging Face cache (where vLLM downloaded it), read
    offline; None for a model that is not there."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on it
        return None
    found = try_to_load_from_cache(model, "config.json", revision=revision)
    if not isinstance(found, str):
        return None
    parts = Path(found).parts
    return parts[-2] if len(parts) >= 3 and parts[-3] == "snapshots" else None


def release_gpu_memory(vllm: Any) -> None:
    """What vLLM keeps after its ``LLM`` is dropped: the model-parallel groups and the CUDA cache.
    Each step is skipped where this vLLM or torch lacks it (the module layout moved between
    releases)."""
    import gc

    parallel = getattr(getattr(vllm, "distributed", None), "parallel_state", None)
    for name in ("destroy_model_parallel", "destroy_distributed_environment"):
        step = getattr(parallel, name, None)
        if callable(step):
            step()
    gc.collect()
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _completion(output: Any) -> Completion:
    per_token = None
    if output.logprobs is not None:  # one {token id: Logprob} dict per generated token
        per_token = tuple(
            float(step[tid].logprob) for tid, step in zip(output.token_ids, output.logprobs, strict=False)
        )
    logprob = output.cumulative_logprob
    finish = "length" if output.finish_reason == "length" else "stop"
    return Completion(
        text=output.text,
        tokens=len(output.token_ids),
        logprob=None if logprob is None else float(logprob),
        finish_reason=finish,
        token_logprobs=per_token,
    )
