"""The small interface every proof assistant backend implements.

A ``Backend`` knows a language's rules (how to split a file into header and body, which commands are
forbidden); a ``Session`` is one live proof-assistant process with a header loaded. The verifier pool
(``prover.verify.pool``) only ever talks to these two protocols, so adding a proof assistant means adding one
module under ``prover/itp/``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

GIB = 1024**3


class BackendUnavailable(RuntimeError):
    """The proof assistant is not installed here; the message says what is missing and how to install it."""


@dataclass(frozen=True)
class Message:
    """One message from the proof assistant (or from the guard), positioned in the candidate text."""

    severity: str  # "error" | "warning" | "info"
    text: str
    line: int | None = None  # 1-based line in the candidate proof text, when known
    column: int | None = None  # 0-based column, when known

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CheckRequest:
    """What to check. ``proof`` is untrusted; ``statement`` (when given) is the trusted target."""

    proof: str
    statement: str | None = None


class Reason(StrEnum):
    """Why a check did not verify: the same few stable codes for every backend, so researchers can
    aggregate failures across proof assistants. The specifics go in ``Verdict.detail``."""

    ERROR = "error"  # the proof assistant reported an error
    INCOMPLETE = "incomplete"  # a proof is left open or a theorem is missing
    FORBIDDEN = "forbidden"  # the text uses a command the soundness guard rejects
    AXIOMS = "axioms"  # the theorem depends on an axiom outside the allow-list
    STATEMENT_MISMATCH = "statement_mismatch"  # the proved theorem is not the target statement
    BAD_STATEMENT = "bad_statement"  # the target statement itself does not elaborate
    TIMEOUT = "timeout"  # the check ran past its time limit
    MEMORY = "memory"  # the proof assistant ran out of its memory limit
    CRASH = "crash"  # the proof assistant process died or answered something unreadable
    UNAVAILABLE = "unavailable"  # the proof assistant is not installed here
    BAD_INPUT = "bad_input"  # the request itself is malformed (missing file, bad JSON line)


# Outcomes that say something about the machine (load, limits, installation), not about the text:
# never cached.
TRANSIENT = frozenset({Reason.TIMEOUT, Reason.MEMORY, Reason.CRASH, Reason.UNAVAILABLE})


def as_reason(value: Reason | str) -> tuple[Reason, str | None]:
    """A reason code and the detail that may follow it (``"forbidden: sorry"``); raises ``ValueError``
    for a code outside ``Reason``."""
    code, _, detail = str(value).partition(":")
    return Reason(code.strip()), (detail.strip() or None)


@dataclass
class Verdict:
    """The outcome of one check. ``verified`` is true only when every soundness rule held."""

    verified: bool
    reason: Reason | None  # None exactly when verified
    messages: list[Message] = field(default_factory=list)
    time_s: float = 0.0
    axioms: list[str] = field(default_factory=list)  # axioms the checked theorems depend on
    cached: bool = False  # served from the verdict cache rather than checked again
    detail: str | None = None  # one line on what exactly went wrong, when a backend knows

    def __post_init__(self) -> None:
        if self.reason is not None:  # "code: detail" strings are split into the two fields
            self.reason, detail = as_reason(self.reason)
            self.detail = self.detail or detail

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "reason": None if self.reason is None else str(self.reason),
            "detail": self.detail,
            "time_s": round(self.time_s, 4),
            "messages": [m.to_json() for m in self.messages],
            "axioms": self.axioms,
            "cached": self.cached,
        }


@dataclass
class StaticVerdict:
    """The outcome of the checks that need no proof assistant (text guard, statement shape).

    ``passed`` means nothing static was found; only a full check can say a proof is verified."""

    passed: bool
    reason: Reason | None = None  # None exactly when passed
    messages: list[Message] = field(default_factory=list)
    detail: str | None = None

    def __post_init__(self) -> None:
        if self.reason is not None:
            self.reason, detail = as_reason(self.reason)
            self.detail = self.detail or detail

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": None,
            "static": "pass" if self.passed else "refused",
            "reason": None if self.reason is None else str(self.reason),
            "detail": self.detail,
            "messages": [m.to_json() for m in self.messages],
        }


@dataclass(frozen=True)
class Limits:
    """Resource limits applied to every session process. A memory figure left at None means the
    backend's own default (``Backend.limits_for`` fills it in): Coq lives within 4 GiB, Lean with
    Mathlib needs 12, so one generic number would be wrong for one of them."""

    timeout_s: float = 60.0
    memory_bytes: int | None = None  # RLIMIT_AS per process
    max_checks_per_session: int = 200  # recycle a process after this many checks
    max_rss_bytes: int | None = None  # recycle a process whose resident memory grew past this

    def with_defaults(self, memory_bytes: int, max_rss_bytes: int) -> Limits:
        """These limits with a backend's defaults wherever the caller chose nothing."""
        return replace(
            self,
            memory_bytes=memory_bytes if self.memory_bytes is None else self.memory_bytes,
            max_rss_bytes=max_rss_bytes if self.max_rss_bytes is None else self.max_rss_bytes,
        )


@dataclass(frozen=True)
class Availability:
    usable: bool
    detail: str  # version string when usable, else what is missing and how to install it


class Session(Protocol):
    """One live proof-assistant process with a header loaded once."""

    header_key: str  # the header of the last check it ran (the pool routes matching jobs to it)

    def accepts(self, header_key: str) -> bool:
        """Whether a job with ``header_key`` can run here without starting a new process."""
        ...

    def check(self, request: CheckRequest, timeout_s: float) -> Verdict:
        """Check one request. Must enforce ``timeout_s`` itself (kill on overrun) and never raise for
        a bad proof; raising means the session is broken and the pool will restart it."""
        ...

    def alive(self) -> bool: ...

    def rss_bytes(self) -> int: ...

    def close(self) -> None:
        """Kill the process group this session started; idempotent."""
        ...


class Backend(Protocol):
    """A proof assistant: its language rules and how to start sessions for it."""

    name: str

    def availability(self) -> Availability: ...

    def identity(self) -> str:
        """The proof assistant's version and every setting that can change a verdict (allow-lists,
        sandbox, extra arguments, …): verdicts are cached under it."""
        ...

    def limits_for(self, limits: Limits) -> Limits:
        """The limits its sessions really run under: a backend may raise generic defaults it cannot
        live with (Lean with Mathlib needs far more than 4 GiB). The pool recycles by these."""
        ...

    def header_key(self, request: CheckRequest) -> str:
        """The header under which ``request`` must run; requests with equal keys share sessions.
        Raises ``ValueError`` with a one-line message for input it cannot split."""
        ...

    def static_check(self, request: CheckRequest) -> StaticVerdict:
        """Every text-level and statement-level rule that needs no proof-assistant process (the same
        rules a full check applies first); never raises for bad input."""
        ...

    def open_session(self, header_key: str, workdir: Path, limits: Limits) -> Session:
        """Start a process with the header loaded. Raises ``BackendUnavailable`` when the proof
        assistant is not installed, ``RuntimeError`` when the header itself fails."""
        ...
