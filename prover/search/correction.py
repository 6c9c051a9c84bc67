"""Tool correction (the Lyra paper): repair a failing proof at the step where it fails.

A proof whose only fault is a wrong automation step (``lia`` where ``nia`` is needed, ``ring`` on a
field goal, ``auto`` that does not close the goal) is repaired without asking a model again: the
checker's error position says which sentence failed; a goal session replays the proof up to it; the
portfolio engine searches from the goals at that point until the *focused* goals are closed; the
found tactics replace the failing sentence and the rest of its branch (up to the next bullet of the
same or an outer level, the closing brace, or ``Qed``); and the spliced proof goes back to the
verifier pool. When the error is at a bullet, a brace or ``Qed`` (the step before left goals open),
the found tactics are inserted there instead. A later failure in another branch is repaired the same
way, up to ``max_rounds``.

Every round is recorded (``Repair``), so the pairs (failing proof, repaired proof) can become
training data. Nothing here trusts itself: only a pool verdict on the whole spliced file counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from prover.itp.base import CheckRequest, Reason, Verdict
from prover.itp.goals import GoalSession
from prover.itp.guard import line_col
from prover.itp.rocq.text import Sentence, split_sentences, theorem_of
from prover.search.portfolio import SearchConfig, search
from prover.search.result import Attempt

# Opens a goal session on ``statement`` (header, helper lemmas and the theorem) with ``preamble``
# (the proof's sentences before the failing one, bullets included) already run after ``Proof.``.
OpenAt = Callable[[str, Sequence[str]], GoalSession]
Check = Callable[[CheckRequest], Verdict]

_BULLET_CHARS = "-+*"
_PROOF_END = ("Qed.", "Defined.")


@dataclass
class Repair:
    """One round: which sentence failed, what replaced it (and the rest of its branch)."""

    line: int  # 1-based line of the failing sentence in the proof it was found in
    failing: str  # the failing sentence
    error: str  # what the checker said
    removed: list[str]  # the failing sentence and the rest of its branch
    replacement: list[str]  # what the portfolio found (empty when it found nothing)
    time_s: float

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "time_s": round(self.time_s, 3)}


@dataclass
class Correction:
    repaired: bool  # true only when the verifier pool verified ``proof``
    proof: str  # the repaired proof, or the input when nothing verified
    verdict: Verdict  # the pool's verdict on ``proof``
    repairs: list[Repair] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    time_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "repaired": self.repaired,
            "proof": self.proof,
            "verdict": self.verdict.to_json(),
            "repairs": [r.to_json() for r in self.repairs],
            "attempts": len(self.attempts),
            "time_s": round(self.time_s, 3),
        }


@dataclass(frozen=True)
class _Body:
    """The target theorem's proof inside a proof file."""

    before: list[Sentence]  # header, helper lemmas, the theorem sentence itself
    opening: str  # ``Proof.`` (or ``Proof with …``), kept as written
    steps: list[Sentence]  # between ``Proof.`` and ``Qed.``
    after: list[Sentence]  # ``Qed.`` and whatever follows


def _body(proof: str, name: str) -> _Body | None:
    sentences = split_sentences(proof)
    for i, sentence in enumerate(sentences):
        target = theorem_of(sentence)
        if target is None or target.name != name:
            continue
        start, opening = i + 1, "Proof."
        if start < len(sentences) and sentences[start].text.startswith("Proof"):
            start, opening = start + 1, sentences[start].text
        end = next((j for j in range(start, len(sentences)) if sentences[j].text in _PROOF_END), None)
        if end is None:
            return None
        return _Body(sentences[: i + 1], opening, sentences[start:end], sentences[end:])
    return None


def _failing_index(body: _Body, proof: str, verdict: Verdict) -> int | None:
    """The index in ``body.steps`` of the sentence the checker's error points into."""
    for message in reversed(verdict.messages):
        if message.severity != "error" or message.line is None:
            continue
        offset = _offset(proof, message.line, message.column or 0)
        for k, step in enumerate(body.steps):
            if step.start <= offset < step.start + max(1, len(step.text)):
                return k
        if body.after and offset >= body.after[0].start and body.steps:
            return len(body.steps)  # the error is at Qed: goals were left open
    return None


def _offset(text: str, line: int, column: int) -> int:
    lines = text.splitlines(keepends=True)
    return sum(len(x) for x in lines[: line - 1]) + column


def _bullet_level(text: str) -> str | None:
    return text if text and all(c == text[0] for c in text) and text[0] in _BULLET_CHARS else None


