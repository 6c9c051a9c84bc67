"""The Rocq (Coq) backend: one long-lived, sandboxed ``coqidetop`` per session.

A session loads its header (``Require Import Reals.`` …) once; a check then runs on top of that
state and is rolled back with ``Edit_at`` (cheap), instead of starting ``coqc`` (≈0.8 s) per proof.

How a check decides (see DESIGN.md, soundness contract):
1. the guard rejects forbidden commands in the untrusted text;
2. the trusted statement is elaborated *before* any candidate text runs, in the clean header
   context, as ``Definition <nonce>_t := forall (_ : unit) binders, type`` (the nonce is random, so
   the candidate cannot name or shadow it);
3. the candidate runs sentence by sentence; it must leave no proof, section or module open;
4. ``Definition <nonce>_c : <nonce>_t := fun _ => @name`` must type-check: the kernel then agrees
   the candidate's constant proves exactly the target (notation or definition tricks in the
   candidate cannot change a target that was elaborated before it ran);
5. ``Print Assumptions <nonce>_c`` may list only allow-listed axioms, each resolved to its full
   kernel path with ``About`` so that a look-alike ``Module ClassicalDedekindReals`` cannot pass.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from prover.itp.base import (
    Availability,
    BackendUnavailable,
    CheckRequest,
    Limits,
    Message,
    Verdict,
)
from prover.itp.coqide import Answer, CoqDied, CoqIdeTop, CoqTimeout, Feedback
from prover.itp.guard import line_col, scan
from prover.itp.rocq_guard import (
    ALLOWED_AXIOMS,
    RULES,
    UnexpectedAssumptions,
    full_path,
    parse_assumptions,
)
from prover.itp.rocq_text import (
    ROCQ_SYNTAX,
    Sentence,
    Statement,
    declared_theorems,
    leading_header,
    parse_statement,
    split_binders,
    split_sentences,
)
from prover.itp.sandbox import BWRAP_HINT, bwrap_path, resource_limits, sandboxed, tree_rss_bytes

COQIDETOP = "coqidetop.opt"
INSTALL_HINT = (
    "install Debian's Rocq packages: apt-get install coq libcoq-coquelicot libcoq-hammer eprover coinor-csdp"
)
_DECLARATION_RE = re.compile(
    r"^(?:Axiom|Axioms|Parameter|Parameters|Conjecture|Hypothesis|Hypotheses"
    r"|Variable|Variables)\s+(.*)\.$",
    re.DOTALL,
)


class HeaderError(RuntimeError):
    """The header itself does not load (a missing library, a typo in a Require)."""


@dataclass
class Plan:
    """What one check runs: the trusted statement (if any) and the untrusted sentences."""

    statement: Statement | None
    candidate: list[Sentence]
    header: list[Sentence]
    theorem_names: list[str]
    trusted_axioms: set[str] = field(default_factory=set)


def plan_check(request: CheckRequest) -> Plan:
    """Split the request; raises ``ValueError`` for a statement that states nothing."""
    candidate = split_sentences(request.proof)
    if request.statement is None:
        header = leading_header(candidate)
        return Plan(None, candidate[len(header) :], header, declared_theorems(candidate))
    statement = parse_statement(request.statement)
    # A trusted sentence repeated in the proof file already ran in the trusted context.
    trusted = {s.normalized for s in statement.header + statement.prelude}
    remaining: list[Sentence] = []
    for sentence in candidate:
        if sentence.normalized in trusted:
            trusted.remove(sentence.normalized)
        else:
            remaining.append(sentence)
    axioms = {name for s in statement.prelude for name in _declared_names(s)}
    return Plan(statement, remaining, statement.header, [t.name for t in statement.targets], axioms)


def _declared_names(sentence: Sentence) -> list[str]:
    match = _DECLARATION_RE.match(sentence.text)
    if not match:
        return []
    body = match.group(1).strip()
    if body.startswith("("):
        return re.findall(r"\(\s*([\w' ]+?)\s*:", body)
    parts = split_binders(body)
    return parts[0].split() if parts else []


def header_key_of(request: CheckRequest) -> str:
    return "\n".join(s.normalized for s in plan_check(request).header)


class RocqBackend:
    name = "rocq"

    def __init__(self, sandbox: bool = True, extra_args: tuple[str, ...] = ()) -> None:
        self.sandbox = sandbox
        self.extra_args = extra_args

    def availability(self) -> Availability:
        if shutil.which(COQIDETOP) is None or shutil.which("coqc") is None:
            return Availability(False, f"coqidetop.opt not found: {INSTALL_HINT}")
        if self.sandbox and bwrap_path() is None:
            return Availability(False, f"bwrap not found: {BWRAP_HINT}")
        version = subprocess.run(["coqc", "--version"], capture_output=True, text=True).stdout
        return Availability(True, version.strip().splitlines()[0] if version else "coqc")

    def header_key(self, request: CheckRequest) -> str:
        return header_key_of(request)

    def open_session(self, header_key: str, workdir: Path, limits: Limits) -> RocqSession:
        status = self.availability()
        if not status.usable:
            raise BackendUnavailable(status.detail)
        return RocqSession(header_key, workdir, limits, self.sandbox, self.extra_args)


class RocqSession:
    """One ``coqidetop`` with ``header_key``'s sentences loaded; ``base`` is that state's id."""

    def __init__(
        self,
        header_key: str,
        workdir: Path,
        limits: Limits,
        sandbox: bool = True,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.header_key = header_key
        self.limits = limits
        workdir.mkdir(parents=True, exist_ok=True)
        argv = [COQIDETOP, "-main-channel", "stdfds", "-async-proofs", "off", "-q", *extra_args]
        if sandbox:
            argv = sandboxed(argv, workdir)
        self.ide = CoqIdeTop(argv, cwd=str(workdir), preexec=resource_limits(limits.memory_bytes))
        deadline = time.monotonic() + max(limits.timeout_s, 120.0)
        try:
            tip = self.ide.init(deadline)
            for sentence in split_sentences(header_key):
                tip, error = self._exec(sentence.text, tip, deadline)
                if error is not None:
                    raise HeaderError(f"header sentence {sentence.text!r} fails: {error.text}")
        except (CoqTimeout, CoqDied) as exc:
            self.close()
            raise HeaderError(f"coqidetop did not load the header: {exc or type(exc).__name__}") from exc
        except HeaderError:
            self.close()
            raise
        self.base = tip

    # -- process ---------------------------------------------------------------------------------

    def alive(self) -> bool:
        return self.ide.alive()

    def rss_bytes(self) -> int:
        return tree_rss_bytes(self.ide.proc.pid)

    def close(self) -> None:
        self.ide.kill()

    def _exec(self, text: str, tip: int, deadline: float) -> tuple[int, Feedback | None]:
        """Add one sentence and run it. Returns the new tip, or the old tip and the error."""
        added = self.ide.add(text, tip, deadline)
        if not added.good:
            self._recover(tip, deadline)
            return tip, _error_of(added)
        assert added.state_id is not None
        ran = self.ide.goals(deadline)
        if not ran.good:
            self._recover(tip, deadline)
            return tip, _error_of(ran)
        self.last = ran
        return added.state_id, None

    def _recover(self, tip: int, deadline: float) -> None:
        answer = self.ide.edit_at(tip, deadline)
        if not answer.good:
            raise CoqDied(f"cannot roll back after an error: {answer.error}")

    def _notices(self) -> str:
        return "\n".join(f.text for f in self.last.feedback if f.level == "notice")

    # -- checking --------------------------------------------------------------------------------

    def check(self, request: CheckRequest, timeout_s: float) -> Verdict:
        started = time.monotonic()
        try:
            plan = plan_check(request)
        except ValueError as exc:
            return Verdict(False, "bad_statement", [Message("error", str(exc))])
        forbidden = [m for s in plan.candidate for m in _scan_sentence(request.proof, s)]
        if forbidden:
            return Verdict(False, "forbidden", forbidden, time.monotonic() - started)
        try:
            verdict = self._run(plan, request.proof, started + timeout_s)
            self._recover(self.base, started + timeout_s + 10)
        except CoqTimeout:
            self.close()
            verdict = Verdict(False, "timeout", [Message("error", f"no verdict within {timeout_s:g} s")])
        except CoqDied as exc:
            self.close()
            verdict = Verdict(False, "crash", [Message("error", f"coqidetop died: {exc}")])
        verdict.time_s = time.monotonic() - started
        return verdict

    def _run(self, plan: Plan, proof: str, deadline: float) -> Verdict:
        nonce = "prv_" + secrets.token_hex(8)
        tip = self.base
        if plan.statement is not None:
            trusted = [s.text for s in plan.statement.prelude] + [
                f"Definition {nonce}_t{i} := {t.as_type()}." for i, t in enumerate(plan.statement.targets)
            ]
            for text in trusted:
                tip, error = self._exec(text, tip, deadline)
                if error is not None:
                    return Verdict(False, "bad_statement", [Message("error", f"{text!r}: {error.text}")])
        messages: list[Message] = []
        for sentence in plan.candidate:
            tip, error = self._exec(sentence.text, tip, deadline)
            if error is not None:
                return Verdict(False, _reason_of(error), [*messages, _positioned(error, proof, sentence)])
            messages.extend(
                _positioned(f, proof, sentence) for f in self.last.feedback if f.level == "warning"
            )
        for probe in (
            f"Module {nonce}_m.",
            f"End {nonce}_m.",
            f"Definition {nonce}_p := tt.",
            f"Locate {nonce}_p.",
        ):
            tip, error = self._exec(probe, tip, deadline)
            if error is not None:
                return Verdict(
                    False, "incomplete", [*messages, Message("error", "a proof or section is left open")]
                )
        if self._notices().strip() != f"Constant Top.{nonce}_p":
            return Verdict(False, "incomplete", [*messages, Message("error", "a module is left open")])
        if not plan.theorem_names:
            return Verdict(False, "incomplete", [*messages, Message("error", "the file proves no theorem")])
        all_axioms: list[str] = []
        for i, name in enumerate(plan.theorem_names):
            checked = name
            if plan.statement is not None:
                checked = f"{nonce}_c{i}"
                tip, error = self._exec(
                    f"Definition {checked} : {nonce}_t{i} := fun _ => @{name}.", tip, deadline
                )
                if error is not None:
                    reason = "incomplete" if "was not found" in error.text else "statement_mismatch"
                    text = f"theorem {name}: {error.text}"
                    return Verdict(False, reason, [*messages, Message("error", text)])
            bad, axioms = self._axioms(checked, plan.trusted_axioms, tip, deadline)
            all_axioms.extend(a for a in axioms if a not in all_axioms)
            if bad is not None:
                return Verdict(
                    False,
                    "axioms",
                    [*messages, Message("error", f"theorem {name}: {bad}")],
                    axioms=all_axioms,
                )
        return Verdict(True, None, messages, axioms=all_axioms)

    def _axioms(
        self, constant: str, trusted: set[str], tip: int, deadline: float
    ) -> tuple[str | None, list[str]]:
        """(why it is not allowed or None, the full paths of the axioms ``constant`` depends on)."""
        tip, error = self._exec(f"Print Assumptions {constant}.", tip, deadline)
        if error is not None:
            return f"Print Assumptions failed: {error.text}", []
        try:
            names = parse_assumptions(self._notices())
        except UnexpectedAssumptions as exc:
            return f"depends on something that is not a plain axiom: {exc}", []
        paths: list[str] = []
        for name in names:
            tip, error = self._exec(f"About {name}.", tip, deadline)
            path = None if error is not None else full_path(self._notices())
            if path is None:
                return f"cannot resolve axiom {name}", paths
            paths.append(path)
            allowed = path in ALLOWED_AXIOMS or (path.startswith("Top.") and path[4:] in trusted)
            if not allowed:
                return f"depends on axiom {path}, which is not allowed", paths
        return None, paths


def _scan_sentence(proof: str, sentence: Sentence) -> list[Message]:
    found = scan(sentence.text, ROCQ_SYNTAX, RULES)
    base_line, base_col = line_col(proof, sentence.start)
    return [
        Message(
            m.severity,
            m.text,
            (m.line or 1) + base_line - 1,
            (m.column or 0) + (base_col if m.line == 1 else 0),
        )
        for m in found
    ]


def _error_of(answer: Answer) -> Feedback:
    errors = answer.messages("error")
    if errors:
        return errors[-1]
    return Feedback("error", answer.error or "error", answer.error_start, answer.error_stop)


def _reason_of(error: Feedback) -> str:
    return "memory" if "Out of memory" in error.text else "error"


def _positioned(feedback: Feedback, proof: str, sentence: Sentence) -> Message:
    line, col = line_col(proof, sentence.start + (feedback.start or 0))
    return Message(feedback.level, feedback.text, line, col)
