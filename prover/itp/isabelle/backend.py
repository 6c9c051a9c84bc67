"""The Isabelle backend: an ``isabelle server`` per session, one ``use_theories`` per check.

A session owns one server process (its own process group) and one PIDE session started from the
``Prover`` heap image built from ``isabelle/ROOT``. Each check writes a theory file under a fresh
name into the session's scratch directory (see ``isabelle_theory`` for what goes into it), asks the
server to check it, reads ``ok``/``errors``/node status, then purges the theory so memory stays flat.
A check that overruns is cancelled; a server that ignores the cancel is killed by process group,
and the next check starts a fresh one.

Configuration (environment): ``PROVER_ISABELLE`` (the ``isabelle`` executable), ``PROVER_ISABELLE_SERVER``
(attach to a running server: the line ``isabelle server`` printed), ``PROVER_ISABELLE_ROOT`` (the
directory holding ROOT), ``PROVER_ISABELLE_AFP`` (an AFP ``thys`` directory, for AFP imports).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from prover.itp.isabelle.client import (
    CommandError,
    IsabelleClient,
    ProtocolError,
    ServerInfo,
    TaskTimeout,
    parse_server_line,
)
from prover.itp.isabelle.file import Built
from prover.itp.isabelle.guard import (
    ALWAYS_RULES,
    ANTIQUOTATION_RULES,
    BEFORE_TARGET_RULES,
    HEAP_IMPORTS,
    STATEMENT_RULES,
)
from prover.itp.isabelle.server import ServerProcess
from prover.itp.isabelle.theory import Rejected, parse_target, prepare, static_check

SESSION = "Prover"
DEFAULT_ROOT = Path(__file__).resolve().parents[3] / "isabelle"
_DISTRIBUTION_SESSIONS = ("HOL", "Pure", "Main", "Complex_Main")
INSTALL_HINT = (
    "isabelle not found on PATH: install Isabelle2025 from https://isabelle.in.tum.de/installation.html, "
    "put its bin/ directory on PATH (or set PROVER_ISABELLE), then build the heap once with "
    "`isabelle build -b -d isabelle Prover`"
)


@dataclass(frozen=True)
class IsabelleConfig:
    executable: str = "isabelle"
    root_dir: Path = DEFAULT_ROOT
    server: str | None = None  # attach to this running server instead of starting one
    afp_dir: Path | None = None
    session: str = SESSION
    options: tuple[str, ...] = ("quick_and_dirty=false",)
    server_start_timeout_s: float = 120.0
    session_start_timeout_s: float = 1800.0  # the first start may build the heap image
    cancel_grace_s: float = 5.0
    command_timeout_s: float = 30.0
    # A JVM plus an ML process holding the HOL-Number_Theory heap: estimates, not yet measured.
    # Not enforced as rlimits (the JVM reserves far more address space than it uses); the pool
    # recycles a session whose resident memory passes ``max_rss_bytes``.
    memory_bytes: int = 16 * GIB
    max_rss_bytes: int = 8 * GIB

    @classmethod
    def from_env(cls) -> IsabelleConfig:
        afp = os.environ.get("PROVER_ISABELLE_AFP")
        return cls(
            executable=os.environ.get("PROVER_ISABELLE", "isabelle"),
            root_dir=Path(os.environ.get("PROVER_ISABELLE_ROOT", DEFAULT_ROOT)),
            server=os.environ.get("PROVER_ISABELLE_SERVER") or None,
            afp_dir=Path(afp) if afp else None,
        )


def _extra_sessions(imports: tuple[str, ...]) -> list[str]:
    """Sessions outside the Isabelle distribution that ``imports`` need (AFP entries)."""
    quals = {imp.split(".", 1)[0] for imp in imports if "." in imp}
    return sorted(q for q in quals if q not in _DISTRIBUTION_SESSIONS and not q.startswith("HOL-"))


class IsabelleBackend:
    """Isabelle/HOL through the Isabelle server protocol."""

    name = "isabelle"

    def __init__(self, config: IsabelleConfig | None = None) -> None:
        self.config = config or IsabelleConfig.from_env()
        self._version: str | None = None

    def _isabelle_version(self) -> str:
        """``isabelle version`` (asked once), or why there is none."""
        if self._version is None:
            if self.config.server is not None:
                self._version = f"attached server {parse_server_line(self.config.server).name}"
            else:
                status = self.availability()
                self._version = status.detail if status.usable else "not installed"
        return self._version

    def availability(self) -> Availability:
        if self.config.server is not None:
            return Availability(True, f"attached server {parse_server_line(self.config.server).name}")
        exe = shutil.which(self.config.executable)
        if exe is None:
            return Availability(False, INSTALL_HINT)
        try:
            out = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Availability(False, f"`{exe} version` failed ({exc}); {INSTALL_HINT}")
        version = out.stdout.strip().splitlines()[0] if out.stdout.strip() else ""
        if out.returncode != 0 or not version:
            return Availability(False, f"`{exe} version` exited {out.returncode}; reinstall Isabelle2025")
        return Availability(True, f"{version}, session {self.config.session} from {self.config.root_dir}")

    def identity(self) -> str:
        config = self.config
        rules = (*ALWAYS_RULES, *STATEMENT_RULES, *BEFORE_TARGET_RULES, *ANTIQUOTATION_RULES)
        return json.dumps(
            {
                "backend": self.name,
                "isabelle": self._isabelle_version(),
                "session": config.session,
                "root_dir": str(config.root_dir),
                "afp_dir": None if config.afp_dir is None else str(config.afp_dir),
                "options": list(config.options),
                "heap_imports": sorted(HEAP_IMPORTS),
                "rules": [rule.pattern.pattern for rule in rules],
            },
            sort_keys=True,
        )

    def limits_for(self, limits: Limits) -> Limits:
        """Isabelle's memory limits where ``limits`` leaves them unset (a limit the user chose is
        kept): with a generic few GiB the pool would recycle after every check."""
        return limits.with_defaults(
            memory_bytes=self.config.memory_bytes, max_rss_bytes=self.config.max_rss_bytes
        )

    def static_check(self, request: CheckRequest) -> StaticVerdict:
        return static_check(request)

    def header_key(self, request: CheckRequest) -> str:
        """One key per heap image (plus the AFP sessions a statement needs): imports differ per
        problem, but every theory is checked in the same PIDE session."""
        imports = parse_target(request.statement).imports if request.statement is not None else ()
        return "+".join([f"isabelle:{self.config.session}", *_extra_sessions(imports)])

    def open_session(self, header_key: str, workdir: Path, limits: Limits) -> IsabelleSession:
        status = self.availability()
        if not status.usable:
            raise BackendUnavailable(status.detail)
        afp_sessions = header_key.split("+")[1:]
        if afp_sessions and self.config.afp_dir is None:
            raise BackendUnavailable(
                f"this problem imports AFP sessions ({', '.join(afp_sessions)}): download the AFP from "
                "https://www.isa-afp.org and set PROVER_ISABELLE_AFP to its thys/ directory"
            )
        return IsabelleSession(self.config, header_key, workdir, limits, afp_sessions)


@dataclass
class TheoryRun:
    """What ``use_theories`` said about one theory."""

    finished: bool  # False: the task FAILED (e.g. a bad session id)
    ok: bool
    errors: list[dict[str, Any]] = field(default_factory=list)
    node: dict[str, Any] | None = None
    failure: str = ""


class IsabelleSession:
    """One ``isabelle server`` (or an attached one) with the Prover session started."""

    def __init__(
        self, config: IsabelleConfig, header_key: str, workdir: Path, limits: Limits, afp_sessions: list[str]
    ) -> None:
        self.header_key = header_key
        self.config = config
        self.limits = limits
        self.restarts = 0
        self._afp_sessions = afp_sessions
        self._workdir = workdir
        self._master = workdir / f"isabelle-{uuid.uuid4().hex[:8]}"
        self._server: ServerProcess | None = None
        self._client: IsabelleClient | None = None
        self._session_id: str | None = None
        self._start()

    # -- lifecycle ---------------------------------------------------------------------------------

    def _start(self) -> None:
        self._master.mkdir(parents=True, exist_ok=True)
        try:
            if self.config.server is not None:
                info: ServerInfo = parse_server_line(self.config.server)
            else:
                command = [self.config.executable, "server"]
                log = self._workdir / "isabelle-server.log"
                self._server = ServerProcess.start(command, log, self.config.server_start_timeout_s)
                info = self._server.info
            self._client = IsabelleClient.connect(info, self.config.command_timeout_s)
            dirs = [str(self.config.root_dir), *([str(self.config.afp_dir)] if self._afp_sessions else [])]
            args = {
                "session": self.config.session,
                "dirs": dirs,
                "options": list(self.config.options),
                "include_sessions": self._afp_sessions,
                "verbose": False,
                "print_mode": [],
            }
            started = self._client.task("session_start", args, self.config.session_start_timeout_s)
        except (ProtocolError, TaskTimeout, CommandError) as exc:
            self._shutdown()
            raise RuntimeError(f"Isabelle session {self.config.session} did not start: {exc}") from exc
        if not started.finished or not isinstance(started.result.get("session_id"), str):
            self._shutdown()
            detail = started.result.get("message", started.result)
            raise RuntimeError(f"Isabelle session {self.config.session} did not start: {detail}")
        self._session_id = started.result["session_id"]
        if self._server is not None:
            self._server.remember_processes()

    def _shutdown(self) -> None:
        """Drop the connection and kill the server process group we started (attached servers are
        left running: they are not ours to kill)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._server is not None:
            self._server.kill()
            self._server = None
        self._session_id = None

    def accepts(self, header_key: str) -> bool:
        """Any theory runs in this PIDE session if the AFP sessions it needs were included."""
        base, *afp = header_key.split("+")
        return base == self.header_key.split("+")[0] and set(afp) <= set(self._afp_sessions)

    def alive(self) -> bool:
        if self._client is None or self._session_id is None:
            return False
        return self._server is None or self._server.alive()

    def rss_bytes(self) -> int:
        return self._server.rss_bytes() if self._server is not None else 0

    def close(self) -> None:
        if self._client is not None and self._session_id is not None:
            try:
                self._client.task("session_stop", {"session_id": self._session_id}, timeout_s=10.0)
                if self._server is not None:
                    self._client.command("shutdown", timeout_s=5.0)
            except (ProtocolError, TaskTimeout, CommandError):
                pass  # the process group is killed below either way
        self._shutdown()
        shutil.rmtree(self._master, ignore_errors=True)

    # -- checking ----------------------------------------------------------------------------------

    def run_theory(self, name: str, built: Built, timeout_s: float) -> TheoryRun:
        """Check the theory ``name`` with text ``built.text``, then purge it. Raises ``TaskTimeout``
        (after killing a server that ignored the cancel) or ``ProtocolError`` (after a crash)."""
        if not self.alive():
            self.restarts += 1
            self._shutdown()
            self._start()
        assert self._client is not None and self._session_id is not None
        path = self._master / f"{name}.thy"
        path.write_text(built.text, encoding="utf-8")
        args = {
            "session_id": self._session_id,
            "theories": [name],
            "master_dir": str(self._master),
            "unicode_symbols": False,
            "watchdog_timeout": timeout_s + self.config.cancel_grace_s,
        }
        try:
            task = self._client.task("use_theories", args, timeout_s, self.config.cancel_grace_s)
        except TaskTimeout as exc:
            if not exc.cancelled:
                self._shutdown()
            else:
                self._purge(name)
            raise
        except ProtocolError:
            self._shutdown()
            raise
        finally:
            path.unlink(missing_ok=True)
        self._purge(name)
        result = task.result
        errors = [e for e in result.get("errors", []) if isinstance(e, dict)]
        if not task.finished:
            return TheoryRun(False, False, errors, None, str(result.get("message", "use_theories failed")))
        return TheoryRun(True, result.get("ok") is True, errors, _node_for(result, name))

    def _purge(self, name: str) -> None:
        if self._client is None:
            return
        args = {"session_id": self._session_id, "theories": [name], "master_dir": str(self._master)}
        try:
            self._client.command("purge_theories", args, self.config.command_timeout_s)
        except CommandError:
            pass  # nothing to purge: not worth failing a check over
        except ProtocolError:
            self._shutdown()

    def check(self, request: CheckRequest, timeout_s: float) -> Verdict:
        start = time.monotonic()
        name = f"Prover_Check_{uuid.uuid4().hex[:12]}"
        built = prepare(request.proof, request.statement, name)  # the static layer (see static_check)
        if isinstance(built, Rejected):
            return Verdict(False, built.reason, built.messages, time.monotonic() - start, detail=built.detail)
        try:
            run = self.run_theory(name, built, timeout_s)
        except TaskTimeout:
            detail = f"Isabelle did not finish within {timeout_s:g} s"
            verdict = _failed(Reason.TIMEOUT, detail)
        except ProtocolError as exc:
            verdict = _failed(Reason.CRASH, str(exc))
        except CommandError as exc:
            verdict = _failed(Reason.ERROR, str(exc))
        else:
            verdict = judge(run, built, name)
        verdict.time_s = time.monotonic() - start
        return verdict


