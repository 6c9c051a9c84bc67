"""The plain dataclasses that cross the store's boundary, and their conversion to and from table rows.

A ``*Row`` is both what the store returns and (with ``id`` and the other store-filled fields left at
their defaults) what its ``add_*`` methods take; ``ProofRow`` is only ever returned, because a proof
row can only come from a verifier verdict (``Store.add_proof``). Every ``*_record`` function checks
its row and raises a one-line ``ValueError`` for a value the store would not want to keep.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prover.itp import BACKEND_NAMES

LANGUAGES = BACKEND_NAMES
SPLITS = ("train", "heldout", "conjecture")
ROLES = ("prover", "conjecturer", "corrector")
GENERATORS = ("model", "symbolic")
CORRECTION_METHODS = ("tool", "model")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not JSON-serializable: {exc}") from None


def from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _choice(value: str, allowed: Iterable[str], what: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _text(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string")
    return value


def _str(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    return value


def nonnegative(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, not {value!r}")
    return value


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


@dataclass(frozen=True, kw_only=True)
class ProblemRow:
    """A problem: from a data set (depth 0, no parent) or a conjecture's statement (its seed's depth
    + 1, the seed as parent). ``statement`` is the trusted statement file, as ``CheckRequest.statement``
    takes it; ``header`` the imports/opens it starts with, kept apart for prompts."""

    name: str
    statement: str
    source: str  # "rocq-seeds", "conjecture", …
    split: str  # one of SPLITS
    language: str  # one of LANGUAGES
    header: str = ""
    informal: str | None = None
    depth: int = 0
    parent_id: int | None = None
    id: int | None = None  # filled in by the store
    statement_hash: str = ""  # filled in by the store
    created_at: str = ""  # filled in by the store


@dataclass(frozen=True, kw_only=True)
class ConjectureRow:
    """A conjectured statement derived from the seed problem ``seed_id``. Adding one also adds its own
    problem row (split "conjecture"); ``name``, ``header``, ``statement`` and ``informal`` live there,
    and default to a name derived from the seed and to the seed's header."""

    seed_id: int
    statement: str
    generator: str  # one of GENERATORS
    round: int
    lemma: str | None = None
    kind: str | None = None  # the mutation kind, for symbolic conjectures
    name: str | None = None
    header: str | None = None
    informal: str | None = None
    kept: bool | None = None  # None until filtered
    filter_reason: str | None = None  # "trivial", "inconsistent", "duplicate", … when not kept
    id: int | None = None  # filled in by the store
    problem_id: int | None = None  # filled in by the store
    created_at: str = ""


@dataclass(frozen=True, kw_only=True)
class AttemptRow:
    """One sample of one role on one problem in one round. (round, role, problem_id, engine, sample)
    identifies it, so recording it again after a resume changes nothing. ``verified`` is what the
    verifier said of ``text``; it feeds pass rates, never the proofs table."""

    round: int
    role: str  # one of ROLES
    problem_id: int
    engine: str  # "model", "hybrid", "portfolio", …
    sample: int  # index within the run
    kind: str  # "prover", "corrector", "tool_correction", …
    text: str  # the completion or candidate that was checked
    verified: bool
    model: str | None = None
    revision_of: int | None = None  # the attempt this one revises
    prompt: str | None = None
    candidate: str | None = None
    reason: str | None = None  # why it did not verify (a Reason code or the loop's own)
    errors: list[Any] = field(default_factory=list)  # JSON-serializable checker messages
    time_s: float = 0.0
    tokens: int = 0
    id: int | None = None  # filled in by the store
    text_hash: str = ""  # filled in by the store
    created_at: str = ""


@dataclass(frozen=True, kw_only=True)
class CorrectionRow:
    """``revision_id`` revised the failing attempt ``attempt_id`` by ``method``."""

    attempt_id: int
    revision_id: int
    method: str  # one of CORRECTION_METHODS
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    created_at: str = ""


@dataclass(frozen=True, kw_only=True)
class ProofRow:
    """A complete file that a verifier pool certified as a proof of the problem's statement."""

    id: int
    problem_id: int
    text: str  # header, statement and proof: exactly the text that was checked
    text_hash: str
    axioms: list[str]
    backend: str
    toolchain: str  # the backend's identity when it checked the text
    round: int
    attempt_id: int | None
    technique: str | None
    verify_time_s: float
    created_at: str


@dataclass(frozen=True, kw_only=True)
class RoundRow:
    number: int
    config: dict[str, Any]
    status: str  # "running" | "done"
    stage: str | None  # the last stage finished
    metrics: dict[str, Any] | None
    checkpoint: str | None
    started_at: str
    ended_at: str | None


# -- rows to records (validated) ----------------------------------------------------------------------


def problem_record(p: ProblemRow, now: str) -> dict[str, Any]:
    return {
        "source": _text(p.source, "a problem's source"),
        "name": _text(p.name, "a problem's name"),
        "split": _choice(p.split, SPLITS, "split"),
        "language": _choice(p.language, LANGUAGES, "language"),
        "header": _str(p.header, "header"),
        "statement": _text(p.statement, f"the statement of {p.name!r}"),
        "informal": p.informal,
        "depth": nonnegative(p.depth, "depth"),
        "parent_id": p.parent_id,
        "statement_hash": text_hash(p.statement),
        "created_at": now,
    }


