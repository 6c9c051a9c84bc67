"""A goal-level Rocq session over a sandboxed ``coqidetop``: one statement open, one tactic at a time.

Why coqidetop: its state ids make stepping back a cheap ``Edit_at``. coqidetop keeps one linear
history, though, so going to a state on another branch discards the current branch; a state is
therefore named by its tactic path and rebuilt by replaying the part of the path that differs.

Nothing here is trusted: a finished path becomes a proof file (``proof_text``) that only the
verifier pool may certify.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from prover.itp.base import GIB
from prover.itp.goals import Goal, Outcome, ProofState, TacticResult
from prover.itp.guard import mask_comments, scan
from prover.itp.rocq.coqide import Answer, CoqDied, CoqIdeTop, CoqTimeout, coqidetop_argv
from prover.itp.rocq.guard import RULES
from prover.itp.rocq.messages import error_of
from prover.itp.rocq.text import ROCQ_SYNTAX, split_sentences, theorem_of
from prover.itp.sandbox import resource_limits, sandboxed

# CoqHammer's `hammer` runs its helpers (predict, htimeout) and the ATPs by name: they must be on PATH
# inside the sandbox, which inherits the session's environment.
HAMMER_LIBEXEC = "/usr/libexec/coq-hammer"
# Tactics that are sound only because the kernel re-checks at Qed, or not allowed at all
# (native_compute rests on the native compiler, outside what the verifier accepts).
_BANNED_TACTICS = re.compile(
    r"(?<![\w'.])(?:native_compute|native_cast_no_check|vm_cast_no_check|exact_no_check|change_no_check)(?![\w'])"
)
_FIRST_WORD = re.compile(r"^\s*(?:(?:\d+(?:\s*,\s*\d+)*|all|par)\s*:\s*)?([A-Za-z_][\w']*)")
_REQUIRE = re.compile(r"^(?:From\s+[\w.]+\s+)?Require\s+(?:Import\s+|Export\s+)?[\w.]+(?:\s+[\w.]+)*\.$")
_TIMEOUT_MESSAGES = ("Timeout!", "Tactic timeout")
_REPLAY_TIMEOUT_S = 20.0


def refusal(tactic: str) -> str | None:
    """Why ``tactic`` may not be sent, or None: it must be exactly one tactic sentence, with no
    forbidden command in it."""
    sentences = split_sentences(tactic)
    if len(sentences) != 1:
        return "not exactly one sentence"
    text = sentences[0].text
    if not text.endswith("."):
        return "not a tactic sentence (a bullet or a brace)"
    found = scan(text, ROCQ_SYNTAX, RULES)
    if found:
        return f"forbidden: {found[0].text}"
    masked = mask_comments(text, ROCQ_SYNTAX, mask_strings=True)
    if _BANNED_TACTICS.search(masked):
        return "forbidden tactic"
    first = _FIRST_WORD.match(masked)
    # Vernacular commands are capitalised (Qed, Require, Definition, Timeout …); tactics are not.
    if first is None or first.group(1)[0].isupper():
        return "not a tactic"
    return None


def _text(node: ET.Element | None) -> str:
    return "" if node is None else " ".join("".join(node.itertext()).replace("\xa0", " ").split())


def _goal(node: ET.Element) -> Goal:
    children = list(node)
    hyps = children[1] if len(children) > 1 else None
    return Goal(
        tuple(_text(h) for h in (hyps if hyps is not None else [])),
        _text(children[2]) if len(children) > 2 else "",
    )


def parse_goals(answer: Answer) -> tuple[tuple[Goal, ...], int]:
    """The focused goals and the number of other unfinished ones (unfocused, shelved) in the answer
    to a ``Goal`` call; ``((), 0)`` when no proof is open."""
    goals = answer.value.find("option/goals")
    if goals is None:
        return (), 0
    lists = [child for child in goals if child.tag == "list"]
    focused = tuple(_goal(g) for g in lists[0].findall("goal")) if lists else ()
    # Background goals come as pairs of goal lists; shelved goals as a plain list. Given-up goals
    # (the 4th list) would need `admit`, which the guard refuses anyway, but still count as open.
    others = sum(len(lst.findall(".//goal")) for lst in lists[1:])
    return focused, others


class RocqGoalSession:
    """One statement open in a sandboxed coqidetop. ``extra_imports`` are additional ``Require``
    sentences put right before the theorem (libraries that tactics need: Lia, Lra, Psatz …);
    ``preamble`` are proof sentences (bullets and braces included) run right after ``Proof.``, so that
    the root is a point inside an existing proof (tool correction starts at a failing step)."""

    def __init__(
        self,
        statement: str,
        extra_imports: Sequence[str] = (),
        memory_bytes: int = 3 * GIB,
        sandbox: bool = True,
        workdir: Path | None = None,
        load_timeout_s: float = 120.0,
        preamble: Sequence[str] = (),
        theorem: str | None = None,
    ) -> None:
        sentences = split_sentences(statement)
        theorems = [
            i
            for i, s in enumerate(sentences)
            if (target := theorem_of(s)) is not None and theorem in (None, target.name)
        ]
        if theorem is not None:  # the named one; lemmas before it (with their proofs) run as they are
            theorems = theorems[-1:]
        if len(theorems) != 1:
            raise ValueError(
                f"the statement must state exactly one theorem{f' named {theorem}' * bool(theorem)}"
            )
        for extra in extra_imports:
            if not _REQUIRE.match(extra.strip()) or scan(extra, ROCQ_SYNTAX, RULES):
                raise ValueError(f"not a plain Require sentence: {extra!r}")
        opened = sentences[: theorems[0] + 1]  # what runs: the rest (Proof. Admitted.) is dropped
        for sentence in [*opened, *(s for p in preamble for s in split_sentences(p))]:
            found = scan(sentence.text, ROCQ_SYNTAX, RULES)
            if found:
                raise ValueError(f"forbidden in the statement or preamble: {found[0].text}")
        self.preamble = [s.text for p in preamble for s in split_sentences(p)]
        self.prefix = [s.text for s in sentences[: theorems[0]]]
        self.theorem = sentences[theorems[0]].text
        self.extra_imports = [e.strip() for e in extra_imports]
        self.memory_bytes = memory_bytes
        self.sandbox = sandbox
        self.load_timeout_s = load_timeout_s
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="prover-goals-"))
        self.restarts = 0
        self._ide: CoqIdeTop | None = None
        self._root: ProofState | None = None
        self._chain: list[tuple[str, int]] = []  # the path coqidetop's history holds now
        self._start()

    # -- process -----------------------------------------------------------------------------------

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = coqidetop_argv()
        if self.sandbox:
            argv = sandboxed(argv, self.workdir)
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([HAMMER_LIBEXEC, env.get("PATH", "/usr/bin:/bin")])
        self._ide = CoqIdeTop(
            argv, cwd=str(self.workdir), env=env, preexec=resource_limits(self.memory_bytes)
        )
        deadline = time.monotonic() + self.load_timeout_s
        try:
            tip = self._ide.init(deadline)
            for sentence in [*self.prefix, *self.extra_imports, self.theorem, "Proof.", *self.preamble]:
                ok, tip, answer = self._exec(sentence, tip, deadline)
                if not ok:
                    raise RuntimeError(f"{sentence!r} fails: {error_of(answer).text}")
        except (CoqTimeout, CoqDied) as exc:
            self.close()
            raise RuntimeError(f"coqidetop did not open the statement: {exc!r}") from exc
        except RuntimeError:
            self.close()
            raise
        goals, others = parse_goals(answer)
        self._root = ProofState(tip, goals, (), others)
        self._chain = []

    def _restart(self) -> None:
        self.close()
        self.restarts += 1
        self._start()

    def alive(self) -> bool:
        return self._ide is not None and self._ide.alive()

    def close(self) -> None:
        if self._ide is not None:
            self._ide.kill()
            self._ide = None

    @property
    def root(self) -> ProofState:
        assert self._root is not None
        return self._root

    # -- coqidetop calls ---------------------------------------------------------------------------

    def _exec(self, text: str, state_id: int, deadline: float) -> tuple[bool, int, Answer]:
        """Run one sentence on ``state_id``: (ran, new tip, the Goal answer or the error answer).
        On an error the history is rolled back to ``state_id``."""
        assert self._ide is not None
        added = self._ide.add(text, state_id, deadline)
        ran = self._ide.goals(deadline) if added.good else added
        if not ran.good or added.state_id is None:
            back = self._ide.edit_at(state_id, deadline)
            if not back.good:
                raise CoqDied(f"cannot roll back: {back.error}")
            return False, state_id, ran
        return True, added.state_id, ran

    def _goto(self, tactics: Sequence[str], deadline: float) -> int | None:
        """Put coqidetop's tip at the state after ``tactics``, replaying what differs from the path
        it holds now; None if the replay fails (a tactic that no longer runs in time)."""
        assert self._ide is not None and self._root is not None
        common = 0
        while common < min(len(tactics), len(self._chain)) and self._chain[common][0] == tactics[common]:
            common += 1
        tip = self._chain[common - 1][1] if common else self._root.id
        if common < len(self._chain):
            answer = self._ide.edit_at(tip, deadline)
            if not answer.good:
                raise CoqDied(f"cannot go back: {answer.error}")
            del self._chain[common:]
        for tactic in tactics[common:]:
            limit = max(1, math.ceil(min(_REPLAY_TIMEOUT_S, deadline - time.monotonic())))
            ok, tip, _ = self._exec(f"Timeout {limit} {tactic}", tip, deadline)
            if not ok:
                return None
            self._chain.append((tactic, tip))
        return tip

    # -- the goal-level interface ------------------------------------------------------------------

    def step(self, state: ProofState, tactic: str, timeout_s: float) -> TacticResult:
        started = time.monotonic()
        tactic = " ".join(tactic.split())
        why = refusal(tactic)
        if why is not None:
            return TacticResult(Outcome.REFUSED, tactic, error=why)
        try:
            if not self.alive():
                self._restart()
            tip = self._goto(state.tactics, started + _REPLAY_TIMEOUT_S * (1 + len(state.tactics)))
            if tip is None:
                return TacticResult(Outcome.ERROR, tactic, error="cannot rebuild the state", time_s=0.0)
            limit = max(1, math.ceil(timeout_s))
            ok, new, answer = self._exec(f"Timeout {limit} {tactic}", tip, time.monotonic() + limit + 5)
        except CoqTimeout:
            self.close()  # unknown state: the next step restarts the process
            return TacticResult(Outcome.TIMEOUT, tactic, error="killed", time_s=time.monotonic() - started)
        except (CoqDied, RuntimeError) as exc:
            self.close()
            return TacticResult(Outcome.ERROR, tactic, error=f"session died: {exc}")
        spent = time.monotonic() - started
        if not ok:
            text = error_of(answer).text
            if any(m in text for m in _TIMEOUT_MESSAGES):
                return TacticResult(Outcome.TIMEOUT, tactic, error=text, time_s=spent)
            if "Out of memory" in text or "Stack overflow" in text:
                self.close()  # the process may be degraded
            return TacticResult(Outcome.ERROR, tactic, error=text, time_s=spent)
        self._chain.append((tactic, new))
        goals, others = parse_goals(answer)
        return TacticResult(
            Outcome.OK, tactic, ProofState(new, goals, (*state.tactics, tactic), others), time_s=spent
        )

    def proof_text(self, tactics: Sequence[str]) -> str:
        lines = [*self.prefix, *self.extra_imports, "", self.theorem, "Proof."]
        lines += [f"  {t}" for t in [*self.preamble, *tactics]]
        return "\n".join([*lines, "Qed."]) + "\n"

    def __enter__(self) -> RocqGoalSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