def _failed(reason: Reason, detail: str, messages: list[Message] | None = None) -> Verdict:
    """A failed check whose detail is the first line of ``detail`` (also its message unless given)."""
    first = detail.strip().splitlines()[0] if detail.strip() else None
    return Verdict(False, reason, [Message("error", detail)] if messages is None else messages, detail=first)


def _node_for(result: dict[str, Any], name: str) -> dict[str, Any] | None:
    for node in result.get("nodes", []):
        if not isinstance(node, dict):
            continue
        theory = str(node.get("theory_name", ""))
        if theory == name or theory.endswith(f".{name}") or Path(str(node.get("node_name", ""))).stem == name:
            return node
    return None


def to_message(raw: dict[str, Any], built: Built, name: str) -> tuple[str, Message]:
    """An Isabelle message as a candidate-positioned ``Message``, with the part it points into."""
    kind = str(raw.get("kind", "error"))
    severity = {"writeln": "info", "information": "info"}.get(kind, kind)
    text = str(raw.get("message", ""))
    pos = raw.get("pos")
    if not isinstance(pos, dict):
        return "unknown", Message(severity, text)
    file = pos.get("file")
    if isinstance(file, str) and file and Path(file).stem != name:
        return "import", Message(severity, f"{file}: {text}")
    origin, line, col = built.locate(pos)
    if origin == "candidate":
        return origin, Message(severity, text, line, col)
    return origin, Message(severity, f"(generated line {line}, {origin}) {text}" if line else text)


