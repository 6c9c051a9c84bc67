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
from typing import Any

from prover.generate.base import Completion, GenerationError, check_sampling, weights_version
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


class VLLMGenerator:
    """``Generator`` over ``vllm.LLM``. ``dtype`` "auto" lets vLLM choose (bf16 where supported)."""

    def __init__(
        self,
        model: str,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.85,
        max_model_len: int | None = None,
        logprobs: bool = True,
        seed: int = 0,
    ) -> None:
        vllm = require_vllm()
        self._vllm = vllm
        self.model_name = model
        self.logprobs = logprobs
        kwargs: dict[str, Any] = {
            "model": model,
            "dtype": dtype,
            "enable_prefix_caching": True,
            "gpu_memory_utilization": gpu_memory_utilization,
            "seed": seed,
        }
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        try:
            self.llm: Any = vllm.LLM(**kwargs)
        except Exception as exc:  # vLLM raises many kinds (no GPU, out of memory, bad model)
            raise GenerationError(f"vLLM could not load {model!r}: {type(exc).__name__}: {exc}") from exc
        self._identity = f"vllm:{model}@{weights_version(model)}:{dtype}"

    def identity(self) -> str:
        return self._identity

    def close(self) -> None:
        self.llm = None

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
