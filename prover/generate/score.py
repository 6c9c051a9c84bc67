"""Scoring given continuations of one prompt: log P(continuation | prompt) under a causal LM.

A step-level policy ranks the tactics a search can try on a state by how likely the model finds
each one, which needs the log-probability of *given* texts rather than samples. The prompt is run
once and its key/value cache shared by every continuation, so ranking sixty tactics costs one
prompt pass plus one batched pass over the tactics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from prover.generate.base import GenerationError, default_threads, weights_version
from prover.generate.hf import context_length


class Scorer(Protocol):
    def identity(self) -> str: ...

    def logprobs(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """Summed token log-probabilities of each continuation (followed by the end-of-sequence
        token: a tactic is scored as a whole step) after ``prompt``."""
        ...


class TransformersScorer:
    """``Scorer`` over ``AutoModelForCausalLM``. A prompt longer than the model's context keeps
    its end (where the goal's conclusion is): the continuation is what must fit."""

    def __init__(self, model: str, device: str = "cpu", threads: int | None = None,
                 max_batch: int = 64) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - the base install has both
            raise GenerationError(f"scoring needs torch and transformers: {exc}") from exc
        self._torch = torch
        torch.set_num_threads(threads or default_threads())
        self.device = torch.device(device)
        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(model)
            loaded: Any = AutoModelForCausalLM.from_pretrained(model)
        except (OSError, ValueError) as exc:
            raise GenerationError(f"cannot load model {model!r}: {exc}") from exc
        loaded.to(self.device)
        loaded.eval()
        self.model: Any = loaded
        self.max_batch = max(1, max_batch)
        self.context = context_length(loaded.config, self.tokenizer) or 2048
        eos = self.tokenizer.eos_token_id
        if eos is None:
            raise GenerationError(f"model {model!r} has no end-of-sequence token")
        self.eos = int(eos)
        pad = self.tokenizer.pad_token_id
        self.pad = int(pad) if pad is not None else self.eos
        self._identity = f"transformers-score:{model}@{weights_version(model)}"
        import inspect

        # transformers 5 renamed ``past_key_values`` to ``cache`` (the old name still works, warning).
        params = inspect.signature(loaded.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    def identity(self) -> str:
        return self._identity

    def _prompt_ids(self, prompt: str) -> list[int]:
        bos = self.tokenizer.bos_token
        special = not (bos and prompt.startswith(bos))  # as in training (train/sft.py)
        ids: list[int] = self.tokenizer(prompt, add_special_tokens=special)["input_ids"]
        return ids

    def logprobs(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        if not continuations:
            return []
        torch = self._torch
        tails = [[*self.tokenizer(c, add_special_tokens=False)["input_ids"], self.eos] for c in continuations]
        longest = max(len(t) for t in tails)
        room = self.context - longest
        if room < 1:
            raise GenerationError(f"a continuation of {longest} tokens does not fit the model's "
                                  f"context of {self.context}")
        head = self._prompt_ids(prompt)[-room:]
        scores: list[float] = []
        with torch.no_grad():
            out = self.model(torch.tensor([head], device=self.device), use_cache=True)
            first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
            cache = getattr(out, self._cache_arg)
            for start in range(0, len(tails), self.max_batch):
                chunk = tails[start : start + self.max_batch]
                scores += self._score_chunk(cache, first, len(head), chunk)
        return scores

    def _score_chunk(self, cache: Any, first: Any, prompt_len: int, tails: list[list[int]]) -> list[float]:
        import copy

        torch = self._torch
        width = max(len(t) for t in tails)
        ids = torch.full((len(tails), width), self.pad, device=self.device)
        mask = torch.zeros((len(tails), prompt_len + width), dtype=torch.long, device=self.device)
        mask[:, :prompt_len] = 1
        for row, tail in enumerate(tails):
            ids[row, : len(tail)] = torch.tensor(tail)
            mask[row, prompt_len : prompt_len + len(tail)] = 1
        shared = copy.deepcopy(cache)  # the expansion below is in place
        shared.batch_repeat_interleave(len(tails))
        positions = torch.arange(prompt_len, prompt_len + width, device=self.device).expand(len(tails), -1)
        logits = self.model(ids, attention_mask=mask, position_ids=positions, use_cache=True,
                            **{self._cache_arg: shared}).logits.float()
        logp = torch.log_softmax(logits, dim=-1)
        scores = []
        for row, tail in enumerate(tails):
            total = float(first[tail[0]])
            for i in range(1, len(tail)):
                total += float(logp[row, i - 1, tail[i]])
            scores.append(total)
        return scores
