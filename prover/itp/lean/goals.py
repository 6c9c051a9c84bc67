"""A goal-level Lean session over the REPL's tactic mode: one statement open, one tactic at a time.

The statement (``… := by sorry`` or ``… := sorry``) is sent as a command on the header's env; the
``sorry`` comes back with a ``proofState`` id, and each tactic is a ``{"tactic", "proofState"}``
request on an earlier state. REPL proof states are immutable, so branching is free and going back
costs nothing: a state is named by its tactic path, and the path's REPL id is looked up, or rebuilt
by replaying the path after the process was restarted (ids die with the process).

Nothing here is trusted: a finished path becomes a proof file (``proof_text``) that only the
verifier pool may certify. ``Completed`` from the REPL does not look at axioms, and the text a
session sends is not the text the pool checks.
"""

from __future__ import annotations

import re
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prover.itp.base import BackendUnavailable, Limits
from prover.itp.goals import Goal, Outcome, ProofState, TacticResult
from prover.itp.guard import mask_comments, scan
from prover.itp.lean.backend import LeanBackend, LeanConfig, lean_limits, repl_launch
from prover.itp.lean.guard import INCOMPLETE_RULES, guard_tactic
from prover.itp.lean.protocol import CommandReply, ErrorReply, ProtocolError, TacticReply
from prover.itp.lean.repl import ReplError, ReplLaunch, ReplProcess, ReplTimeout
from prover.itp.lean.statement import LEAN_SYNTAX, Header, outside_brackets, parse_statement

# Lean's core library alone: nothing is imported and the statement runs in a fresh environment (no
# ``env``), as the REPL's own tests do. A proof file made under it has no header lines.
CORE = Header((), ())
_REPLAY_TIMEOUT_S = 20.0
# The statement's proof: a final `sorry`, optionally after `by`, right after the declaration's `:=`.
_FINAL_SORRY = re.compile(r"(?:(?<![\w.'!?])by\s+)?(?<![\w.'!?])sorry\s*\Z")


# -- pure parts: tactic text, goals, replies, the proof file ------------------------------------------


