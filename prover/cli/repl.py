"""``prover repl``: an interactive proof shell over a goal-level session.

Load or paste a statement, step tactics and see the goals, undo, ask the portfolio engine to ``try``
the current goal, and ``save`` the proof once the verifier pool has certified it. The shell's state
is a stack of proof states: undo pops it, so going back costs nothing but a replay in the session.

Rocq and Lean sessions alike: a ``ShellSyntax`` says how a tactic line looks (Rocq's end with a
period; Lean's have no terminator, so any line that is not a shell command is a tactic).

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

from prover.itp.base import BackendUnavailable, CheckRequest, Verdict
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
LEAN_TACTICS = (
    "intro", "intros", "constructor", "exact", "apply", "refine", "use", "obtain", "rcases", "cases",
    "induction", "rw", "simp", "simp_all", "norm_num", "ring", "ring_nf", "field_simp", "linarith",
    "nlinarith", "positivity", "omega", "decide", "aesop", "rfl", "have", "calc", "by_contra",
    "push_neg", "exact?", "left", "right", "exfalso", "contradiction", "assumption", "unfold",
    "all_goals", "any_goals", "first", "try", "gcongr", "interval_cases",
)  # fmt: skip


@dataclass(frozen=True)
class ShellSyntax:
    """How the shell tells a tactic line from a command line, for one proof assistant."""

    period: bool  # a tactic ends with a period (Rocq); otherwise any line that is no command is one
    comments: tuple[str, ...]  # line starts the shell skips
    tactics: tuple[str, ...]  # completion words
    example: str  # a one-line statement, for the help text


ROCQ_SHELL = ShellSyntax(True, ("(*",), TACTICS, "Theorem t (n : nat) : n + 0 = n.")
LEAN_SHELL = ShellSyntax(False, ("--", "/-"), LEAN_TACTICS, "theorem t (n : ℕ) : n + 0 = n := by sorry")
SHELL_SYNTAX = {"rocq": ROCQ_SHELL, "lean": LEAN_SHELL}


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
    syntax: ShellSyntax = ROCQ_SHELL

    @property
    def state(self) -> ProofState | None:
        return self.states[-1] if self.states else None

    def handle(self, line: str) -> str:
        """Run one input line; returns what to print."""
        line = line.strip()
        if not line or line.startswith(self.syntax.comments):
            return ""
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        commands: dict[str, Callable[[str], str]] = {
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
        }
        if self._is_tactic(line, word, rest, commands):
            return self._tactic(line)
        command = commands.get(word)
        if command is None:
            return f"unknown command {word!r}: a tactic ends with a period; `help` lists the commands"
        return command(rest)

    def _is_tactic(self, line: str, word: str, rest: str, commands: dict[str, Callable[[str], str]]) -> bool:
        if self.syntax.period:
            return line.endswith(".") and word != "state"
        # Lean tactics have no terminator. `try` is also Lean's combinator: `try simp` is a tactic,
        # `try` alone or with a number of seconds the shell's command.
        if word == "try":
            return bool(rest) and not rest.replace(".", "", 1).isdigit()
        return word not in commands

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
        except BackendUnavailable:
            raise  # not the statement's fault: the caller says what to install
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
        rows = dict(COMMANDS)
        rows["state TEXT"] = f"open a statement typed on one line, e.g. state {self.syntax.example}"
        if not self.syntax.period:
            del rows["TACTIC."]
            rows = {"TACTIC": "run one tactic on the current goals (any line that is no command)", **rows}
        return "\n".join(f"  {usage:<16} {what}" for usage, what in rows.items())

    def _quit(self, _: str) -> str:
        self.done = True
        return ""

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def run(shell: Shell, prompt: str = "prover> ") -> None:
    """The read-eval-print loop: prompt_toolkit on a terminal, plain lines otherwise."""
    words = shell.syntax.tactics
    read = _terminal_reader(prompt, words) if sys.stdin.isatty() and sys.stdout.isatty() else _line_reader()
    tactic = "a tactic ends with a period" if shell.syntax.period else "any other line is a tactic"
    print(f"prover repl: `help` lists the commands; {tactic}.")
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


def _terminal_reader(prompt: str, tactics: tuple[str, ...] = TACTICS) -> Callable[[], str]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import WordCompleter
    from prompt_toolkit.history import InMemoryHistory

    words = sorted({*tactics, *(usage.split()[0] for usage in COMMANDS if usage[0].islower())})
    session: PromptSession[str] = PromptSession(
        history=InMemoryHistory(), completer=WordCompleter(words, sentence=True)
    )
    return lambda: session.prompt(prompt)
