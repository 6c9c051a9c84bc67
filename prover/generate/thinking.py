"""The answer after a thinking section, for models that reason in ``<think>…</think>`` first
(Goedel-Prover-V2 and Kimina-Prover on Qwen templates, DeepSeek-R1-style templates).

Code blocks inside the thinking section are drafts: the proof is the code after ``</think>``, so the
extractor is given only that part. An answer cut off inside the thinking section with no complete
code block anywhere (the usual end of a generation that ran out of ``max_tokens`` while thinking) is
``truncated``: there is nothing to verify, and sending the drafts to the verifier would count a
budget problem as a failed proof.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPEN, CLOSE = "<think>", "</think>"
TRUNCATED_THINKING = "cut off inside <think> before any code: nothing to verify (raise --max-tokens)"
_CLOSED_FENCE = re.compile(r"```[^\n`]*\n.*?```", re.DOTALL)


@dataclass(frozen=True)
class Thought:
    """``answer``: what the extractor should read; ``thinking``: the thinking section's text (empty
    without one); ``truncated``: cut off while thinking, with no code to take."""

    answer: str
    thinking: str
    truncated: bool


def split_thinking(text: str, opened: bool = False) -> Thought:
    """Split ``text`` (the whole answer: the prompt's prefill plus the completion) at its thinking
    section. ``opened``: the prompt itself ended inside a thinking section (templates whose generation
    prompt ends in ``<think>\\n``), so the answer starts there without an opening tag."""
    close = text.rfind(CLOSE)
    if close >= 0:
        start = text.find(OPEN)
        thought = text[start + len(OPEN) if 0 <= start < close else 0: close]
        return Thought(text[close + len(CLOSE):].lstrip("\n"), thought.strip(), False)
    start = text.find(OPEN)
    if start < 0 and not opened:
        return Thought(text, "", False)  # no thinking section at all: the answer as it is
    thought = text[start + len(OPEN):] if start >= 0 else text
    if _CLOSED_FENCE.search(thought):
        # Cut off while thinking but after a complete code block: the last one is the model's best
        # attempt so far, and the verifier decides whether it is a proof.
        return Thought(thought, thought.strip(), False)
    return Thought("", thought.strip(), True)