def judge(run: TheoryRun, built: Built, name: str) -> Verdict:
    """The verdict on one ``use_theories`` run, with the messages worth reporting."""
    if not run.finished:
        return _failed(Reason.ERROR, run.failure)
    raws = list(run.errors)
    for m in run.node.get("messages", []) if run.node is not None else []:
        # The node's own errors are already in ``errors``; an extra one would still sink the check.
        if isinstance(m, dict) and m.get("kind") in ("error", "warning") and m not in raws:
            raws.append(m)
    located = [to_message(raw, built, name) for raw in raws]
    messages = [m for _, m in located]
    errors = [m for m in messages if m.severity == "error"]
    first_error = errors[0].text if errors else "Isabelle reported failure without a message"
    if not run.ok or errors:
        if any(origin in ("header", "preamble") for origin, m in located if m.severity == "error"):
            return _failed(Reason.BAD_STATEMENT, first_error, messages)
        return _failed(Reason.ERROR, first_error, messages or [Message("error", first_error)])
    status = run.node.get("status", {}) if run.node is not None else None
    if not isinstance(status, dict):
        detail = f"Isabelle did not report theory {name}"
        return _failed(Reason.ERROR, detail, [*messages, Message("error", detail)])
    if status.get("failed", 0) != 0 or status.get("ok") is False:
        return _failed(Reason.ERROR, "the theory failed", messages)
    if status.get("consolidated") is not True or status.get("unprocessed", 0) != 0:
        detail = "the theory was not fully processed"
        return _failed(Reason.INCOMPLETE, detail, [*messages, Message("error", detail)])
    return Verdict(True, None, messages)
