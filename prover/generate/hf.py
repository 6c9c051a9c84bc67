"""The transformers backend: a causal language model from ``from_pretrained`` (a local directory or a
Hugging Face id), sampled on the CPU or a GPU.

Every request's samples are rows of one batch: all rows of all requests (any mix of prompts, ``n``
and seeds, ``generate_requests``) sorted by prompt length, left-padded, and run in chunks of at most
``max_batch`` sequences, which bounds memory (the rows of a chunk share their room: see below). A
row samples with its own ``torch.Generator`` seeded by (request seed, prompt, sample index)
(``hf_sampling.RowSampler``), so a seeded row draws the same random numbers whatever else shares
its batch. Its tokens are then the ones it gets alone up to float rounding: padding and batch size
change the order of additions in the matmuls, so logits (and the recorded log-probabilities) can
differ in the last bits (about 1e-6 here), and a draw that falls within that distance of a boundary
between two tokens could pick the other one. Texts agree in practice (tested). Rows that repeat a
prompt (a request's ``n`` samples) share one prefill of it (``hf_sampling.shared_prefill``).

A prompt and its completion must fit the model's context (its maximum positions): a longer prompt
keeps its last tokens — enough to leave ``max_tokens`` of room, but never fewer than half the
context — so a long revision prompt loses its opening instructions, not the attempt and errors next
to the answer; the completion is cut to the room its own prompt leaves (finish reason
``length``), and rows with less room than ``max_tokens`` run in chunks of their own room (a finished
row's positions keep advancing while its chunk decodes). A leading BOS token is kept.

Log-probabilities are recorded as sampling goes (``ChosenLogprobs``): one float per generated token,
never a step's scores over the vocabulary for more than the one step being sampled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prover.generate.base import (
    Completion,
    GenerationError,
    check_sampling,
    cut_at_stop,
    default_threads,
    weights_version,
)
from prover.generate.batching import Request, SamplingParams, as_requests
from prover.generate.hf_sampling import RowSampler, row_seed, shared_prefill

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


@dataclass(frozen=True)
class _Row:
    """One sequence to sample: sample ``sample`` of request ``request``."""

    request: int
    sample: int
    ids: list[int]  # the fitted prompt
    seed: int  # its own generator's seed
    room: int  # the most new tokens it may take


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
        return self.generate_requests(*as_requests(prompts, n, temperature, top_p, max_tokens, stop, seed))

    def generate_requests(
        self, requests: Sequence[Request], params: SamplingParams
    ) -> list[list[Completion]]:
        """Every request's rows (one per sample; one for greedy, repeated ``n`` times) sorted by
        prompt length and run in chunks of at most ``max_batch`` (see the module's docstring)."""
        for r in requests:
            check_sampling(r.n, params.temperature, params.top_p, params.max_tokens)
        if self.model is None:
            raise GenerationError("the generator is closed")
        fitted = self._encode([r.prompt for r in requests], params.max_tokens)
        greedy = params.temperature == 0
        rows: list[_Row] = []
        for i, (r, ids) in enumerate(zip(requests, fitted, strict=True)):
            cap = params.max_tokens
            room = cap if self.context is None else min(cap, self.context - len(ids))
            for j in range(1 if greedy else r.n):
                seed = self._fresh_seed() if r.seed is None else row_seed(r.seed, r.prompt, j)
                rows.append(_Row(i, j, ids, seed, max(1, room)))
        # A chunk holds rows of one room: a finished row still advances its positions while the
        # others decode, so a longer-lived neighbour would run it past the context. Rooms differ only
        # for prompts near the context. Similar lengths share a chunk (less padding).
        rooms: dict[int, list[_Row]] = {}
        for row in sorted(rows, key=lambda row: len(row.ids)):
            rooms.setdefault(row.room, []).append(row)
        out: list[list[Completion | None]] = [[None] * (1 if greedy else r.n) for r in requests]
        stops = [s for s in params.stop if s]
        for same in rooms.values():
            for start in range(0, len(same), self.max_batch):
                chunk = same[start : start + self.max_batch]
                for row, completion in zip(chunk, self._generate(chunk, params, stops), strict=True):
                    out[row.request][row.sample] = completion
        done = [[c for c in cs if c is not None] for cs in out]
        return [cs * r.n if greedy else cs for cs, r in zip(done, requests, strict=True)]

    def _encode(self, prompts: Sequence[str], max_tokens: int) -> list[list[int]]:
        """Each prompt's token ids, cut to fit the context (``fit_prompt``)."""
        tok = self.tokenizer
        bos = tok.bos_token
        # A chat template already wrote the BOS token into the text; adding another would change
        # what the model sees. Decided per prompt, so a prompt's ids never depend on its batch.
        ids: dict[str, list[int]] = {}
        for special in (True, False):
            group = [p for p in dict.fromkeys(prompts) if special != bool(bos and p.startswith(bos))]
            if group:
                for p, row in zip(group, tok(group, add_special_tokens=special)["input_ids"], strict=True):
                    ids[p] = list(row)
        fitted = [fit_prompt(ids[p], max_tokens, self.context, tok.bos_token_id) for p in prompts]
        self.truncated_prompts += sum(len(f) < len(ids[p]) for f, p in zip(fitted, prompts, strict=True))
        return fitted

    def _fresh_seed(self) -> int:
        # Unseeded rows draw their seed from torch's global stream (torch.manual_seed still rules).
        return int(self._torch.randint(0, 2**62, ()).item())

    def _generate(self, chunk: Sequence[_Row], params: SamplingParams, stops: list[str]) -> list[Completion]:
        torch = self._torch
        tok = self.tokenizer
        with torch.inference_mode():
            enc = shared_prefill(torch, self.model, [row.ids for row in chunk], tok.pad_token_id, self.device)
        if enc is None:
            padded = tok.pad({"input_ids": [row.ids for row in chunk]}, return_tensors="pt")
            enc = {key: value.to(self.device) for key, value in padded.items()}
        width = enc["input_ids"].shape[1]
        recorder = ChosenLogprobs(torch) if self.logprobs else None
        processors: list[Any] = [] if recorder is None else [recorder]  # first: it sees the raw scores
        if params.temperature > 0:
            seeds = [row.seed for row in chunk]
            processors.append(RowSampler.seeded(torch, seeds, chunk[0].room, self.device, params.temperature,
                                                params.top_p))
        from transformers import LogitsProcessorList

        # Greedy over the sampler's one-token scores: generate's own sampler shares one random
        # stream between rows, which would make a row's draws depend on its neighbours.
        kwargs: dict[str, Any] = {
            "max_new_tokens": chunk[0].room,
            "do_sample": False, "temperature": None, "top_p": None, "top_k": None,
            "return_dict_in_generate": True,
            "output_logits": False,
            "output_scores": False,
            "pad_token_id": tok.pad_token_id,
            "eos_token_id": tok.eos_token_id,
            "logits_processor": LogitsProcessorList(processors),
        }
        if stops:  # stop early on the device; the text is still cut below
            kwargs.update(stop_strings=stops, tokenizer=tok)
        with torch.inference_mode():
            res = self.model.generate(**enc, **kwargs)
            generated = res.sequences[:, width:].cpu()
            per_token = None if recorder is None else recorder.finish(generated)
        return [
            self._completion(generated[j].tolist(), None if per_token is None else per_token[j], stops)
            for j in range(len(chunk))
        ]

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

