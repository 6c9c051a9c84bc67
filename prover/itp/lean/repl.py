"""One Lean REPL process: start it, frame requests, read replies under a wall-clock deadline.

The REPL has no per-request timeout and no way to cancel a request, so an overrun kills the process
group this client started (``start_new_session``), never anything found by name. Replies are read
with ``select`` on the raw pipe so that the deadline also holds while a reply is half written.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import select
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from prover.itp.lean.protocol import (
    CommandReply,
    ErrorReply,
    ProtocolError,
    TacticReply,
    decode_reply,
    encode_request,
    parse_reply,
)
from prover.itp.sandbox import resource_limits, tree_rss_bytes

_STDERR_KEEP = 64 * 1024  # enough for a crash trace, bounded so a chatty process cannot eat memory


class ReplError(RuntimeError):
    """The process cannot be used any more (it has been killed or has died)."""


class ReplTimeout(ReplError):
    """No complete reply within the deadline; the process group has been killed."""


class ReplCrashed(ReplError):
    """The process exited (or closed stdout) before a complete reply."""

    def __init__(self, detail: str, returncode: int | None, stderr_tail: str) -> None:
        super().__init__(detail)
        self.returncode = returncode
        self.stderr_tail = stderr_tail

    @property
    def out_of_memory(self) -> bool:
        # SIGKILL that we did not send is almost always the OOM killer; an RLIMIT_AS overrun makes
        # Lean's allocator abort with an "out of memory" line on stderr instead.
        return self.returncode in (-signal.SIGKILL, 137) or "out of memory" in self.stderr_tail.lower()


@dataclass(frozen=True)
class ReplLaunch:
    """How to start the process. ``argv`` is injectable so tests can run a stand-in."""

    argv: tuple[str, ...]
    cwd: Path
    memory_bytes: int | None = None  # RLIMIT_AS applied in the child
    extra_env: Mapping[str, str] = field(default_factory=dict)  # added to the inherited environment


class ReplProcess:
    """A live REPL. Every method that talks to it takes a timeout and raises ``ReplError`` subclasses."""

    def __init__(self, launch: ReplLaunch) -> None:
        self.launch = launch
        env = {**os.environ, **launch.extra_env}
        self._proc = subprocess.Popen(
            list(launch.argv),
            cwd=launch.cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: what a timeout kills
            preexec_fn=None if launch.memory_bytes is None else resource_limits(launch.memory_bytes),
        )
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr
        self._in = self._proc.stdin.fileno()
        self._out = self._proc.stdout.fileno()
        fcntl.fcntl(self._in, fcntl.F_SETFL, fcntl.fcntl(self._in, fcntl.F_GETFL) | os.O_NONBLOCK)
        self._buf = bytearray()
        self._stderr: deque[bytes] = deque()
        self._stderr_size = 0
        self._stderr_lock = threading.Lock()
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drain.start()
        self._dead = False
        self.requests_sent = 0

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.poll()

    def alive(self) -> bool:
        return not self._dead and self._proc.poll() is None

    def kill(self) -> None:
        """Kill the whole process group (``lake env`` runs the REPL as its child). Idempotent."""
        self._dead = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        self._drain.join(timeout=1)  # stderr reaches end of file once the group is gone
        streams = [self._proc.stdin, self._proc.stdout]
        if not self._drain.is_alive():  # never close a stream another thread is reading
            streams.append(self._proc.stderr)
        for stream in streams:
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def close(self, grace_s: float = 1.0) -> None:
        """End of input ends the REPL cleanly; whatever is left of the group after ``grace_s`` is killed."""
        if self._proc.poll() is None and not self._dead:
            assert self._proc.stdin is not None
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=grace_s)
        self.kill()

    def stderr_tail(self) -> str:
        with self._stderr_lock:
            return b"".join(self._stderr).decode("utf-8", errors="replace")

    def rss_bytes(self) -> int:
        """Resident memory of the process and its descendants (the REPL is a child of ``lake``)."""
        return tree_rss_bytes(self._proc.pid)

    # ---- protocol --------------------------------------------------------------------------
    def request(self, request: Mapping[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request and return its decoded reply. On timeout the process is killed."""
        if self._dead:
            raise ReplError("the REPL process was killed")
        deadline = time.monotonic() + timeout_s
        try:
            self._write_all(encode_request(request), deadline)
            self.requests_sent += 1
            return decode_reply(self._read_reply(deadline))
        except ReplTimeout:
            self.kill()
            raise
        except ProtocolError:
            self.kill()  # we no longer know where one reply ends and the next begins
            raise

    def command(
        self, cmd: str, env: int | None, timeout_s: float, **options: Any
    ) -> CommandReply | ErrorReply:
        """Command mode. ``options`` are passed through (``allTactics``, ``rootGoals``, ``infotree``)."""
        request: dict[str, Any] = {"cmd": cmd, **options}
        if env is not None:
            request["env"] = env
        reply = parse_reply(self.request(request, timeout_s))
        if isinstance(reply, TacticReply):
            raise ProtocolError("a command request got a tactic reply")
        return reply

    def tactic(self, proof_state: int, tactic: str, timeout_s: float) -> TacticReply | ErrorReply:
        reply = parse_reply(self.request({"tactic": tactic, "proofState": proof_state}, timeout_s))
        if isinstance(reply, CommandReply):
            raise ProtocolError("a tactic request got a command reply")
        return reply

    # ---- bytes -----------------------------------------------------------------------------
    def _write_all(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReplTimeout("timed out writing the request")
            _, writable, _ = select.select([], [self._in], [], remaining)
            if not writable:
                continue
            try:
                written = os.write(self._in, view)
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError) as exc:
                raise self._crashed(f"the REPL closed its input ({exc.__class__.__name__})") from exc
            view = view[written:]

    def _read_line(self, deadline: float, partial: bool) -> str:
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                return line.decode("utf-8", errors="replace").rstrip("\r")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReplTimeout("no complete reply before the deadline")
            readable, _, _ = select.select([self._out], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(self._out, 65536)
            if not chunk:
                where = "in the middle of a reply" if partial or self._buf else "before replying"
                raise self._crashed(f"the REPL exited {where}")
            self._buf += chunk

    def _read_reply(self, deadline: float) -> str:
        """Lines up to the first blank one; string values never hold raw newlines, so that ends it."""
        lines: list[str] = []
        while True:
            line = self._read_line(deadline, partial=bool(lines))
            if line.strip():
                lines.append(line)
            elif lines:
                return "\n".join(lines)

    def _crashed(self, detail: str) -> ReplCrashed:
        self._dead = True
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=2)
        self._drain.join(timeout=1)
        crash = ReplCrashed(detail, self._proc.poll(), self.stderr_tail())
        self.kill()  # reap anything the dead leader left behind in its group
        return crash

    def _drain_stderr(self) -> None:
        # Through the file object, not its fd: a closed object raises, a closed fd number may
        # already belong to another process's pipe.
        stream = cast(io.BufferedReader, self._proc.stderr)
        with contextlib.suppress(OSError, ValueError):
            for chunk in iter(lambda: stream.read1(4096), b""):
                with self._stderr_lock:
                    self._stderr.append(chunk)
                    self._stderr_size += len(chunk)
                    while self._stderr_size > _STDERR_KEEP and len(self._stderr) > 1:
                        self._stderr_size -= len(self._stderr.popleft())
