"""``prover repl``: an interactive proof shell over a goal-level session.

Load or paste a statement, step tactics and see the goals, undo, ask the portfolio engine to ``try``
the current goal, and ``save`` the proof once the verifier pool has certified it. The shell's state
is a stack of proof states: undo pops it, so going back costs nothing but a replay in the session.

The command logic (``Shell.handle``) is plain text in, text out, so it is tested without a terminal;
``run`` adds the terminal (history, completion of tactic and command names) with prompt_toolkit
when the input is a terminal, and reads plain lines otherwise (``prover repl < script``).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prover.itp.base import CheckRequest, Verdict
from prover.itp.goals import GoalSession, Outcome, ProofState
from prover.search.result import SearchResult

# Opens a goal session for a statement text; raises ValueError/RuntimeError when it cannot.
OpenSession = Callable[[str], GoalSession]
# Certifies a complete proof file against the statement (the verifier pool).
Certify = Callable[[CheckRequest], Verdict]
# Searches from a state within a budget (the portfolio engine).
Search = Callable[[GoalSession, str, ProofState, float], SearchResult]

COMMANDS = {
    "load FILE": "open the statement in FILE (its header and one Theorem/Lemma)",
    "state TEXT": "open a statement typed on one line, e.g. state Theorem t (n : nat) : n + 0 = n.",
    "TACTIC.": "run one tactic on the current goals (anything ending in a period)",
    "undo [N]": "go back N steps (default 1)",
    "goals": "show the current goals",
    "proof": "show the tactics so far",
    "try [SECONDS]": "let the portfolio engine search from here (default 10 s)",
    "save FILE": "certify the finished proof with the verifier pool and write it to FILE",
    "help": "this list",
    "quit": "leave (also Ctrl-D)",
}
TACTICS = (
    "intros", "intro", "split", "destruct", "induction", "subst", "simpl", "unfold", "rewrite",
    "apply", "exact", "assert", "exists", "left", "right", "reflexivity", "symmetry", "lia", "nia",
    "lra", "nra", "psatz", "ring", "field", "field_simplify", "auto", "easy", "intuition", "tauto",
    "congruence", "omega", "sauto", "hammer", "assumption", "contradiction", "exfalso", "norm_num",
    "compute", "vm_compute", "specialize", "pose", "set", "replace", "trivial", "constructor",
)  # fmt: skip


def format_goals(state: ProofState) -> str:
    if state.finished:
        return "No more goals: `save FILE` certifies and writes the proof."
    lines = [f"{len(state.goals)} goal{'s' if len(state.goals) != 1 else ''}"]
    if state.shelved:
        lines[0] += f" (+{state.shelved} unfocused or shelved)"
    for i, goal in enumerate(state.goals, 1):
        if i > 1:
            lines.append(f"goal {i}:")
        lines += [f"  {h}" for h in goal.hypotheses] if i == 1 else []
        lines += ["  ============================", f"  {goal.conclusion}"]
    return "\n".join(lines)


@dataclass
class Shell:
    open_session: OpenSession
    certify: Certify
    search: Search | None = None
    session: GoalSession | None = None
    statement: str | None = None
    states: list[ProofState] = field(default_factory=list)
    done: bool = False

    @property
    def state(self) -> ProofState | None:
        return self.states[-1] if self.states else None

    def handle(self, line: str) -> str:
        """Run one input line; returns what to print."""
        line = line.strip()
        if not line or line.startswith("(*"):
            return ""
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        if line.endswith(".") and word not in ("state",):
            return self._tactic(line)
        command = {
            "load": self._load,
            "state": self._state,
            "undo": self._undo,
            "goals": lambda _: self._goals(),
            "proof": lambda _: self._proof(),
            "try": self._try,
            "save": self._save,
            "help": lambda _: self._help(),
            "quit": self._quit,
            "exit": self._quit,
        }.get(word)
        if command is None:
            return f"unknown command {word!r}: a tactic ends with a period; `help` lists the commands"
        return command(rest)

    # -- statements ------------------------------------------------------------------------------

    def _load(self, arg: str) -> str:
        if not arg:
            return "usage: load FILE"
        path = Path(shlex.split(arg)[0]).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return f"cannot read {path}: {exc}"
        return self.open(text)

    def _state(self, arg: str) -> str:
        return self.open(arg) if arg else "usage: state Theorem name binders : type."

    def open(self, statement: str) -> str:
        try:
            session = self.open_session(statement)
        except (ValueError, RuntimeError) as exc:
            return f"cannot open the statement: {exc}"
        self.close()
        self.session, self.statement, self.states = session, statement, [session.root]
        return format_goals(session.root)

    # -- proving ---------------------------------------------------------------------------------

    def _need_state(self) -> str | None:
        return None if self.state is not None else "no statement open: `load FILE` or `state …` first"

    def _tactic(self, tactic: str) -> str:
        missing = self._need_state()
        if missing or self.session is None or self.state is None:
            return missing or ""
        result = self.session.step(self.state, tactic, timeout_s=30.0)
        if result.outcome is Outcome.OK and result.state is not None:
            self.states.append(result.state)
            return format_goals(result.state)
        return f"{result.outcome}: {result.error}"

    def _undo(self, arg: str) -> str:
        missing = self._need_state()
        if missing:
            return missing
        try:
            count = int(arg) if arg else 1
        except ValueError:
            return "usage: undo [N]"
        if len(self.states) == 1:
            return "nothing to undo"
        if count < 1 or count >= len(self.states):
            return f"can undo 1 to {len(self.states) - 1} steps"
        del self.states[-count:]
        return format_goals(self.states[-1])

    def _goals(self) -> str:
        return self._need_state() or format_goals(self.states[-1])

    def _proof(self) -> str:
        missing = self._need_state()
        if missing or self.state is None:
            return missing or ""
        return "\n".join(self.state.tactics) or "(no tactics yet)"

    def _try(self, arg: str) -> str:
        missing = self._need_state()
        if missing or self.session is None or self.state is None or self.statement is None:
            return missing or ""
        if self.search is None:
            return "no search engine for this backend"
        try:
            budget = float(arg) if arg else 10.0
        except ValueError:
            return "usage: try [SECONDS]"
        result = self.search(self.session, self.statement, self.state, budget)
        if not result.proved:
            return f"the portfolio found nothing in {budget:g} s ({len(result.attempts)} tactics tried)"
        start = len(self.state.tactics)
        found = result.tactics[start:]
        state = self.state
        for tactic in found:  # replay, so that undo can step back through what the engine did
            step = self.session.step(state, tactic, timeout_s=60.0)
            if step.state is None:
                return f"the engine's proof did not replay at {tactic!r}: {step.error}"
            state = step.state
            self.states.append(state)
        return "\n".join(["found (certified by the verifier pool):", *found, "", format_goals(state)])

    def _save(self, arg: str) -> str:
        missing = self._need_state()
        if missing or self.session is None or self.state is None or self.statement is None:
            return missing or ""
        if not arg:
            return "usage: save FILE"
        if not self.state.finished:
            return "the proof is not finished: goals remain"
        proof = self.session.proof_text(self.state.tactics)
        verdict = self.certify(CheckRequest(proof, self.statement))
        if not verdict.verified:
            return f"not certified ({verdict.reason}): {verdict.detail or ''}; nothing written"
        path = Path(shlex.split(arg)[0]).expanduser()
        try:
            path.write_text(proof, encoding="utf-8")
        except OSError as exc:
            return f"certified, but cannot write {path}: {exc}"
        return f"certified by the verifier pool; written to {path}"

    def _help(self) -> str:
        return "\n".join(f"  {usage:<16} {what}" for usage, what in COMMANDS.items())

    def _quit(self, _: str) -> str:
        self.done = True
        return ""

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def run(shell: Shell, prompt: str = "prover> ") -> None:
    """The read-eval-print loop: prompt_toolkit on a terminal, plain lines otherwise."""
    read = _terminal_reader(prompt) if sys.stdin.isatty() and sys.stdout.isatty() else _line_reader()
    print("prover repl: `help` lists the commands; a tactic ends with a period.")
    if shell.state is not None:
        print(format_goals(shell.state))
    try:
        while not shell.done:
            try:
                line = read()
            except EOFError:
                break
            except KeyboardInterrupt:
                continue
            output = shell.handle(line)
            if output:
                print(output, flush=True)
    finally:
        shell.close()


def _line_reader() -> Callable[[], str]:
    def read() -> str:
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line

    return read


def _terminal_reader(prompt: str) -> Callable[[], str]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import WordCompleter
    from prompt_toolkit.history import InMemoryHistory

    words = sorted({*TACTICS, *(usage.split()[0] for usage in COMMANDS if usage[0].islower())})
    session: PromptSession[str] = PromptSession(
        history=InMemoryHistory(), completer=WordCompleter(words, sentence=True)
    )
    return lambda: session.prompt(prompt)
