"""Starting and stopping an ``isabelle server`` process that this backend owns.

The server runs in its own process group (``start_new_session``), so an overrun or a crash is
cleaned up by signalling exactly what it started (that group and its descendants): never by process
name, never anything else. Its stdout goes to a log file rather than a pipe, so a chatty server can
never block on a full pipe.

It is not run under the bubblewrap sandbox of ``prover.itp.sandbox``: the client must reach its TCP
port (``--unshare-all`` removes the network) and Isabelle keeps its heaps and server registry under
``$ISABELLE_HOME_USER``. The guard's rules (no ML, no file commands) carry that weight instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prover.itp.isabelle.client import SERVER_LINE_RE, ServerInfo, parse_server_line
from prover.itp.sandbox import tree_rss_bytes


class ServerProcess:
    """An ``isabelle server -n NAME`` child process and the connection details it printed."""

    def __init__(self, proc: subprocess.Popen[bytes], info: ServerInfo, log: Path) -> None:
        self.proc = proc
        self.info = info
        self.log = log
        self._known: dict[int, int] = {}  # pid -> start time of processes seen in our tree

    def remember_processes(self) -> None:
        """Note the processes the server has started so far (call once the ML session runs): if the
        server dies first, they are orphaned out of its tree, and ``kill`` still finds them."""
        self._known.update((p.pid, p.start) for p in started_processes(self.proc.pid))

    @classmethod
    def start(cls, command: Sequence[str], log: Path, timeout_s: float = 120.0) -> ServerProcess:
        """Run ``command`` (e.g. ``["isabelle", "server"]``) under a fresh server name and wait for
        its connection line. Raises ``RuntimeError`` with the log's tail if none appears in time."""
        name = f"prover-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*command, "-n", name],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if SERVER_LINE_RE.search(text):
                return cls(proc, parse_server_line(text), log)
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        server = cls(proc, ServerInfo(name, "", 0, ""), log)
        server.kill()
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"isabelle server printed no connection line: {' | '.join(tail) or 'no output'}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, grace_s: float = 2.0) -> None:
        """Terminate every process this server started: its process group, and descendants that
        left it (Isabelle may run its ML process under ``setsid``). The tree is read before the first
        signal, while the parent links still lead to those descendants."""
        known = {p.pid for p in _processes() if self._known.get(p.pid) == p.start}  # same pid *and* start
        targets = {p.pid for p in started_processes(self.proc.pid)} | known | {self.proc.pid}
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            for pid in sorted(targets):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                self.proc.poll()  # reap our direct child so it stops counting as alive
                targets = {p.pid for p in _processes() if p.pid in targets and not p.zombie}
                if not targets:
                    break
                time.sleep(0.02)
            if not targets:
                break
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5.0)

    def rss_bytes(self) -> int:
        return tree_rss_bytes(self.proc.pid)


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    zombie: bool
    start: int  # start time in clock ticks after boot: tells a reused pid from the original


def _processes() -> list[Proc]:
    """Every process visible in /proc (Linux)."""
    procs: list[Proc] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name, from field 3 (state): ppid is field 4,
        # pgrp 5, starttime 22 (proc(5)).
        f = stat[stat.rfind(")") + 2 :].split()
        if len(f) > 19:
            procs.append(Proc(int(entry.name), int(f[1]), int(f[2]), f[0] == "Z", int(f[19])))
    return procs


def started_processes(root: int) -> list[Proc]:
    """Live processes in ``root``'s process group or descended from ``root``."""
    procs = _processes()
    children: dict[int, list[int]] = {}
    for p in procs:
        children.setdefault(p.ppid, []).append(p.pid)
    tree: set[int] = set()
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, []))
    return [p for p in procs if not p.zombie and (p.pgid == root or p.pid in tree)]