def branch_end(steps: Sequence[Sentence], k: int) -> int:
    """The index just past the branch that step ``k`` belongs to: the next bullet of the same or an
    enclosing level, or the ``}`` closing the enclosing brace, or the end of the proof."""
    # Bullets open before k, innermost last, with the brace depth they were opened at.
    open_bullets: list[tuple[str, int]] = []
    depth = 0
    for step in steps[:k]:
        text = step.text
        if text.endswith("{"):
            depth += 1
        elif text == "}":
            open_bullets = [b for b in open_bullets if b[1] < depth]
            depth -= 1
        elif (level := _bullet_level(text)) is not None:
            if (level, depth) in open_bullets:  # a sibling: the bullets opened inside it are done
                while open_bullets[-1] != (level, depth):
                    open_bullets.pop()
            else:  # a new, inner level
                open_bullets.append((level, depth))
    levels = {level for level, at in open_bullets if at == depth}
    inner = 0
    for j in range(k + 1, len(steps)):
        text = steps[j].text
        if text.endswith("{"):
            inner += 1
        elif text == "}":
            if inner == 0:
                return j
            inner -= 1
        elif inner == 0 and (level := _bullet_level(text)) is not None and level in levels:
            return j
    return len(steps)


def correct(
    proof: str,
    statement: str,
    name: str,
    check: Check,
    open_at: OpenAt,
    budget_s: float = 30.0,
    max_rounds: int = 3,
    first: Verdict | None = None,
) -> Correction:
    """Repair ``proof`` of the theorem ``name`` of ``statement`` by portfolio search at the failing
    steps; ``check`` is the verifier pool. ``first``: the pool's verdict on ``proof`` when the
    caller has it already (it is not checked again)."""
    started = time.monotonic()
    verdict = first if first is not None else check(CheckRequest(proof, statement))
    result = Correction(verdict.verified, proof, verdict)
    current = proof
    for _ in range(max_rounds):
        if verdict.verified or verdict.reason is not Reason.ERROR:
            break  # only a failing step can be repaired; a cheat or a mismatch is not a tool problem
        left = budget_s - (time.monotonic() - started)
        if left <= 1:
            break
        repair, spliced = _repair_once(current, statement, name, verdict, open_at, left, result)
        if repair is None:
            break
        result.repairs.append(repair)
        if spliced is None:
            break
        current = spliced
        verdict = check(CheckRequest(current, statement))
        if verdict.verified:
            result.repaired, result.proof, result.verdict = True, current, verdict
    result.time_s = time.monotonic() - started
    return result


def _repair_once(
    proof: str,
    statement: str,
    name: str,
    verdict: Verdict,
    open_at: OpenAt,
    budget_s: float,
    result: Correction,
) -> tuple[Repair | None, str | None]:
    body = _body(proof, name)
    if body is None:
        return None, None
    k = _failing_index(body, proof, verdict)
    if k is None:
        return None, None
    started = time.monotonic()
    failing = body.steps[k] if k < len(body.steps) else body.after[0]
    # An error at a bullet, a brace or Qed means the step before left goals open (an `auto` that did
    # not close its goal): the search closes them right there and nothing is removed.
    structural = k == len(body.steps) or _bullet_level(failing.text) is not None or failing.text in "{}"
    end = k if structural else branch_end(body.steps, k)
    error = next((m.text for m in reversed(verdict.messages) if m.severity == "error"), "")
    line = line_col(proof, failing.start)[0]
    removed = [s.text for s in body.steps[k:end]]
    prefix = "\n".join(s.text for s in body.before)
    preamble = [s.text for s in body.steps[:k]]
    try:
        session = open_at(prefix, preamble)
    except (RuntimeError, ValueError) as exc:  # the proof before the failing step does not replay
        why = f"{error} (and the steps before it do not replay: {exc})"
        return Repair(line, failing.text, why, removed, [], time.monotonic() - started), None
    try:
        found = search(
            session,
            statement,
            name,
            SearchConfig(budget_s=budget_s, focus_only=True),
            None,  # the spliced whole file is certified by the caller, not the fragment
        )
    finally:
        session.close()
    result.attempts.extend(found.attempts)
    replacement = found.tactics if found.proved else []  # the session's root is after the preamble
    repair = Repair(line, failing.text, error, removed, replacement, time.monotonic() - started)
    if not found.proved:
        return repair, None
    rest = [s.text for s in body.steps[end:]]
    before = [s.text for s in body.before]
    return repair, _layout(
        before, body.opening, [*preamble, *replacement, *rest], [s.text for s in body.after]
    )


def _layout(before: Sequence[str], opening: str, body: Sequence[str], after: Sequence[str]) -> str:
    """One sentence a line, the proof body indented and each bullet on the line of its first tactic:
    a machine-made proof that a person may still want to read."""
    lines = [*before, opening]
    pending = ""
    for sentence in body:
        if _bullet_level(sentence) is not None or sentence.endswith("{"):
            pending += sentence + " "
            continue
        lines.append(f"  {pending}{sentence}")
        pending = ""
    if pending:
        lines.append(f"  {pending.rstrip()}")
    return "\n".join([*lines, *after]) + "\n"
