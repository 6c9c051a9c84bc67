"""The Lean checks that need no Lean process: the first layer of every full check.

``LeanSession.check`` runs ``prepare`` before it sends anything, and ``prover check --static-only``
answers from the same function alone, so a candidate refused here is refused identically (same
reason, detail and messages) by a full check, on a machine without Lean.

The layers, in order: the trusted statement must parse into a header and a named target ending in
``sorry`` (``bad_statement``); the proof text must pass the text guard (``forbidden``, or
``incomplete`` when the only findings are sorry-like); the proof must declare the target's name
(``incomplete``), or, without a statement, at least one theorem.
"""

from __future__ import annotations

from dataclasses import dataclass

from prover.itp.base import CheckRequest, Message, Reason, StaticVerdict
from prover.itp.lean.guard import GuardedProof, guard_proof
from prover.itp.lean.statement import DEFAULT_HEADER, Header, Target, parse_statement

TARGET_KINDS = ("theorem", "lemma", "def", "abbrev", "instance")


@dataclass(frozen=True)
class Prepared:
    """A request that passed every static rule: what the session sends and checks next."""

    header: Header
    target: Target | None
    guarded: GuardedProof
    theorems: list[str]  # without a statement: the theorems whose axioms are checked


def prepare(request: CheckRequest, allow_native: bool = False) -> Prepared | StaticVerdict:
    """The static layers of a check: ``Prepared`` when they all pass, else the refusal."""
    target: Target | None = None
    if request.statement is not None:
        try:
            target = parse_statement(request.statement)
        except ValueError as exc:
            return StaticVerdict(False, Reason.BAD_STATEMENT, [Message("error", str(exc))], str(exc))
    header = target.header if target is not None else DEFAULT_HEADER
    # Text rules first: untrusted text that fails them never reaches Lean.
    guarded = guard_proof(request.proof, header, allow_native)
    if guarded.reason is not None:
        return StaticVerdict(False, guarded.reason, guarded.notes + guarded.violations, guarded.detail)
    if target is not None and target.name not in guarded.names(TARGET_KINDS):
        detail = f"the proof does not declare {target.name}"
        return StaticVerdict(False, Reason.INCOMPLETE, [*guarded.notes, Message("error", detail)], detail)
    theorems = guarded.names()
    if target is None and not theorems:
        detail = "the file proves no theorem"
        return StaticVerdict(False, Reason.INCOMPLETE, [*guarded.notes, Message("error", detail)], detail)
    return Prepared(header, target, guarded, theorems)


def static_check(request: CheckRequest, allow_native: bool = False) -> StaticVerdict:
    """Every rule a full check applies before Lean runs; never raises for bad input."""
    prepared = prepare(request, allow_native)
    return prepared if isinstance(prepared, StaticVerdict) else StaticVerdict(True)
