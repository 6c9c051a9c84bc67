"""The Lean 4 backend: one long-lived Lean REPL per session, Mathlib imported once.

A session sends its header (``import Mathlib`` + opens + options) once, without ``env``, and keeps
the env id it gets back; every later command names that env, so Mathlib is never imported again and
checks cannot see each other. How a check decides is in ``lean_check`` (reply rules) and
``lean_guard`` (text rules), applied first by ``lean_static``, which is also all that
``static_check`` runs; this module only runs processes and sequences the commands.

The REPL cannot free envs (upstream has no ``gc`` request), so memory is bounded by restarting the
process after ``max_checks_per_session`` checks or when its resident memory passes the limit.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from prover.itp.base import (
    GIB,
    Availability,
    BackendUnavailable,
    CheckRequest,
    Limits,
    Message,
    Reason,
    StaticVerdict,
    Verdict,
)
from prover.itp.lean.check import (
    allowed_axioms,
    axioms_command,
    check_command,
    judge_axioms,
    judge_candidate,
    judge_check,
    judge_stub,
    stub_command,
    to_message,
)
from prover.itp.lean.guard import FORBIDDEN_RULES, INCOMPLETE_RULES, NATIVE_RULES, guard_tactic
from prover.itp.lean.pins import pin_of
from prover.itp.lean.protocol import CommandReply, ErrorReply, ProtocolError
from prover.itp.lean.repl import ReplCrashed, ReplError, ReplLaunch, ReplProcess, ReplTimeout
from prover.itp.lean.setup import (
    default_project_dir,
    installation_problem,
    package_revisions,
    pinned_toolchain,
    repl_binary,
    resolve_lake,
)
from prover.itp.lean.statement import DEFAULT_HEADER, Header, Target, parse_statement
from prover.itp.lean.static import Prepared, prepare, static_check
from prover.itp.sandbox import bwrap_problem, sandboxed


@dataclass(frozen=True)
class LeanConfig:
    project_dir: Path = field(default_factory=default_project_dir)
    repl_command: tuple[str, ...] | None = None  # replaces `lake env <repl>`; tests run a stand-in
    sandbox: bool = True  # bubblewrap: read-only filesystem, no network, one writable scratch dir
    allow_native_decide: bool = False  # accept proofs resting on Lean.ofReduceBool
    header_timeout_s: float = 600.0  # importing Mathlib takes seconds to minutes
    memory_bytes: int = 12 * GIB  # RLIMIT_AS when the pool passes the generic default Limits
    max_rss_bytes: int = 10 * GIB  # Mathlib's oleans alone are several GiB resident
    stub_cache_size: int = 64  # target statements kept elaborated per session


def lean_limits(limits: Limits, config: LeanConfig) -> Limits:
    """Lean needs far more address space than the shared defaults: a limit left unset is replaced by
    the Lean one, a limit the user chose is kept."""
    return limits.with_defaults(memory_bytes=config.memory_bytes, max_rss_bytes=config.max_rss_bytes)


def repl_launch(config: LeanConfig, workdir: Path, limits: Limits) -> ReplLaunch:
    """How to start the REPL: ``lake env <repl>`` in the project under its pinned toolchain (never
    the one the working directory would imply: see ``prover.itp.lean.setup``), or the injected
    command."""
    extra_env = {"TMPDIR": str(workdir)}
    if config.repl_command is not None:
        argv, cwd = list(config.repl_command), workdir
    else:
        lake = resolve_lake(config.project_dir)
        assert lake is not None, "availability() was checked"
        # `lake env` sets the project's LEAN_PATH so that `import Mathlib` resolves; -d says where
        # the project is when the sandbox starts us in the scratch directory.
        argv = [str(lake.lake), "-d", str(config.project_dir), "env", str(repl_binary(config.project_dir))]
        cwd = config.project_dir
        extra_env.update(lake.env())
    if config.sandbox:
        argv, cwd = sandboxed(argv, workdir), workdir
    return ReplLaunch(tuple(argv), cwd, limits.memory_bytes, extra_env=extra_env)


class LeanBackend:
    name = "lean"

    def __init__(self, config: LeanConfig | None = None) -> None:
        self.config = config or LeanConfig()

    @property
    def pin(self) -> str | None:
        """The pin the project is (``prover.itp.lean.pins``); None for one no pin names."""
        return pin_of(self.config.project_dir)

    def availability(self) -> Availability:
        config = self.config
        if config.repl_command is not None:
            found = shutil.which(config.repl_command[0]) is not None
            problem = None if found else f"REPL command {config.repl_command[0]!r} not found"
            detail = f"Lean REPL command: {' '.join(config.repl_command)}"
        else:
            problem = installation_problem(config.project_dir)
            lake = resolve_lake(config.project_dir) if not problem else None
            how = f"lake {lake.lake}" if lake is not None else ""
            toolchain = pinned_toolchain(config.project_dir)
            detail = f"{toolchain} ({how}) with Mathlib, REPL at {repl_binary(config.project_dir)}"
        if problem is None and config.sandbox:
            problem = bwrap_problem()
        if problem:
            return Availability(False, f"Lean backend unavailable: {problem}")
        return Availability(True, detail)

    def identity(self) -> str:
        config = self.config
        return json.dumps(
            {
                "backend": self.name,
                "toolchain": pinned_toolchain(config.project_dir),
                # Mathlib's revision (and its dependencies'): a lemma renamed or a tactic changed
                # between revisions changes verdicts, so a cached verdict must name the revision.
                "packages": package_revisions(config.project_dir),
                "project_dir": str(config.project_dir),
                "repl_command": list(config.repl_command) if config.repl_command is not None else None,
                "sandbox": config.sandbox,
                "allow_native_decide": config.allow_native_decide,
                "allowed_axioms": sorted(allowed_axioms(config.allow_native_decide)),
                "rules": [r.pattern.pattern for r in (*INCOMPLETE_RULES, *FORBIDDEN_RULES, *NATIVE_RULES)],
            },
            sort_keys=True,
        )

    def limits_for(self, limits: Limits) -> Limits:
        """The limits a Lean session really runs under (the pool should recycle by these)."""
        return lean_limits(limits, self.config)

    def static_check(self, request: CheckRequest) -> StaticVerdict:
        return static_check(request, self.config.allow_native_decide)

    def header_key(self, request: CheckRequest) -> str:
        if request.statement is None:
            return DEFAULT_HEADER.text
        return parse_statement(request.statement).header.text

    def open_session(self, header_key: str, workdir: Path, limits: Limits) -> LeanSession:
        status = self.availability()
        if not status.usable:
            raise BackendUnavailable(status.detail)
        return LeanSession(header_key, workdir, lean_limits(limits, self.config), self.config)


@dataclass(frozen=True)
class ProofState:
    """A tactic-mode state. ``generation`` names the process it lives in: ids restart from 0 when
    the process is restarted, so an old id must never be sent to a new process."""

    id: int
    generation: int
    goals: tuple[str, ...]


@dataclass(frozen=True)
class TacticOutcome:
    state: ProofState | None  # None when the tactic was refused or threw
    status: str  # the REPL's proofStatus, or why there is none
    messages: list[Message]

    @property
    def completed(self) -> bool:
        # The REPL's own rule; it does not look at axioms, so a final proof still goes through check().
        return self.state is not None and self.status == "Completed"


class LeanSession:
    def __init__(self, header_key: str, workdir: Path, limits: Limits, config: LeanConfig) -> None:
        self.header_key = header_key
        self.header = Header.parse(header_key)
        self.workdir = workdir
        self.limits = limits
        self.config = config
        self.generation = 0
        self._repl: ReplProcess | None = None
        self._header_env = 0
        self._stub_envs: OrderedDict[str, int] = OrderedDict()
        self._checks = 0
        workdir.mkdir(parents=True, exist_ok=True)
        self._start()

    # ---- process ---------------------------------------------------------------------------
    def _start(self) -> None:
        launch = repl_launch(self.config, self.workdir, self.limits)
        try:
            repl = ReplProcess(launch)
        except OSError as exc:
            raise RuntimeError(f"the Lean REPL cannot start ({launch.argv[0]}): {exc.strerror}") from exc
        try:
            reply = repl.command(self.header.text, None, self.config.header_timeout_s)
        except (ReplError, ProtocolError) as exc:
            repl.kill()
            # What the process said is the only clue to a failed start (elan finding no toolchain,
            # bwrap refused namespaces, a REPL built for another Lean), so it goes into the message.
            raise RuntimeError(f"the Lean REPL did not load the header: {exc}{_said(repl)}") from exc
        if isinstance(reply, ErrorReply) or reply.errors:
            repl.kill()
            problem = reply.message if isinstance(reply, ErrorReply) else reply.errors[0].data
            raise RuntimeError(f"the Lean header fails: {problem.strip().splitlines()[0]}")
        self._repl, self._header_env = repl, reply.env
        self._stub_envs.clear()
        self._checks = 0
        self.generation += 1

    def _fresh(self) -> ReplProcess:
        """The live process, restarted first when dead, used up, or too big."""
        repl = self._repl
        if (
            repl is None
            or not repl.alive()
            or self._checks >= self.limits.max_checks_per_session
            or (self.limits.max_rss_bytes is not None and repl.rss_bytes() > self.limits.max_rss_bytes)
        ):
            self.close()
            self._start()
            assert self._repl is not None
            return self._repl
        return repl

    def accepts(self, header_key: str) -> bool:
        return header_key == self.header_key

    def alive(self) -> bool:
        return self._repl is not None and self._repl.alive()

    def rss_bytes(self) -> int:
        return self._repl.rss_bytes() if self._repl is not None else 0

    def close(self) -> None:
        if self._repl is not None:
            self._repl.close()
            self._repl = None

    # ---- whole-proof checks ----------------------------------------------------------------
    def check(self, request: CheckRequest, timeout_s: float) -> Verdict:
        started = time.monotonic()
        try:
            verdict = self._check(request, started + timeout_s)
        except (ReplTimeout, _OutOfTime) as exc:
            if isinstance(exc, ReplTimeout):  # the REPL cannot cancel a request: it was killed
                self.close()
            detail = f"no verdict within {timeout_s:g} s"
            verdict = Verdict(False, Reason.TIMEOUT, [Message("error", detail)], detail=detail)
        except ReplCrashed as exc:
            self.close()
            tail = exc.stderr_tail.strip().splitlines()
            detail = f"{exc}" + (f": {tail[-1]}" if tail else "")
            reason = Reason.MEMORY if exc.out_of_memory else Reason.CRASH
            verdict = Verdict(False, reason, [Message("error", detail)], detail=detail)
        except (ReplError, ProtocolError) as exc:
            self.close()
            detail = f"Lean REPL protocol failure: {exc}"
            verdict = Verdict(False, Reason.CRASH, [Message("error", detail)], detail=detail)
        verdict.time_s = time.monotonic() - started
        return verdict

    def _check(self, request: CheckRequest, deadline: float) -> Verdict:
        prepared = prepare(request, self.config.allow_native_decide)
        if isinstance(prepared, StaticVerdict):  # the static layer, exactly as --static-only answers
            return Verdict(False, prepared.reason, prepared.messages, detail=prepared.detail)
        if prepared.header != self.header:
            detail = "statement header differs from the session's"
            return Verdict(False, Reason.BAD_STATEMENT, [Message("error", detail)], detail=detail)
        return self._run(prepared, deadline)

    def _run(self, prepared: Prepared, deadline: float) -> Verdict:
        target, guarded, names = prepared.target, prepared.guarded, prepared.theorems
        repl = self._fresh()
        self._checks += 1
        base = self._header_env
        if target is not None:
            stub = self._stub_env(repl, target, deadline)
            if isinstance(stub, Verdict):
                return stub
            base = stub
        reply = repl.command(guarded.body, base, _left(deadline))
        rejected, kept = judge_candidate(reply)
        if rejected is not None:
            rejected.messages = guarded.notes + rejected.messages
            return rejected
        assert isinstance(reply, CommandReply)
        kept = guarded.notes + kept
        native = self.config.allow_native_decide
        if target is not None:
            check = repl.command(check_command(target), reply.env, _left(deadline))
            return judge_check(check, target, native, kept)
        report = repl.command(axioms_command(names), reply.env, _left(deadline))
        return judge_axioms(report, names, native, kept)

    def _stub_env(self, repl: ReplProcess, target: Target, deadline: float) -> int | Verdict:
        """The env holding the target statement, elaborated in the clean header env (cached)."""
        key = target.decl
        if key in self._stub_envs:
            self._stub_envs.move_to_end(key)
            return self._stub_envs[key]
        reply = repl.command(stub_command(target), self._header_env, _left(deadline))
        bad = judge_stub(reply)
        if bad is not None:
            return bad
        assert isinstance(reply, CommandReply)
        self._stub_envs[key] = reply.env
        if len(self._stub_envs) > self.config.stub_cache_size:
            self._stub_envs.popitem(last=False)
        return reply.env

    # ---- tactic mode (interactive proving) -------------------------------------------------
    def start_proof(self, statement: str, timeout_s: float) -> ProofState:
        """The initial goal of a trusted statement. Raises ``ValueError`` if it does not elaborate."""
        target = parse_statement(statement)
        if target.header != self.header:
            raise ValueError("statement header differs from the session's")
        repl = self._fresh()
        reply = repl.command(target.decl, self._header_env, timeout_s)
        if isinstance(reply, ErrorReply) or reply.errors or not reply.sorries:
            why = reply.message if isinstance(reply, ErrorReply) else "; ".join(m.data for m in reply.errors)
            raise ValueError(f"the statement does not elaborate: {why or 'no goal'}")
        first = reply.sorries[0]
        if first.proof_state is None:
            raise ValueError("the REPL gave no proof state for the statement")
        return ProofState(first.proof_state, self.generation, (first.goal,))

    def run_tactic(self, state: ProofState, tactic: str, timeout_s: float) -> TacticOutcome:
        """Run untrusted tactic text on ``state``. Success means ``completed`` (kernel-checked)."""
        refused = guard_tactic(tactic, self.config.allow_native_decide)
        if refused:
            return TacticOutcome(None, "refused by the guard", refused)
        if state.generation != self.generation or not self.alive():
            return TacticOutcome(None, "stale proof state: the REPL was restarted", [])
        assert self._repl is not None
        try:
            reply = self._repl.tactic(state.id, tactic, timeout_s)
        except (ReplError, ProtocolError) as exc:
            self.close()
            return TacticOutcome(None, f"REPL failure: {exc}", [])
        if isinstance(reply, ErrorReply):
            return TacticOutcome(None, "error", [Message("error", reply.message)])
        messages = [to_message(m) for m in reply.messages]
        return TacticOutcome(
            ProofState(reply.proof_state, self.generation, reply.goals), reply.proof_status, messages
        )


def _said(repl: ReplProcess, lines: int = 3, chars: int = 600) -> str:
    """The end of the process's stderr as one line (``"; stderr: a | b"``), or nothing."""
    tail = [line.strip() for line in repl.stderr_tail().splitlines() if line.strip()][-lines:]
    return f"; stderr: {' | '.join(tail)[-chars:]}" if tail else ""


class _OutOfTime(Exception):
    """The budget ran out between two requests: nothing is running, so the process can stay."""


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _OutOfTime
    return left
