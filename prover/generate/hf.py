"""The transformers backend: a causal language model from ``from_pretrained`` (a local directory or a
Hugging Face id), sampled on the CPU or a GPU.

``n`` samples per prompt come from one batched ``generate`` call (``num_return_sequences``). A seeded
request is sampled one prompt at a time under a seed derived from (seed, prompt), so its completions
do not depend on which other prompts share the batch or where the prompt sits in it: that is what
makes seeded completions cacheable (``cache.py``). Unseeded requests batch several prompts together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from prover.generate.base import (
    Completion,
    GenerationError,
    check_sampling,
    cut_at_stop,
    default_threads,
    weights_version,
)

_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "float16": "float16", "fp16": "float16"}


def prompt_seed(seed: int, prompt: str) -> int:
    """A per-prompt seed: independent streams for different prompts, the same stream for the same
    prompt wherever it appears in a batch."""
    digest = hashlib.sha256(f"{seed}\0{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2**63)


class TransformersGenerator:
    """``Generator`` over ``AutoModelForCausalLM``. ``threads`` sets ``torch.set_num_threads`` (a
    process-wide setting; default ``min(4, cores)`` so proof checkers keep cores); ``max_batch``
    bounds the sequences (prompts × samples) in one forward batch."""

    def __init__(
        self,
        model: str,
        device: str = "auto",
        dtype: str = "auto",
        threads: int | None = None,
        max_batch: int = 16,
        revision: str | None = None,
        logprobs: bool = True,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - the base install has both
            raise GenerationError(f"the transformers backend needs torch and transformers: {exc}") from exc
        self._torch = torch
        torch.set_num_threads(threads or default_threads())
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        if dtype == "auto":
            dtype = "bfloat16" if self.device.type == "cuda" else "float32"
        if dtype not in _DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(sorted(_DTYPES))}")
        self.dtype = _DTYPES[dtype]
        self.model_name = model
        self.max_batch = max(1, max_batch)
        self.logprobs = logprobs
        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(model, revision=revision)
            loaded: Any = AutoModelForCausalLM.from_pretrained(
                model, revision=revision, dtype=getattr(torch, self.dtype)
            )
        except (OSError, ValueError) as exc:
            raise GenerationError(f"cannot load model {model!r}: {exc}") from exc
        loaded.to(self.device)
        loaded.eval()
        self.model: Any = loaded
        # Decoder-only batches are padded on the left so every prompt's last token is adjacent to
        # the first generated one.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._ends = {t for t in (self.tokenizer.eos_token_id, self.tokenizer.pad_token_id) if t is not None}
        version = weights_version(model) or str(getattr(self.model.config, "_commit_hash", None))
        self._identity = f"transformers:{model}@{version}:{self.device.type}:{self.dtype}"

    def identity(self) -> str:
        return self._identity

    def close(self) -> None:
        self.model = None

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
        check_sampling(n, temperature, top_p, max_tokens)
        if self.model is None:
            raise GenerationError("the generator is closed")
        results: list[list[Completion]] = []
        if seed is not None:
            for prompt in prompts:
                self._torch.manual_seed(prompt_seed(seed, prompt))
                results.append(self._samples([prompt], n, temperature, top_p, max_tokens, stop)[0])
            return results
        per_batch = max(1, self.max_batch // n)
        for i in range(0, len(prompts), per_batch):
            results.extend(self._samples(prompts[i : i + per_batch], n, temperature, top_p, max_tokens, stop))
        return results

    def _samples(self, prompts: Sequence[str], n: int, temperature: float, top_p: float,
                 max_tokens: int, stop: Sequence[str]) -> list[list[Completion]]:
        """``n`` completions for each of a few prompts, in rounds of at most ``max_batch`` sequences."""
        out: list[list[Completion]] = [[] for _ in prompts]
        # Greedy decoding gives one answer; it is computed once and repeated n times.
        draws = n if temperature > 0 else 1
        per_round = max(1, self.max_batch // len(prompts))
        while len(out[0]) < draws:
            k = min(per_round, draws - len(out[0]))
            for i, completions in enumerate(self._generate(prompts, k, temperature, top_p, max_tokens, stop)):
                out[i].extend(completions)
        return [c * n if temperature == 0 else c for c in out]

    def _generate(self, prompts: Sequence[str], k: int, temperature: float, top_p: float,
                  max_tokens: int, stop: Sequence[str]) -> list[list[Completion]]:
        torch = self._torch
        tok = self.tokenizer
        # A chat template already wrote the BOS token into the text; adding another would change
        # what the model sees.
        bos = tok.bos_token
        add_special = not (bos and all(p.startswith(bos) for p in prompts))
        enc = tok(list(prompts), return_tensors="pt", padding=True, add_special_tokens=add_special)
        enc = {key: value.to(self.device) for key, value in enc.items()}
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_tokens,
            "num_return_sequences": k,
            "return_dict_in_generate": True,
            "output_logits": self.logprobs,
            "pad_token_id": tok.pad_token_id,
            "eos_token_id": tok.eos_token_id,
        }
        if temperature > 0:
            # top_k=0: no top-k cut, the same sampling the OpenAI API and vLLM do.
            kwargs.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        stops = [s for s in stop if s]
        if stops:  # stop early on the device; the text is still cut below
            kwargs.update(stop_strings=stops, tokenizer=tok)
        with torch.inference_mode():
            res = self.model.generate(**enc, **kwargs)
            generated = res.sequences[:, enc["input_ids"].shape[1] :].cpu()
            per_token = self._token_logprobs(res.logits, generated) if self.logprobs else None
        completions = [
            self._completion(generated[j].tolist(), None if per_token is None else per_token[j], stops)
            for j in range(generated.shape[0])
        ]
        return [completions[i * k : (i + 1) * k] for i in range(len(prompts))]

    def _token_logprobs(self, logits: Sequence[Any], generated: Any) -> list[list[float]]:
        """The log-probability of each generated token under the raw model distribution (one step
        at a time: stacking all steps would hold steps × batch × vocabulary floats twice)."""
        torch = self._torch
        columns = []
        for t, step in enumerate(logits):
            chosen = generated[:, t : t + 1].to(step.device)
            columns.append(torch.log_softmax(step.float(), dim=-1).gather(1, chosen).squeeze(1).cpu())
        if not columns:
            return [[] for _ in range(generated.shape[0])]
        stacked: list[list[float]] = torch.stack(columns, dim=1).tolist()
        return stacked

    def _completion(self, ids: list[int], logprobs: list[float] | None, stop: Sequence[str]) -> Completion:
        end = next((i for i, t in enumerate(ids) if t in self._ends), None)
        body = ids if end is None else ids[:end]
        text, hit = cut_at_stop(self._decode(body), stop)
        if hit:
            used = self._tokens_until_stop(body, stop)
        elif end is not None:
            used = end + 1  # the end-of-sequence token was generated too
        else:
            used = len(ids)
        finish = "stop" if hit or end is not None else "length"
        lps = None if logprobs is None else tuple(logprobs[:used])
        return Completion(text, used, None if lps is None else float(sum(lps)), finish, lps)

    def _decode(self, ids: list[int]) -> str:
        text: str = self.tokenizer.decode(ids, skip_special_tokens=True)
        return text

    def _tokens_until_stop(self, ids: list[int], stop: Sequence[str]) -> int:
        """The fewest leading tokens whose text already contains a stop string (binary search: a
        longer prefix decodes to a longer text)."""
        lo, hi = 1, len(ids)
        while lo < hi:
            mid = (lo + hi) // 2
            if cut_at_stop(self._decode(ids[:mid]), stop)[1]:
                hi = mid
            else:
                lo = mid + 1
        return lo

