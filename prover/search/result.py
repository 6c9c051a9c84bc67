"""What a search returns: whether it proved the statement, the proof, and every step it tried."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Attempt:
    """One tactic tried on one state."""

    depth: int  # how many tactics led to the state it ran on
    tactic: str
    rule: str  # the table row that proposed it
    outcome: str  # ok | error | timeout | refused | duplicate | closed
    time_s: float
    goals_after: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "time_s": round(self.time_s, 3)}


@dataclass(frozen=True)
class Step:
    """One ranked step of a proof the search found: the state as the policy reads it
    (``policy.state_prompt``), the tactic taken there and the rule that proposed it."""

    state: str
    tactic: str
    rule: str
    candidates: tuple[tuple[str, str], ...] = ()  # (rule, tactic) of every candidate the state offered
    tried: tuple[tuple[str, str, float], ...] = ()  # (tactic, outcome, seconds) of those the search ran


@dataclass
class SearchResult:
    name: str
    proved: bool = False  # true only when the verifier pool certified ``proof``
    proof: str | None = None
    tactics: list[str] = field(default_factory=list)
    technique: str | None = None  # the rule that closed the last goal
    rules: list[str] = field(default_factory=list)  # the rules along the proof's path
    attempts: list[Attempt] = field(default_factory=list)
    time_s: float = 0.0
    verify_time_s: float = 0.0
    rejected: list[str] = field(default_factory=list)  # pool reasons for candidate proofs it refused
    error: str | None = None  # the statement could not be opened, …
    partial: list[str] = field(default_factory=list)  # tactics of the best unfinished state
    goals_left: int | None = None  # how many goals that state leaves
    steps: list[Step] = field(default_factory=list)  # the proof's ranked steps (training data)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "proved": self.proved,
            "technique": self.technique,
            "rules": self.rules,
            "tactics": self.tactics,
            "proof": self.proof,
            "time_s": round(self.time_s, 3),
            "verify_time_s": round(self.verify_time_s, 3),
            "rejected": self.rejected,
            "error": self.error,
            "partial": self.partial,
            "goals_left": self.goals_left,
            "steps": [asdict(step) for step in self.steps],
            "attempts": [a.to_json() for a in self.attempts],
        }
