"""The Rocq (Coq) backend: one long-lived, sandboxed ``coqidetop`` per session.

A session loads its header (``Require Import Reals.`` …) once; a check then runs on top of that
state and is rolled back with ``Edit_at`` (cheap), instead of starting ``coqc`` (≈0.8 s) per proof.

How a check decides (see docs/architecture.md, soundness contract):
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

import functools
import json
import os
import secrets
import shutil
import subprocess
import time
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
from prover.itp.rocq.axioms import assumptions, resolve
from prover.itp.rocq.coqide import COQIDETOP, CoqDied, CoqIdeTop, CoqTimeout, Feedback, coqidetop_argv
from prover.itp.rocq.guard import ALLOWED_AXIOMS, RULES
from prover.itp.rocq.messages import error_of, fail, positioned, scan_sentence
from prover.itp.rocq.plan import Plan, plan_check
from prover.itp.rocq.plugin import PLUGIN, coq_version, plugin_built, plugin_dir
from prover.itp.rocq.preload import (
    DEFAULT_PRELOAD,
    Library,
    fits_preload,
    header_libraries,
    header_shaped,
    parse_options,
    parse_print_libraries,
    preload_key,
    require_sentence,
    split_key,
    uncovered_libraries,
)
from prover.itp.rocq.static import static_check
from prover.itp.rocq.text import Sentence, split_sentences
from prover.itp.sandbox import (
    BWRAP_HINT,
    bwrap_path,
    resource_limits,
    sandboxed,
    tree_peak_vm_bytes,
    tree_rss_bytes,
)

INSTALL_HINT = (
    "install Debian's Rocq packages: apt-get install coq libcoq-coquelicot libcoq-hammer eprover coinor-csdp"
)


# What Coq itself prints, exactly, when OCaml raises Out_of_memory or Stack_overflow. A proof cannot
# forge these as errors: Ltac's `fail "…"` always reads "Tactic failure: …", and what a proof prints
# with idtac is a notice, not an error.
_RUNTIME_FAILURES = frozenset({"Out of memory.", "Stack overflow."})


class HeaderError(RuntimeError):
    """The header itself does not load (a missing library, a typo in a Require)."""


class RocqBackend:
    name = "rocq"

    def __init__(
        self,
        sandbox: bool = True,
        extra_args: tuple[str, ...] = (),
        preload: tuple[str, ...] = DEFAULT_PRELOAD,
        plugin: bool = True,
    ) -> None:
        self.sandbox = sandbox
        self.extra_args = extra_args
        self.preload = preload
        self.plugin = plugin and plugin_built()
        self._loaded: frozenset[str] | None = None  # what a preloaded base holds, once one has started

    def availability(self) -> Availability:
        if shutil.which(COQIDETOP) is None or shutil.which("coqc") is None:
            return Availability(False, f"coqidetop.opt not found: {INSTALL_HINT}")
        if self.sandbox and bwrap_path() is None:
            return Availability(False, f"bwrap not found: {BWRAP_HINT}")
        output = subprocess.run(["coqc", "--version"], capture_output=True, text=True).stdout
        version = output.strip().splitlines()[0] if output else "coqc"
        if self.plugin:
            check = "axiom check: prover's Coq plugin"
        else:
            check = "axiom check: Print Assumptions (slower; `prover setup rocq` builds the plugin)"
        return Availability(True, f"{version}; {check}")

    def identity(self) -> str:
        return json.dumps(
            {
                "backend": self.name,
                "coq": coq_version(),
                "sandbox": self.sandbox,
                "extra_args": list(self.extra_args),
                "preload": list(self.preload),
                "plugin": self.plugin,
                "allowed_axioms": sorted(ALLOWED_AXIOMS),
                "rules": [rule.pattern.pattern for rule in RULES],
            },
            sort_keys=True,
        )

    def limits_for(self, limits: Limits) -> Limits:
        return limits.with_defaults(memory_bytes=4 * GIB, max_rss_bytes=3 * GIB)

    def static_check(self, request: CheckRequest) -> StaticVerdict:
        return static_check(request)

    def header_key(self, request: CheckRequest) -> str:
        plan = plan_check(request)
        header = plan.header
        if plan.statement is None and any(scan_sentence(request.proof, s) for s in header):
            # An untrusted header with forbidden text must not run, not even to start a session:
            # the check's own guard then rejects it.
            header = []
        exact = "\n".join(s.normalized for s in header)
        return preload_key(exact) if self.preload and header_shaped(header) else exact

    def open_session(self, header_key: str, workdir: Path, limits: Limits) -> RocqSession:
        """The shared preloaded base when it covers the header's libraries; else that base plus
        the header's other libraries; else a process with exactly this header. What the shared
        base holds is learnt from the first one started."""
        status = self.availability()
        if not status.usable:
            raise BackendUnavailable(status.detail)
        wants_base, exact = split_key(header_key)
        args = (header_key, workdir, limits, self.sandbox, self.extra_args, self.plugin)
        if wants_base:
            if self._loaded is None:
                session = RocqSession(*args, preload=self.preload)
                self._loaded = session.loaded
                if session.accepts(header_key):
                    return session
                session.close()
            extra = uncovered_libraries(split_sentences(exact), self._loaded)
            session = RocqSession(*args, preload=self.preload, extra=extra)
            if session.accepts(header_key):
                return session
            session.close()
        return RocqSession(*args)


class RocqSession:
    """One ``coqidetop`` with a header loaded; ``base`` is the id of that state.

    Given ``preload``, the base holds those libraries loaded but not imported, and each check runs
    its own header first; otherwise the base is exactly the header of ``header_key``.
    """

    def __init__(
        self,
        header_key: str,
        workdir: Path,
        limits: Limits,
        sandbox: bool = True,
        extra_args: tuple[str, ...] = (),
        plugin: bool = False,
        preload: tuple[str, ...] = (),
        extra: tuple[Library, ...] = (),
    ) -> None:
        self.header_key = header_key
        self.per_check_header = bool(preload or extra)
        self.extra = extra  # libraries beyond the shared base: every accepted header requires them
        self.exact_header = split_key(header_key)[1]
        self.header_state: tuple[str, int] | None = None  # (header, state id) of the last header run
        self.excluded: list[Library] = []
        workdir.mkdir(parents=True, exist_ok=True)
        argv = coqidetop_argv(extra_args)
        if sandbox:
            argv = sandboxed(argv, workdir)
        env = dict(os.environ)
        if plugin:
            env["OCAMLPATH"] = os.pathsep.join(filter(None, [str(plugin_dir()), env.get("OCAMLPATH")]))
        self.memory_bytes = limits.memory_bytes or 4 * GIB
        self.ide = CoqIdeTop(argv, cwd=str(workdir), env=env, preexec=resource_limits(self.memory_bytes))
        deadline = time.monotonic() + max(limits.timeout_s, 120.0)
        try:
            self.tip = self.ide.init(deadline)
            # Trusted, before any header: the candidate can neither load nor unload it.
            self.plugin = plugin and self._exec(f'Declare ML Module "{PLUGIN}".', deadline) is None
            if self.per_check_header:
                libraries = [(None, name) for name in preload] + list(extra)
                self.excluded = self._preload(libraries, frozenset(extra), deadline)
            else:
                for sentence in split_sentences(self.exact_header):  # loaded once, for good
                    error = self._exec(sentence.text, deadline)
                    if error is not None:
                        raise HeaderError(f"header sentence {sentence.text!r} fails: {error.text}")
            self._exec("Print Libraries.", deadline)
            self.loaded = parse_print_libraries(self._notices())
        except (CoqTimeout, CoqDied) as exc:
            self.close()
            raise HeaderError(f"coqidetop did not load the header: {exc or type(exc).__name__}") from exc
        except HeaderError:
            self.close()
            raise
        self.base = self.tip

    def _preload(
        self, libraries: list[Library], may_set_options: frozenset[Library], deadline: float
    ) -> list[Library]:
        """Load each library (a missing one is skipped). A library whose loading alone changes a
        global option (ssreflect sets Asymmetric Patterns and Bullet Behavior) is rolled back, since
        the context would no longer be a clean one, unless every header this session accepts
        requires it anyway (``may_set_options``); returns those left out."""
        self._exec("Print Options.", deadline)
        baseline = parse_options(self._notices())
        excluded = []
        for library in libraries:
            before = self.tip
            if self._exec(require_sentence(library), deadline) is not None:
                excluded.append(library)
                continue
            if library in may_set_options:
                continue
            self._exec("Print Options.", deadline)
            now = parse_options(self._notices())
            # Options a plugin registers are new, not changed: they do not exist in a clean context.
            # "Debug" lists every registered debug flag, so a plugin's new flag shows up there too.
            if any(now.get(name) != value for name, value in baseline.items() if name != "Debug"):
                self._rewind(before, deadline)
                excluded.append(library)
        return excluded

    # -- process ---------------------------------------------------------------------------------

    def accepts(self, header_key: str) -> bool:
        wants_base, exact = split_key(header_key)
        if self.per_check_header:
            header = split_sentences(exact)
            required = header_libraries(header)
            return (
                wants_base
                and fits_preload(header, self.loaded)
                and all(library in required for library in self.extra)
                and not any(library in self.excluded for library in self.extra)
            )
        return exact == self.exact_header

    def alive(self) -> bool:
        return self.ide.alive()

    def rss_bytes(self) -> int:
        return tree_rss_bytes(self.ide.proc.pid)

    def close(self) -> None:
        self.ide.kill()

    def _exec(self, text: str, deadline: float) -> Feedback | None:
        """Add one sentence on the tip and run it; on an error the tip stays where it was."""
        added = self.ide.add(text, self.tip, deadline)
        ran = self.ide.goals(deadline) if added.good else added
        if not ran.good:
            self._rewind(self.tip, deadline)
            return error_of(ran)
        assert added.state_id is not None
        self.tip = added.state_id
        self.last = ran
        return None

    def _rewind(self, state: int, deadline: float) -> None:
        answer = self.ide.edit_at(state, deadline)
        if not answer.good:
            raise CoqDied(f"cannot roll back: {answer.error}")
        self.tip = state

    def _notices(self) -> str:
        return "\n".join(f.text for f in self.last.feedback if f.level == "notice")

    def _run_query(self, text: str, *, deadline: float) -> tuple[bool, str]:
        """Run one sentence: (True, what it printed) or (False, the error)."""
        error = self._exec(text, deadline)
        return (True, self._notices()) if error is None else (False, error.text)

    # -- checking --------------------------------------------------------------------------------

    def check(self, request: CheckRequest, timeout_s: float) -> Verdict:
        started = time.monotonic()
        refused = static_check(request)
        if not refused.passed:
            elapsed = time.monotonic() - started
            return Verdict(False, refused.reason, refused.messages, elapsed, detail=refused.detail)
        plan = plan_check(request)
        try:
            verdict = self._run(plan, request.proof, started + timeout_s)
            raised = {m.text for m in verdict.messages if m.severity == "error"} & _RUNTIME_FAILURES
            if verdict.reason is Reason.ERROR and ("Out of memory." in raised or self._exhausted()):
                verdict.reason, verdict.detail = Reason.MEMORY, "the process reached its memory limit"
            if verdict.reason is Reason.MEMORY or raised:  # the process may be degraded: start afresh
                self.close()
            else:  # back to the header's state: the next check with this header starts there
                self._rewind(
                    self.header_state[1] if self.header_state else self.base, started + timeout_s + 10
                )
        except CoqTimeout:
            self.close()
            verdict = Verdict(False, Reason.TIMEOUT, [Message("error", f"no verdict within {timeout_s:g} s")])
        except CoqDied as exc:
            memory = self._exhausted()
            self.close()
            reason = Reason.MEMORY if memory else Reason.CRASH
            verdict = Verdict(False, reason, [Message("error", f"coqidetop died: {exc}")])
        verdict.time_s = time.monotonic() - started
        return verdict

    def _exhausted(self) -> bool:
        """Whether the process came within reach of its address-space limit: then an allocation
        failure was the limit's doing, whatever the messages say (a proof can print anything). The
        failing request itself is never mapped, so the peak stays below the limit by its size: a
        1 GiB vector pushed to 1 GiB peaks at ~83 %, a 4 GiB one at ~96 %; an idle session at ~0.6 GiB."""
        return tree_peak_vm_bytes(self.ide.proc.pid) >= 0.75 * self.memory_bytes

    def _run(self, plan: Plan, proof: str, deadline: float) -> Verdict:
        nonce = "prv_" + secrets.token_hex(8)
        if self.per_check_header:
            failed = self._enter_header(plan.header, deadline)
            if failed is not None:
                where, why = failed
                if plan.statement is not None:
                    return fail(Reason.BAD_STATEMENT, [], f"header {where.text!r}: {why.text}")
                return Verdict(False, Reason.ERROR, [positioned(why, proof, where)])
        if plan.statement is not None:
            trusted = [s.text for s in plan.statement.prelude] + [
                f"Definition {nonce}_t{i} := {t.as_type()}." for i, t in enumerate(plan.statement.targets)
            ]
            for text in trusted:
                error = self._exec(text, deadline)
                if error is not None:
                    return fail(Reason.BAD_STATEMENT, [], f"{text!r}: {error.text}")
        before_candidate = self.tip
        messages: list[Message] = []
        for sentence in plan.candidate:
            error = self._exec(sentence.text, deadline)
            if error is not None:
                return Verdict(False, Reason.ERROR, [*messages, positioned(error, proof, sentence)])
            messages.extend(
                positioned(f, proof, sentence) for f in self.last.feedback if f.level == "warning"
            )
        # Nothing may be left open: a proof or a section makes the Module probe fail; a module or
        # functor (whose parameters are not axioms) puts the probe definition under another path.
        for probe in (
            f"Module {nonce}_m.",
            f"End {nonce}_m.",
            f"Definition {nonce}_p := tt.",
            f"Locate {nonce}_p.",
        ):
            if self._exec(probe, deadline) is not None:
                return fail(Reason.INCOMPLETE, messages, "a proof or section is left open")
        if self._notices().strip() != f"Constant Top.{nonce}_p":
            return fail(Reason.INCOMPLETE, messages, "a module is left open")
        if not plan.theorem_names:
            return fail(Reason.INCOMPLETE, messages, "the file proves no theorem")
        query = functools.partial(self._run_query, deadline=deadline)
        proved: list[str] = []  # the kernel path each theorem name resolves to
        all_axioms: list[str] = []
        for i, name in enumerate(plan.theorem_names):
            path = resolve(query, name)
            if path is None:
                return fail(Reason.INCOMPLETE, messages, f"theorem {name} is not a constant of the file")
            proved.append(path)
            checked = name
            if plan.statement is not None:
                # `@name` resolves in this same state as the About above, so it denotes `path`.
                checked = f"{nonce}_c{i}"
                error = self._exec(f"Definition {checked} : {nonce}_t{i} := fun _ => @{name}.", deadline)
                if error is not None:
                    return fail(Reason.STATEMENT_MISMATCH, messages, f"theorem {name}: {error.text}")
            problem, axioms = assumptions(query, checked, self.plugin)
            all_axioms.extend(a for a in axioms if a not in all_axioms)
            if problem is not None:
                return fail(Reason.AXIOMS, messages, f"theorem {name}: {problem}", all_axioms)
        # Back where the candidate started, Coq itself says what existed before it ran: each proved
        # constant must be new (not a library lemma or a trusted declaration that happens to bear the
        # target's name), and each axiom off the allow-list must be one the trusted statement declared.
        self._rewind(before_candidate, deadline)
        for name, path in zip(plan.theorem_names, proved, strict=True):
            if resolve(query, path) is not None:
                return fail(
                    Reason.STATEMENT_MISMATCH,
                    messages,
                    f"theorem {name} is {path}, which existed before the file ran",
                )
        for path in all_axioms:
            if path in ALLOWED_AXIOMS:
                continue
            if plan.statement is None or not path.startswith("Top.") or resolve(query, path) != path:
                return fail(
                    Reason.AXIOMS, messages, f"depends on axiom {path}, which is not allowed", all_axioms
                )
        return Verdict(True, None, messages, axioms=all_axioms)

    def _enter_header(self, header: list[Sentence], deadline: float) -> tuple[Sentence, Feedback] | None:
        """Put the tip at the state after ``header``, reusing the last header's state when equal.
        (Without a statement the header is the proof file's own: the guard has already scanned it.)"""
        key = "\n".join(s.normalized for s in header)
        if self.header_state is not None and self.header_state[0] == key:
            return None  # the previous check rewound to exactly this state
        self._rewind(self.base, deadline)
        self.header_state = None
        for sentence in header:
            error = self._exec(sentence.text, deadline)
            if error is not None:
                return sentence, error
        self.header_state = (key, self.tip)
        self.header_key = preload_key(key)
        return None
