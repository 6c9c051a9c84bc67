"""Per-row sampling for the transformers backend, so that one ``model.generate`` batch can hold
requests with different seeds and still give each row the draws it would get alone.

``generate``'s own sampler draws every row from one global random stream: a row's tokens then depend
on which rows come before it. ``RowSampler`` instead takes each row's uniform numbers from that row's
own ``torch.Generator`` and picks the token by the inverse of the row's top-p distribution, all rows
at once on the model's device; ``generate`` runs greedy and
takes the one token left.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any


def row_seed(seed: int, prompt: str, sample: int) -> int:
    """The seed of sample ``sample`` of ``prompt`` in a request seeded ``seed``: independent streams
    for different prompts and samples, the same stream wherever the row sits in a batch."""
    digest = hashlib.sha256(f"{seed}\0{sample}\0{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2**63)


class RowSampler:
    """A logits processor that samples each row from softmax(scores / temperature) cut to its top-p
    mass (the smallest set of most likely tokens holding ``top_p``; top-k off, as in vLLM and the
    OpenAI API) and returns scores that leave only that token. Row i's step t uses ``draws[i, t]``,
    the t-th uniform number of row i's own generator, drawn up front (one call per row, not one per
    row and step)."""

    def __init__(self, torch: Any, draws: Any, temperature: float, top_p: float) -> None:
        self._torch = torch
        self.draws = draws  # (rows × steps) uniforms in [0, 1), on the model's device
        self.temperature = temperature
        self.top_p = top_p
        self.step = 0

    @classmethod
    def seeded(cls, torch: Any, seeds: list[int], steps: int, device: Any, temperature: float,
               top_p: float) -> RowSampler:
        """One stream per row; the generators are on the CPU, so a row's numbers are the same on
        every device."""
        rows = [torch.rand(steps, generator=torch.Generator().manual_seed(seed)) for seed in seeds]
        return cls(torch, torch.stack(rows).to(device), temperature, top_p)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        torch = self._torch
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        order = None
        if self.top_p < 1.0:
            # Keep a token while the mass before it is under top_p (the most likely always stays).
            probs, order = torch.sort(probs, dim=-1, descending=True)
            before = torch.cumsum(probs, dim=-1) - probs
            probs = probs.masked_fill(before >= self.top_p, 0.0)
        cdf = torch.cumsum(probs, dim=-1)
        target = (self.draws[:, self.step] * cdf[:, -1]).unsqueeze(1)
        self.step += 1
        # The first token whose cumulative mass passes the draw (never a zero-mass one).
        pick = torch.searchsorted(cdf, target, right=True).clamp_(max=cdf.shape[1] - 1)
        chosen = pick if order is None else order.gather(1, pick)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(1, chosen, 0.0)


def shared_prefill(
    torch: Any, model: Any, rows: list[list[int]], pad: int, device: Any
) -> dict[str, Any] | None:
    """``generate``'s inputs for ``rows`` with the prompts' keys and values computed once per distinct
    prompt and copied to each row that repeats it (a request's n samples share one prompt: vLLM's
    prefix caching does the same). None when no prompt repeats (then ``generate`` prefills itself).

    The last prompt token is left out of the cache so that ``generate`` starts by running it, as it
    would after its own prefill; left padding keeps that column a real token in every row."""
    distinct = list(dict.fromkeys(tuple(r) for r in rows))
    width = max(len(d) for d in distinct)
    if len(distinct) == len(rows) or width < 2:
        return None
    ids = torch.tensor([[pad] * (width - len(d)) + list(d) for d in distinct], device=device)
    mask = torch.tensor([[0] * (width - len(d)) + [1] * len(d) for d in distinct], device=device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions[:, :-1],
                use_cache=True)
    index = torch.tensor([distinct.index(tuple(r)) for r in rows], device=device)
    # Newer transformers name the cache ``cache`` (``past_key_values`` is deprecated there).
    name = "cache" if "cache" in inspect.signature(type(model).forward).parameters else "past_key_values"
    cache = getattr(out, name)
    cache.batch_select_indices(index)
    return {"input_ids": ids[index], "attention_mask": mask[index], name: cache}
