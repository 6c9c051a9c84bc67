"""The transformers backend: a causal language model from ``from_pretrained`` (a local directory or a
Hugging Face id), sampled on the CPU or a GPU.

``n`` samples per prompt come from one batched ``generate`` call (``num_return_sequences``). A seeded
request is sampled one prompt at a time under a seed derived from (seed, prompt), so its completions
do not depend on which other prompts share the batch or where the prompt sits in it: that is what
makes seeded completions cacheable (``cache.py``). Unseeded requests batch several prompts together.

A prompt and its completion must fit the model's context (its maximum positions): a longer prompt
keeps its last tokens — enough to leave ``max_tokens`` of room, but never fewer than half the
context — so a long revision prompt loses its opening instructions, not the attempt and errors next
to the answer; the completion is cut to the room left (finish reason ``length``; in an unseeded
batch, the room its longest prompt leaves). A leading BOS token is kept.

Log-probabilities are recorded as sampling goes (``ChosenLogprobs``): one float per generated token,
never a step's scores over the vocabulary for more than the one step being sampled.
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


def context_length(config: Any, tokenizer: Any) -> int | None:
    """The most positions the model takes (prompt and completion together), None when unknown."""
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    # Tokenizers without a limit report a huge sentinel (int(1e30)).
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < 10**8 else None


def fit_prompt(ids: list[int], max_tokens: int, context: int | None, bos: int | None) -> list[int]:
    """``ids`` cut from the left to leave ``max_tokens`` of room in ``context``, keeping at least half
    the context (and a leading ``bos``); unchanged when it fits or the context is unknown."""
    if context is None:
        return ids
    keep = max(context - max_tokens, context // 2, 1)
    if len(ids) <= keep:
        return ids
    if bos is not None and ids[0] == bos:
        return [bos, *ids[len(ids) - keep + 1 :]] if keep > 1 else [bos]
    return ids[len(ids) - keep :]


class ChosenLogprobs:
    """A logits processor that keeps only the log-probability of each chosen token: one batch-sized
    column per step, O(steps) memory instead of the O(steps × vocabulary) of ``output_logits``.

    ``generate`` runs it before its temperature and top-p warpers, so it sees the raw distribution.
    Step t's token is not chosen yet when step t's scores arrive: its log-softmax is held (one step's
    worth) until step t + 1 shows the chosen token, and the last step's is resolved by ``finish``."""

    def __init__(self, torch: Any) -> None:
        self._torch = torch
        self.columns: list[Any] = []  # one (batch,) tensor per resolved step
        self.pending: Any = None  # the current step's (batch × vocabulary) log-softmax

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.pending is not None:
            self._resolve(input_ids[:, -1])
        self.pending = self._torch.log_softmax(scores.float(), dim=-1)
        return scores

    def _resolve(self, chosen: Any) -> None:
        self.columns.append(self.pending.gather(1, chosen.to(self.pending.device).unsqueeze(1)).squeeze(1))
        self.pending = None

    def finish(self, generated: Any) -> list[list[float]]:
        """Per row of ``generated`` (the tokens after the prompt), its tokens' log-probabilities."""
        if self.pending is not None and len(self.columns) < generated.shape[1]:
            self._resolve(generated[:, len(self.columns)])
        self.pending = None
        if not self.columns:
            return [[] for _ in range(generated.shape[0])]
        rows: list[list[float]] = self._torch.stack(self.columns, dim=1).cpu().tolist()
        return rows


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
        self.context = context_length(self.model.config, self.tokenizer)
        self.truncated_prompts = 0  # prompts cut to fit the context (see the module's docstring)
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
        rows = tok(list(prompts), add_special_tokens=add_special)["input_ids"]
        fitted = [fit_prompt(list(row), max_tokens, self.context, tok.bos_token_id) for row in rows]
        self.truncated_prompts += sum(len(a) < len(b) for a, b in zip(fitted, rows, strict=True))
        enc = tok.pad({"input_ids": fitted}, return_tensors="pt")
        enc = {key: value.to(self.device) for key, value in enc.items()}
        width = enc["input_ids"].shape[1]
        room = max_tokens if self.context is None else min(max_tokens, self.context - width)
        recorder = ChosenLogprobs(torch) if self.logprobs else None
        kwargs: dict[str, Any] = {
            "max_new_tokens": room,
            "num_return_sequences": k,
            "return_dict_in_generate": True,
            "output_logits": False,
            "output_scores": False,
            "pad_token_id": tok.pad_token_id,
            "eos_token_id": tok.eos_token_id,
        }
        if recorder is not None:
            from transformers import LogitsProcessorList

            kwargs["logits_processor"] = LogitsProcessorList([recorder])
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
            generated = res.sequences[:, width:].cpu()
            per_token = None if recorder is None else recorder.finish(generated)
        completions = [
            self._completion(generated[j].tolist(), None if per_token is None else per_token[j], stops)
            for j in range(generated.shape[0])
        ]
        return [completions[i * k : (i + 1) * k] for i in range(len(prompts))]

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

