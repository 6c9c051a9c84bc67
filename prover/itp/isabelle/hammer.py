"""Sledgehammer for tool correction: find a ``by ...`` step that closes the goal a proof is stuck on.

The goal is given as text, the way the checker sees it: the candidate up to (not including) the
failing step, e.g. ``"proof -\\n  have h: \\"x = 2\\" using assms"``. The backend builds the usual
trusted theory around it, ends it with ``sledgehammer [timeout = N]`` and ``oops``, checks it, and
reads the suggestions Sledgehammer prints as ``writeln`` messages of the node:
``"cvc5: Try this: by (metis add.commute) (12 ms)"``. ``sledgehammer`` never closes the goal itself,
so the suggestion must be spliced in and the result checked again like any other proof.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prover.itp.isabelle.backend import IsabelleSession
from prover.itp.isabelle.client import CommandError, ProtocolError, TaskTimeout
from prover.itp.isabelle.file import Built
from prover.itp.isabelle.theory import Rejected, prepare

# ``<prover>: Try this: <method> (<time>)``; the time part is only taken as such when it looks like one,
# so a method ending in parentheses, ``by (simp add: foo)``, is kept whole.
_TRY_THIS_RE = re.compile(r"(?:(?P<prover>[\w.-]+):\s*)?Try this:\s*(?P<method>.+)", re.S)
_TIME_RE = re.compile(r"\s*\((?P<time>[<>≈~]?\s*\d[\d.,]*\s*m?s\b[^()]*|[^()]*timed out[^()]*|failed)\)\s*\Z")

# Cheap methods worth trying before Sledgehammer (DSP/Lyra use a similar list). ``eval`` is left out
# on purpose: it trusts the code generator through an oracle, which the guard rejects.
HEURISTIC_METHODS = (
    "by auto",
    "by simp",
    "by blast",
    "by fastforce",
    "by force",
    "by presburger",
    "by arith",
    "by linarith",
    "by (auto simp: field_simps)",
    "by sos",
)


@dataclass(frozen=True)
class Suggestion:
    prover: str | None
    method: str  # e.g. ``by (metis foo)``: one proof step, ready to replace the failing one
    time: str | None


def parse_suggestions(messages: Iterable[dict[str, Any]]) -> list[Suggestion]:
    """Every usable "Try this" suggestion, in the order Isabelle reported them."""
    found: list[Suggestion] = []
    for raw in messages:
        m = _TRY_THIS_RE.search(str(raw.get("message", "")))
        if m is None:
            continue
        method, time = m.group("method").strip(), None
        t = _TIME_RE.search(method)
        if t is not None:
            method, time = method[: t.start()].strip(), t.group("time").strip()
            if "timed out" in time or time == "failed":
                continue  # Sledgehammer itself could not replay it in time
        if method:
            found.append(Suggestion(m.group("prover"), method, time))
    return found


def _hammer_messages(built: Built, node: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The node's messages that belong to our ``sledgehammer`` line, or carry no position at all;
    suggestions printed for any other line (the candidate's own experiments) are not ours."""
    out: list[dict[str, Any]] = []
    for raw in (node or {}).get("messages", []):
        if not isinstance(raw, dict):
            continue
        pos = raw.get("pos")
        if isinstance(pos, dict) and (pos.get("line") or pos.get("offset")):
            origin, line, _ = built.locate(pos)
            if origin != "check" or line != built.hammer_line:
                continue
        out.append(raw)
    return out


def sledgehammer(
    session: IsabelleSession,
    prefix: str,
    statement: str | None = None,
    *,
    timeout_s: float = 60.0,
    hammer_timeout_s: int = 30,
) -> str | None:
    """The first ``by ...`` step Sledgehammer finds for the goal open at the end of ``prefix`` (a
    proof body, theory body or whole theory, like ``CheckRequest.proof``), or None. ``statement`` is
    the trusted target, as for checking. Never raises for a bad prefix, a timeout or a crash."""
    name = f"Prover_Hammer_{uuid.uuid4().hex[:12]}"
    built = prepare(prefix, statement, name, hammer_timeout_s=hammer_timeout_s)
    if isinstance(built, Rejected):
        return None
    try:
        run = session.run_theory(name, built, timeout_s)
    except (TaskTimeout, ProtocolError, CommandError):
        return None
    suggestions = parse_suggestions(_hammer_messages(built, run.node))
    return suggestions[0].method if suggestions else None
