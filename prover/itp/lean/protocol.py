"""The Lean REPL's JSON protocol: request framing and typed replies.

Written against ``docs/protocols/lean-repl.md`` (leanprover-community/repl). This module does no I/O:
``lean_repl`` moves the bytes, this one says what they mean, so both can be tested on their own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Both spellings: Lean changed the quotes around `sorry` between releases (v4.24 vs the recorded v4.33).
SORRY_WARNINGS = ("declaration uses 'sorry'", "declaration uses `sorry`")
COMPLETED = "Completed"


class ProtocolError(RuntimeError):
    """The REPL printed something that is not a reply of the documented shape."""


def encode_request(request: Mapping[str, Any]) -> bytes:
    """One request as the REPL wants it: a single JSON line, then exactly one blank line.

    ``json.dumps`` escapes newlines inside strings; a raw one would be dropped by the REPL (it joins
    input lines with nothing between them), and a second blank line would crash it.
    """
    line = json.dumps(dict(request), ensure_ascii=False)
    return (line + "\n\n").encode("utf-8")


@dataclass(frozen=True)
class Pos:
    line: int  # 1-based; 0 in tactic-mode replies
    column: int  # 0-based, in Unicode characters


@dataclass(frozen=True)
class ReplMessage:
    severity: str  # "info" | "warning" | "error" | "trace"
    data: str
    pos: Pos
    end_pos: Pos | None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def is_sorry_warning(self) -> bool:
        return self.severity == "warning" and any(w in self.data for w in SORRY_WARNINGS)


@dataclass(frozen=True)
class Sorry:
    goal: str
    proof_state: int | None
    pos: Pos | None  # absent for sorries found in tactic mode
    end_pos: Pos | None


@dataclass(frozen=True)
class TacticEntry:
    """One entry of a command reply's ``tactics`` list (``allTactics: true``)."""

    tactic: str
    goals: str
    pos: Pos
    end_pos: Pos
    proof_state: int | None
    used_constants: tuple[str, ...]


@dataclass(frozen=True)
class CommandReply:
    env: int
    messages: tuple[ReplMessage, ...] = ()
    sorries: tuple[Sorry, ...] = ()
    tactics: tuple[TacticEntry, ...] = ()
    infotree: Any = None

    @property
    def errors(self) -> tuple[ReplMessage, ...]:
        return tuple(m for m in self.messages if m.is_error)

    @property
    def uses_sorry(self) -> bool:
        return bool(self.sorries) or any(m.is_sorry_warning for m in self.messages)


@dataclass(frozen=True)
class TacticReply:
    proof_state: int
    goals: tuple[str, ...]
    proof_status: str
    messages: tuple[ReplMessage, ...] = ()
    sorries: tuple[Sorry, ...] = ()
    traces: tuple[str, ...] = ()

    @property
    def completed(self) -> bool:
        # Only this status means kernel-checked, sorry-free and metavariable-free: an empty goal list
        # also follows a failed tactic (error recovery closes the goal with a sorry).
        return self.proof_status == COMPLETED


@dataclass(frozen=True)
class ErrorReply:
    """``{"message": ...}``: unknown env/proof state, a tactic that threw, a command that could not run."""

    message: str


Reply = CommandReply | TacticReply | ErrorReply


def _pos(obj: Any, where: str) -> Pos:
    if not isinstance(obj, dict) or not isinstance(obj.get("line"), int):
        raise ProtocolError(f"bad position in {where}: {obj!r}")
    column = obj.get("column")
    if not isinstance(column, int):
        raise ProtocolError(f"bad position in {where}: {obj!r}")
    return Pos(obj["line"], column)


def _opt_pos(obj: Any, where: str) -> Pos | None:
    return None if obj is None else _pos(obj, where)


def _list(obj: Mapping[str, Any], key: str) -> list[Any]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise ProtocolError(f"{key!r} is not a list")
    return value


def _opt_int(value: Any, what: str) -> int | None:
    if value is not None and not isinstance(value, int):
        raise ProtocolError(f"{what} is not an integer: {value!r}")
    return value


def _message(obj: Any) -> ReplMessage:
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), str):
        raise ProtocolError(f"bad message: {obj!r}")
    return ReplMessage(
        severity=str(obj.get("severity", "")),
        data=obj["data"],
        pos=_pos(obj.get("pos"), "message"),
        end_pos=_opt_pos(obj.get("endPos"), "message"),
    )


def _sorry(obj: Any) -> Sorry:
    if not isinstance(obj, dict) or not isinstance(obj.get("goal"), str):
        raise ProtocolError(f"bad sorry: {obj!r}")
    return Sorry(
        goal=obj["goal"],
        proof_state=_opt_int(obj.get("proofState"), "proofState"),
        pos=_opt_pos(obj.get("pos"), "sorry"),
        end_pos=_opt_pos(obj.get("endPos"), "sorry"),
    )


def _tactic_entry(obj: Any) -> TacticEntry:
    if not isinstance(obj, dict) or not isinstance(obj.get("tactic"), str):
        raise ProtocolError(f"bad tactic entry: {obj!r}")
    return TacticEntry(
        tactic=obj["tactic"],
        goals=str(obj.get("goals", "")),
        pos=_pos(obj.get("pos"), "tactic"),
        end_pos=_pos(obj.get("endPos"), "tactic"),
        proof_state=_opt_int(obj.get("proofState"), "proofState"),
        used_constants=tuple(str(c) for c in obj.get("usedConstants", [])),
    )


def parse_reply(obj: Any) -> Reply:
    """Type one decoded reply. Key order is meaningless and empty lists are left out by the REPL."""
    if not isinstance(obj, dict):
        raise ProtocolError(f"reply is not a JSON object: {obj!r}")
    if "proofState" in obj and ("goals" in obj or "proofStatus" in obj):
        state = obj["proofState"]
        if not isinstance(state, int):
            raise ProtocolError(f"proofState is not an integer: {state!r}")
        return TacticReply(
            proof_state=state,
            goals=tuple(str(g) for g in _list(obj, "goals")),
            proof_status=str(obj.get("proofStatus", "")),
            messages=tuple(_message(m) for m in _list(obj, "messages")),
            sorries=tuple(_sorry(s) for s in _list(obj, "sorries")),
            traces=tuple(str(t) for t in _list(obj, "traces")),
        )
    if "env" in obj:
        env = obj["env"]
        if not isinstance(env, int):
            raise ProtocolError(f"env is not an integer: {env!r}")
        return CommandReply(
            env=env,
            messages=tuple(_message(m) for m in _list(obj, "messages")),
            sorries=tuple(_sorry(s) for s in _list(obj, "sorries")),
            tactics=tuple(_tactic_entry(t) for t in _list(obj, "tactics")),
            infotree=obj.get("infotree"),
        )
    if isinstance(obj.get("message"), str):
        return ErrorReply(obj["message"])
    raise ProtocolError(f"reply of unknown shape: {sorted(obj)}")


def decode_reply(text: str) -> dict[str, Any]:
    """Decode the text of one reply (everything up to its blank line)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"reply is not JSON ({exc.msg}): {text[:200]!r}") from exc
    if not isinstance(obj, dict):
        raise ProtocolError(f"reply is not a JSON object: {text[:200]!r}")
    return obj
