"""Goal-level interaction with a proof assistant: the interface a proof search talks to.

The verifier pool checks whole files; a search instead needs to run one tactic at a time, see the
goals it leaves, and go back to an earlier state. Nothing a goal session reports is trusted: a
finished tactic sequence becomes a proof file (``proof_text``) that only the verifier pool certifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class Goal:
    """One open goal as the proof assistant prints it."""

    hypotheses: tuple[str, ...]  # e.g. "x, y : R", "h : x = 1"
    conclusion: str

    def text(self) -> str:
        return "\n".join([*self.hypotheses, "====", self.conclusion])


@dataclass(frozen=True)
class ProofState:
    """A point in a proof: the tactics that led here from the opened statement, and what is left.

    ``tactics`` identifies the state (a session can always rebuild it by replaying them); ``id`` is
    the proof assistant's own handle for it, which may go stale once the session moves elsewhere."""

    id: int
    goals: tuple[Goal, ...]
    tactics: tuple[str, ...] = ()
    shelved: int = 0  # goals put aside (evars from `eexists` …): they too must be closed

    @property
    def finished(self) -> bool:
        return not self.goals and not self.shelved

    def fingerprint(self) -> str:
        """Equal for states with the same goals, so a search can skip states it has seen."""
        return "\n\n".join(g.text() for g in self.goals) + f"\n#shelved={self.shelved}"


class Outcome(StrEnum):
    OK = "ok"  # the tactic ran; ``state`` is where it led
    ERROR = "error"  # the proof assistant rejected it; the session is still where it was
    TIMEOUT = "timeout"  # it ran past its limit (the session may have been restarted)
    REFUSED = "refused"  # not a single, allowed tactic sentence: never sent to the proof assistant


@dataclass
class TacticResult:
    outcome: Outcome
    tactic: str
    state: ProofState | None = None  # the new state, when ``outcome`` is OK
    error: str = ""
    time_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


class GoalSession(Protocol):
    """One live proof-assistant process with one statement open."""

    @property
    def root(self) -> ProofState:
        """The state right after ``Proof.``."""
        ...

    def step(self, state: ProofState, tactic: str, timeout_s: float) -> TacticResult:
        """Run ``tactic`` on ``state`` (going back to it first if the session is elsewhere).
        Never raises for a bad tactic; a timeout may restart the process."""
        ...

    def proof_text(self, tactics: Sequence[str]) -> str:
        """The complete proof file for ``tactics`` (to be certified by the verifier pool)."""
        ...

    def close(self) -> None: ...