def normalise(tactic: str) -> str:
    """The tactic as it is sent and written into the proof file: common indentation and trailing
    blanks removed, so that a multi-line tactic keeps its own layout under the proof's indentation."""
    lines = [line.rstrip() for line in textwrap.dedent(tactic).split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _top_level_semicolon(text: str) -> bool:
    """A `;` outside brackets that is not part of `<;>`: it ends one tactic and starts another."""
    return any(text[i] == ";" and not (text[i - 1 : i] == "<" and text[i + 1 : i + 2] == ">")
               for i in outside_brackets(text))


def refusal(tactic: str, allow_native: bool = False) -> str | None:
    """Why ``tactic`` (normalised) may not be sent, or None: it must be exactly one tactic, with no
    comment, nothing the Lean guard forbids, and nothing that leaves the proof open (sorry, admit)."""
    if not tactic.strip():
        return "empty tactic"
    if mask_comments(tactic, LEAN_SYNTAX) != tactic:
        # A comment could hide the rest of the proof file once the tactic is written into it.
        return "a comment is not a tactic"
    found = guard_tactic(tactic, allow_native) + scan(tactic, LEAN_SYNTAX, INCOMPLETE_RULES)
    if found:
        return found[0].text
    # A later line at the tactic's own column starts a second tactic (match alternatives excepted).
    if any(line and not line[0].isspace() and line[0] != "|" for line in tactic.split("\n")[1:]):
        return "not exactly one tactic (a later line starts another)"
    if _top_level_semicolon(tactic):
        return "not exactly one tactic (`;` separates two)"
    return None


def _joined(lines: list[str]) -> list[str]:
    """Lean wraps a long hypothesis or conclusion onto indented lines: one entry per logical line."""
    out: list[str] = []
    for line in lines:
        if out and line[:1].isspace():
            out[-1] = f"{out[-1]} {line.strip()}"
        elif line.strip():
            out.append(line.rstrip())
    return out


def parse_goal(text: str) -> Goal:
    """One goal as the REPL prints it: an optional ``case tag`` line, hypotheses, ``⊢ conclusion``.
    The case tag stays first among the hypotheses, as Lean shows it (``case pos =>`` needs it)."""
    lines = _joined(text.split("\n"))
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("⊢"):
            return Goal(tuple(lines[:i]), " ".join([lines[i][1:].strip(), *lines[i + 1 :]]))
    return Goal(tuple(lines[:-1]), lines[-1] if lines else "")


@dataclass(frozen=True)
class Reading:
    """What one tactic reply means for the search."""

    outcome: Outcome  # OK or ERROR
    state_id: int | None = None
    goals: tuple[Goal, ...] = ()
    error: str = ""
    notes: tuple[str, ...] = ()


def read_tactic_reply(reply: TacticReply | ErrorReply) -> Reading:
    """OK only for a state a proof can go on from: no error message, no sorry, no kernel failure,
    and either ``Completed`` or open goals (error recovery also leaves ``goals: []``)."""
    if isinstance(reply, ErrorReply):  # a tactic that threw (parse errors, `exact?` failing)
        return Reading(Outcome.ERROR, error=reply.message.removeprefix("Lean error:\n"))
    notes = tuple(f"{m.severity}: {m.data}" for m in reply.messages if not m.is_error) + reply.traces
    errors = [m.data for m in reply.messages if m.is_error]
    status = reply.proof_status
    if errors:
        return Reading(Outcome.ERROR, error="\n".join(errors), notes=notes)
    if status.startswith("Error") or reply.sorries:
        return Reading(Outcome.ERROR, error=status or "the tactic left a sorry", notes=notes)
    if reply.completed:
        return Reading(Outcome.OK, reply.proof_state, (), notes=notes)
    if not reply.goals:  # e.g. "Incomplete: contains metavariable(s)": no goal left to work on
        error = f"no goals left, but the proof is not complete: {status}"
        return Reading(Outcome.ERROR, error=error, notes=notes)
    return Reading(Outcome.OK, reply.proof_state, tuple(parse_goal(g) for g in reply.goals), notes=notes)


def root_of(reply: CommandReply | ErrorReply) -> tuple[int, Goal]:
    """The proof state and goal of the opened statement's one ``sorry``; ``RuntimeError`` otherwise."""
    if isinstance(reply, ErrorReply):
        raise RuntimeError(f"the statement cannot run: {reply.message}")
    if reply.errors:
        raise RuntimeError(f"the statement does not elaborate: {reply.errors[0].data}")
    if len(reply.sorries) != 1 or reply.sorries[0].proof_state is None:
        raise RuntimeError(f"the statement must leave exactly one goal, not {len(reply.sorries)}")
    sorry = reply.sorries[0]
    assert sorry.proof_state is not None
    return sorry.proof_state, parse_goal(sorry.goal)


def proof_head(decl: str) -> str:
    """The declaration up to and including ``:= by``, where the tactics go: its final ``sorry`` (and
    a ``by`` before it) removed. ``ValueError`` when the sorry is not the whole proof."""
    masked = mask_comments(decl, LEAN_SYNTAX)
    match = _FINAL_SORRY.search(masked)
    if match is None or not masked[: match.start()].rstrip().endswith(":="):
        raise ValueError("the statement must end in `:= sorry` or `:= by sorry`")
    return decl[: match.start()].rstrip() + " by"


def proof_file(header: Header, head: str, tactics: Sequence[str]) -> str:
    """The complete Lean file: the header, the declaration, its tactics indented under ``by``."""
    body = [f"  {line}" if line else "" for tactic in tactics for line in tactic.split("\n")]
    return "\n".join([*([header.text, ""] if header.text else []), head, *body]) + "\n"


# -- the session ------------------------------------------------------------------------------------


class LeanGoalSession:
    """One trusted statement open in a Lean REPL (``launch``). ``header`` replaces the statement's own
    (its default when it has none); ``CORE`` imports nothing."""

    def __init__(
        self,
        statement: str,
        launch: ReplLaunch,
        *,
        header: Header | None = None,
        allow_native_decide: bool = False,
        header_timeout_s: float = 600.0,
        open_timeout_s: float = 60.0,
    ) -> None:
        target = parse_statement(statement)
        self.decl = target.decl
        self.head = proof_head(target.decl)
        self.header = target.header if header is None else header
        self.launch = launch
        self.allow_native_decide = allow_native_decide
        self.header_timeout_s = header_timeout_s
        self.open_timeout_s = open_timeout_s
        self.restarts = 0
        self._repl: ReplProcess | None = None
        self._root: ProofState | None = None
        self._ids: dict[tuple[str, ...], int] = {}  # tactic path -> REPL proof state, this process
        self._start()

    # -- process -----------------------------------------------------------------------------------

    def _start(self) -> None:
        try:
            repl = ReplProcess(self.launch)
        except OSError as exc:
            raise RuntimeError(f"the Lean REPL cannot start ({self.launch.argv[0]}): {exc.strerror}") from exc
        try:
            env = None
            if self.header.text:
                loaded = repl.command(self.header.text, None, self.header_timeout_s)
                if isinstance(loaded, ErrorReply) or loaded.errors:
                    why = loaded.message if isinstance(loaded, ErrorReply) else loaded.errors[0].data
                    raise RuntimeError(f"the Lean header fails: {why.strip()}")
                env = loaded.env
            state_id, goal = root_of(repl.command(self.decl, env, self.open_timeout_s))
        except (ReplError, ProtocolError) as exc:
            repl.kill()
            tail = repl.stderr_tail().strip().splitlines()
            said = f"; stderr: {tail[-1]}" if tail else ""  # the only clue to a failed start
            raise RuntimeError(f"the Lean REPL did not open the statement: {exc}{said}") from exc
        except RuntimeError:
            repl.kill()
            raise
        self._repl = repl
        self._root = ProofState(state_id, (goal,))
        self._ids = {(): state_id}

    def _restart(self) -> None:
        self.close()
        self.restarts += 1
        self._start()

    def alive(self) -> bool:
        return self._repl is not None and self._repl.alive()

    def close(self) -> None:
        if self._repl is not None:
            self._repl.close()
            self._repl = None

    @property
    def root(self) -> ProofState:
        assert self._root is not None
        return self._root

    # -- the goal-level interface ------------------------------------------------------------------

    def _locate(self, tactics: tuple[str, ...]) -> int | None:
        """The REPL id of the state after ``tactics``, replaying the part this process has not run;
        None when the replay fails (a tactic that no longer runs)."""
        assert self._repl is not None
        known = len(tactics)
        while tactics[:known] not in self._ids:
            known -= 1
        state_id = self._ids[tactics[:known]]
        for i in range(known, len(tactics)):
            reading = read_tactic_reply(self._repl.tactic(state_id, tactics[i], _REPLAY_TIMEOUT_S))
            if reading.outcome is not Outcome.OK or reading.state_id is None:
                return None
            state_id = self._ids[tactics[: i + 1]] = reading.state_id
        return state_id

    def step(self, state: ProofState, tactic: str, timeout_s: float) -> TacticResult:
        started = time.monotonic()
        tactic = normalise(tactic)
        why = refusal(tactic, self.allow_native_decide)
        if why is not None:
            return TacticResult(Outcome.REFUSED, tactic, error=why)
        try:
            if not self.alive():
                self._restart()
            base = self._locate(state.tactics)
            if base is None:
                return TacticResult(Outcome.ERROR, tactic, error="cannot rebuild the state")
            assert self._repl is not None
            reply = self._repl.tactic(base, tactic, max(0.1, timeout_s))
        except ReplTimeout:
            self.close()  # the REPL cannot cancel a request: it was killed, the next step restarts it
            return TacticResult(Outcome.TIMEOUT, tactic, error="killed", time_s=time.monotonic() - started)
        except (ReplError, ProtocolError, RuntimeError) as exc:
            self.close()
            return TacticResult(Outcome.ERROR, tactic, error=f"session died: {exc}")
        spent = time.monotonic() - started
        reading = read_tactic_reply(reply)
        notes = list(reading.notes)
        if reading.outcome is not Outcome.OK or reading.state_id is None:
            return TacticResult(Outcome.ERROR, tactic, error=reading.error, time_s=spent, notes=notes)
        path = (*state.tactics, tactic)
        self._ids[path] = reading.state_id
        new = ProofState(reading.state_id, reading.goals, path)
        return TacticResult(Outcome.OK, tactic, new, time_s=spent, notes=notes)

    def proof_text(self, tactics: Sequence[str]) -> str:
        return proof_file(self.header, self.head, [normalise(t) for t in tactics])

    def __enter__(self) -> LeanGoalSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_lean_goal_session(
    statement: str,
    config: LeanConfig | None = None,
    workdir: Path | None = None,
    limits: Limits | None = None,
    header: Header | None = None,
) -> LeanGoalSession:
    """A session started the way the Lean backend starts its REPL (pinned toolchain, sandbox,
    memory limit); ``BackendUnavailable`` when the REPL is not installed here."""
    config = config or LeanConfig()
    status = LeanBackend(config).availability()
    if not status.usable:
        raise BackendUnavailable(status.detail)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="prover-lean-goals-"))
    workdir.mkdir(parents=True, exist_ok=True)
    launch = repl_launch(config, workdir, lean_limits(limits or Limits(), config))
    return LeanGoalSession(
        statement,
        launch,
        header=header,
        allow_native_decide=config.allow_native_decide,
        header_timeout_s=config.header_timeout_s,
    )