def conjecture_record(c: ConjectureRow, problem_id: int, now: str) -> dict[str, Any]:
    if c.kept and c.filter_reason is not None:
        raise ValueError("a kept conjecture has no filter reason")
    return {
        "problem_id": problem_id,
        "seed_id": c.seed_id,
        "lemma": c.lemma,
        "generator": _choice(c.generator, GENERATORS, "generator"),
        "kind": c.kind,
        "round": nonnegative(c.round, "round"),
        "kept": _flag(c.kept),
        "filter_reason": c.filter_reason,
        "created_at": now,
    }


def attempt_record(a: AttemptRow, now: str) -> dict[str, Any]:
    if a.verified and a.reason is not None:
        raise ValueError(f"a verified attempt has no reason (got {a.reason!r})")
    return {
        "round": nonnegative(a.round, "round"),
        "role": _choice(a.role, ROLES, "role"),
        "problem_id": a.problem_id,
        "model": a.model,
        "engine": _text(a.engine, "engine"),
        "sample": nonnegative(a.sample, "sample"),
        "kind": _text(a.kind, "kind"),
        "revision_of": a.revision_of,
        "prompt": a.prompt,
        "text": _str(a.text, "an attempt's text"),
        "candidate": a.candidate,
        "verified": int(bool(a.verified)),
        "reason": None if a.reason is None else str(a.reason),
        "errors": to_json(list(a.errors), "errors"),
        "time_s": float(a.time_s),
        "tokens": nonnegative(a.tokens, "tokens"),
        "text_hash": text_hash(a.text),
        "created_at": now,
    }


def correction_record(c: CorrectionRow, now: str) -> dict[str, Any]:
    if c.attempt_id == c.revision_id:
        raise ValueError("an attempt cannot be its own revision")
    return {
        "attempt_id": c.attempt_id,
        "revision_id": c.revision_id,
        "method": _choice(c.method, CORRECTION_METHODS, "correction method"),
        "detail": to_json(dict(c.detail), "detail"),
        "created_at": now,
    }


# -- records to rows --------------------------------------------------------------------------------


def problem_row(r: Mapping[str, Any]) -> ProblemRow:
    return ProblemRow(
        id=r["id"], source=r["source"], name=r["name"], split=r["split"], language=r["language"],
        header=r["header"], statement=r["statement"], informal=r["informal"], depth=r["depth"],
        parent_id=r["parent_id"], statement_hash=r["statement_hash"], created_at=r["created_at"],
    )


def conjecture_row(r: Mapping[str, Any]) -> ConjectureRow:
    """From a conjectures row joined with its problem's name, header, statement and informal."""
    return ConjectureRow(
        id=r["id"], problem_id=r["problem_id"], seed_id=r["seed_id"], statement=r["statement"],
        generator=r["generator"], round=r["round"], lemma=r["lemma"], kind=r["kind"], name=r["name"],
        header=r["header"], informal=r["informal"],
        kept=None if r["kept"] is None else bool(r["kept"]), filter_reason=r["filter_reason"],
        created_at=r["created_at"],
    )


def attempt_row(r: Mapping[str, Any]) -> AttemptRow:
    return AttemptRow(
        id=r["id"], round=r["round"], role=r["role"], problem_id=r["problem_id"], model=r["model"],
        engine=r["engine"], sample=r["sample"], kind=r["kind"], revision_of=r["revision_of"],
        prompt=r["prompt"], text=r["text"], candidate=r["candidate"], verified=bool(r["verified"]),
        reason=r["reason"], errors=from_json(r["errors"]), time_s=r["time_s"], tokens=r["tokens"],
        text_hash=r["text_hash"], created_at=r["created_at"],
    )


def correction_row(r: Mapping[str, Any]) -> CorrectionRow:
    return CorrectionRow(
        id=r["id"], attempt_id=r["attempt_id"], revision_id=r["revision_id"], method=r["method"],
        detail=from_json(r["detail"]), created_at=r["created_at"],
    )


def proof_row(r: Mapping[str, Any]) -> ProofRow:
    return ProofRow(
        id=r["id"], problem_id=r["problem_id"], text=r["text"], text_hash=r["text_hash"],
        axioms=from_json(r["axioms"]), backend=r["backend"], toolchain=r["toolchain"], round=r["round"],
        attempt_id=r["attempt_id"], technique=r["technique"], verify_time_s=r["verify_time_s"],
        created_at=r["created_at"],
    )


def round_row(r: Mapping[str, Any]) -> RoundRow:
    return RoundRow(
        number=r["number"], config=from_json(r["config"]), status=r["status"], stage=r["stage"],
        metrics=from_json(r["metrics"]), checkpoint=r["checkpoint"], started_at=r["started_at"],
        ended_at=r["ended_at"],
    )
