"""Lean reply rules: what the REPL must say before a proof counts as verified.

The commands the checker sends are built here from trusted pieces only, and every reply is judged
here, so the whole decision can be tested on recorded or constructed replies without a process:

1. the stub: the target statement, renamed, elaborated once in the clean header env (a statement
   that fails here is ``bad_statement``);
2. the candidate: the guarded proof text on top of the stub's env; any error, any sorry (in
   ``sorries`` or as a "declaration uses sorry" warning, either quoting) rejects it;
3. the check: ``theorem prover_check_… : type_of% @prover_target_… := @_root_.NAME`` makes the kernel
   confirm that the candidate's constant has the target's type (up to conversion), and
   ``#print axioms`` on it lists what the proof rests on, which must be inside the allow-list.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from prover.itp.base import Message, Reason, Verdict
from prover.itp.lean.protocol import CommandReply, ErrorReply, ReplMessage
from prover.itp.lean.statement import Target

STUB_PREFIX, CHECK_PREFIX = "prover_target_", "prover_check_"  # proof text may not use these names
ALLOWED_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
NATIVE_AXIOMS = frozenset({"Lean.ofReduceBool", "Lean.trustCompiler"})  # what native_decide adds

_AXIOMS = re.compile(
    r"^[`']?(?P<name>.+?)[`']? (?:depends on axioms: \[(?P<axioms>[^\]]*)\]|does not depend on any axioms)",
    re.DOTALL,
)


def allowed_axioms(allow_native: bool) -> frozenset[str]:
    return ALLOWED_AXIOMS | NATIVE_AXIOMS if allow_native else ALLOWED_AXIOMS


def helper_names(target: Target) -> tuple[str, str]:
    """Names of the stub and the check constant: fixed per statement so the stub env can be cached."""
    digest = hashlib.sha256(f"{target.header.text}\n{target.decl}".encode()).hexdigest()[:16]
    return STUB_PREFIX + digest, CHECK_PREFIX + digest


def stub_command(target: Target) -> str:
    return target.stub(helper_names(target)[0])


def check_command(target: Target) -> str:
    stub, check = helper_names(target)
    # A theorem's type must be a Prop; data targets (defs, instances) need a def to hold them.
    keyword = "noncomputable def" if target.is_data else "theorem"
    return f"{keyword} {check} : type_of% @{stub} := @_root_.{target.name}\n#print axioms {check}"


def axioms_command(names: Iterable[str]) -> str:
    return "\n".join(f"#print axioms {name}" for name in names)


def to_message(message: ReplMessage) -> Message:
    """A REPL message positioned in the candidate text (the sent text keeps the candidate's lines)."""
    line = message.pos.line or None  # tactic-mode messages carry line 0: no position
    return Message(message.severity, message.data, line, message.pos.column if line else None)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def parse_axioms(messages: Sequence[ReplMessage]) -> dict[str, list[str]]:
    """Axioms per constant from ``#print axioms`` info messages; a later line for a name wins."""
    found: dict[str, list[str]] = {}
    for message in messages:
        match = _AXIOMS.match(message.data.strip()) if message.severity == "info" else None
        if match:
            listed = match["axioms"] or ""
            found[match["name"]] = [a for a in re.split(r"[\s,]+", listed) if a]
    return found


def judge_stub(reply: CommandReply | ErrorReply) -> Verdict | None:
    """The target statement must elaborate with nothing worse than its own sorry."""
    if isinstance(reply, ErrorReply):
        return Verdict(
            False, Reason.BAD_STATEMENT, [Message("error", reply.message)], detail=_first_line(reply.message)
        )
    if reply.errors:
        messages = [Message("error", m.data) for m in reply.errors]
        return Verdict(False, Reason.BAD_STATEMENT, messages, detail=_first_line(reply.errors[0].data))
    return None


def judge_candidate(reply: CommandReply | ErrorReply) -> tuple[Verdict | None, list[Message]]:
    """Errors and sorries in the candidate's own reply. Returns a rejection or the messages to keep."""
    if isinstance(reply, ErrorReply):
        return Verdict(
            False, Reason.ERROR, [Message("error", reply.message)], detail=_first_line(reply.message)
        ), []
    messages = [to_message(m) for m in reply.messages]
    if reply.errors:
        detail = _first_line(reply.errors[0].data)
        return Verdict(False, Reason.ERROR, messages, detail=detail), messages
    if reply.uses_sorry:
        if not any(m.is_sorry_warning for m in reply.messages):
            messages.append(Message("error", f"sorry left for goal: {_first_line(reply.sorries[0].goal)}"))
        return Verdict(False, Reason.INCOMPLETE, messages, detail="the proof uses sorry"), messages
    return None, messages


def _axiom_verdict(
    reply: CommandReply, names: Sequence[str], allow_native: bool, kept: list[Message]
) -> Verdict:
    if reply.uses_sorry:  # cannot come from our own text; refuse rather than explain
        messages = [*kept, *map(to_message, reply.messages)]
        return Verdict(False, Reason.INCOMPLETE, messages, detail="sorry in the check")
    axioms = parse_axioms(reply.messages)
    allowed = allowed_axioms(allow_native)
    used: set[str] = set()
    for name in names:
        if name not in axioms:  # fail closed: no report means no proof of soundness
            return Verdict(False, Reason.ERROR, kept, detail=f"no axiom report for {name}")
        used.update(axioms[name])
    bad = sorted(used - allowed)
    if bad:
        note = Message("error", f"depends on axioms outside the allow-list: {', '.join(bad)}")
        return Verdict(False, Reason.AXIOMS, [*kept, note], axioms=sorted(used), detail=", ".join(bad))
    return Verdict(True, None, kept, axioms=sorted(used))


def judge_check(
    reply: CommandReply | ErrorReply, target: Target, allow_native: bool, kept: list[Message]
) -> Verdict:
    """The kernel accepted ``@NAME`` at the target's type, and its axioms are allowed."""
    if isinstance(reply, ErrorReply):
        return Verdict(
            False, Reason.ERROR, [*kept, Message("error", reply.message)], detail=_first_line(reply.message)
        )
    if reply.errors:
        detail = [
            Message("error", f"{target.name} does not have the target type: {m.data}") for m in reply.errors
        ]
        return Verdict(
            False,
            Reason.STATEMENT_MISMATCH,
            [*kept, *detail],
            detail=f"{target.name} does not have the target type",
        )
    return _axiom_verdict(reply, [helper_names(target)[1]], allow_native, kept)


def judge_axioms(
    reply: CommandReply | ErrorReply, names: Sequence[str], allow_native: bool, kept: list[Message]
) -> Verdict:
    """Without a target statement: every theorem of the file must rest on allowed axioms only."""
    if isinstance(reply, ErrorReply):
        return Verdict(
            False, Reason.ERROR, [*kept, Message("error", reply.message)], detail=_first_line(reply.message)
        )
    if reply.errors:
        messages = [*kept, *(Message("error", m.data) for m in reply.errors)]
        return Verdict(False, Reason.ERROR, messages, detail=_first_line(reply.errors[0].data))
    return _axiom_verdict(reply, names, allow_native, kept)
