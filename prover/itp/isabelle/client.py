"""A small blocking client for the Isabelle server protocol (``isabelle server``).

Written against ``docs/protocols/isabelle-server.md`` and the recorded reply streams: one TCP
connection, the password as the first line, then ``NAME json`` commands. Replies come framed either
as one line or as a line holding a byte count followed by exactly that many bytes. Asynchronous
commands answer ``OK {"task": id}``, then ``NOTE``s, then one ``FINISHED`` or ``FAILED``.

Blocking sockets with deadlines keep the timeout story simple: the caller's wall-clock limit is the
only clock, a task that overruns it is cancelled, and a server that ignores the cancel is reported
so the owner of the process can kill it.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Any

SERVER_LINE_RE = re.compile(
    r'server "(?P<name>[^"]*)" = (?P<host>[^\s:]+):(?P<port>\d+) \(password "(?P<password>[^"]*)"\)'
)
_REPLY_RE = re.compile(r"([A-Za-z0-9_.]+)\s*(.*)\Z", re.S)
FINAL_REPLIES = ("FINISHED", "FAILED")


class ProtocolError(RuntimeError):
    """The peer does not speak the Isabelle server protocol as documented."""


class ServerCrashed(ProtocolError):
    """The connection ended (EOF or reset), possibly in the middle of a reply."""


class ReadTimeout(ProtocolError):
    """No complete reply before the deadline."""


class CommandError(RuntimeError):
    """The server answered ``ERROR``: a bad command or bad arguments."""

    def __init__(self, command: str, argument: Any) -> None:
        super().__init__(f"{command}: {argument}")
        self.argument = argument


class TaskTimeout(RuntimeError):
    """An asynchronous task ran past its deadline. ``cancelled`` tells whether the server confirmed
    the cancel with a final ``FAILED`` (the server is healthy) or stayed silent (it is stuck)."""

    def __init__(self, task: str, cancelled: bool) -> None:
        super().__init__(f"task {task} timed out ({'cancelled' if cancelled else 'server unresponsive'})")
        self.task = task
        self.cancelled = cancelled


@dataclass(frozen=True)
class ServerInfo:
    name: str
    host: str
    port: int
    password: str


def parse_server_line(line: str) -> ServerInfo:
    """Parse the ``server "NAME" = HOST:PORT (password "PW")`` line printed by ``isabelle server``."""
    m = SERVER_LINE_RE.search(line)
    if m is None:
        raise ProtocolError(f"not an Isabelle server line: {line.strip()[:200]!r}")
    return ServerInfo(m["name"], m["host"], int(m["port"]), m["password"])


@dataclass(frozen=True)
class Reply:
    """One message from the server. ``declared_length`` is the byte count of a long message."""

    name: str
    argument: Any
    declared_length: int | None = None


def parse_reply(text: str, declared_length: int | None = None) -> Reply:
    """Split ``NAME ARGUMENT``; the argument is JSON when it parses, otherwise kept as text (YXML)."""
    m = _REPLY_RE.match(text)
    if m is None:
        raise ProtocolError(f"malformed reply: {text[:200]!r}")
    rest = m.group(2)
    argument: Any = None
    if rest:
        try:
            argument = json.loads(rest)
        except json.JSONDecodeError:
            argument = rest
    return Reply(m.group(1), argument, declared_length)


def encode_command(name: str, argument: Any = None) -> bytes:
    """A command as one short message: JSON never needs a raw newline."""
    if argument is None:
        return f"{name}\n".encode()
    return f"{name} {json.dumps(argument, separators=(',', ':'))}\n".encode()


class MessageReader:
    """Reads framed messages from a socket, each before a deadline (``time.monotonic`` seconds)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ReadTimeout("no reply before the deadline")
        self._sock.settimeout(remaining)
        try:
            chunk = self._sock.recv(65536)
        except TimeoutError as exc:
            raise ReadTimeout("no reply before the deadline") from exc
        except OSError as exc:
            raise ServerCrashed(f"connection lost: {exc}") from exc
        if not chunk:
            raise ServerCrashed("the server closed the connection")
        self._buf += chunk

    def _line(self, deadline: float) -> bytes:
        while (k := self._buf.find(b"\n")) < 0:
            self._fill(deadline)
        line = bytes(self._buf[:k])
        del self._buf[: k + 1]
        return line.rstrip(b"\r")

    def _exactly(self, n: int, deadline: float) -> bytes:
        while len(self._buf) < n:
            self._fill(deadline)
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def read(self, deadline: float) -> Reply:
        while True:
            line = self._line(deadline)
            if not line.strip():
                continue  # the recorded streams carry stray blank lines between messages
            if line.isdigit():
                n = int(line)
                body = self._exactly(n, deadline)
                if body.endswith(b"\n"):
                    body = body[:-1]
                return parse_reply(body.decode("utf-8", "replace"), n)
            return parse_reply(line.decode("utf-8", "replace"))


@dataclass
class TaskResult:
    """The end of an asynchronous task: ``finished`` is False for ``FAILED``."""

    task: str
    finished: bool
    result: dict[str, Any]
    notes: list[dict[str, Any]] = field(default_factory=list)


class IsabelleClient:
    """One authenticated connection to an Isabelle server."""

    def __init__(self, sock: socket.socket, isabelle_name: str) -> None:
        self._sock = sock
        self._reader = MessageReader(sock)
        self.isabelle_name = isabelle_name
        self._owed_acks = 0  # cancels sent whose own OK has not been read yet

    @classmethod
    def connect(cls, info: ServerInfo, timeout_s: float = 30.0) -> IsabelleClient:
        deadline = time.monotonic() + timeout_s
        try:
            sock = socket.create_connection((info.host, info.port), timeout=timeout_s)
        except OSError as exc:
            raise ServerCrashed(f"cannot connect to {info.host}:{info.port}: {exc}") from exc
        try:
            sock.sendall(info.password.encode() + b"\n")
            reader = MessageReader(sock)
            try:
                hello = reader.read(deadline)
            except ServerCrashed as exc:
                raise ProtocolError(
                    "the server closed the connection after the password: wrong password?"
                ) from exc
            if hello.name != "OK":
                raise ProtocolError(f"unexpected handshake reply {hello.name} {hello.argument!r}")
            arg = hello.argument if isinstance(hello.argument, dict) else {}
            client = cls(sock, str(arg.get("isabelle_name", "")))
            client._reader = reader  # keep anything already buffered after the handshake
            return client
        except BaseException:
            sock.close()
            raise

    def send(self, name: str, argument: Any = None) -> None:
        try:
            self._sock.sendall(encode_command(name, argument))
        except OSError as exc:
            raise ServerCrashed(f"connection lost while sending {name}: {exc}") from exc

    def read(self, deadline: float) -> Reply:
        return self._reader.read(deadline)

    def _immediate(self, name: str, deadline: float) -> Any:
        """The synchronous ``OK``/``ERROR`` answer to the command just sent (NOTEs may come first).
        Synchronous answers come in command order, so owed answers to earlier cancels come first."""
        while True:
            reply = self.read(deadline)
            if reply.name not in ("OK", "ERROR"):
                continue
            if self._owed_acks:
                self._owed_acks -= 1
                continue
            if reply.name == "ERROR":
                raise CommandError(name, reply.argument)
            return reply.argument

    def command(self, name: str, argument: Any = None, timeout_s: float = 30.0) -> Any:
        """Run a synchronous command (``help``, ``echo``, ``purge_theories``, ``cancel``, ...)."""
        self.send(name, argument)
        return self._immediate(name, time.monotonic() + timeout_s)

    def task(self, name: str, argument: Any, timeout_s: float, cancel_grace_s: float = 5.0) -> TaskResult:
        """Run an asynchronous command to its ``FINISHED``/``FAILED``. On overrun, send ``cancel`` and
        wait ``cancel_grace_s`` for the final reply; raises ``TaskTimeout`` if it was not finished."""
        deadline = time.monotonic() + timeout_s
        self.send(name, argument)
        try:
            started = self._immediate(name, deadline)
        except ReadTimeout:
            raise TaskTimeout("(not started)", cancelled=False) from None
        task = started.get("task") if isinstance(started, dict) else None
        if not isinstance(task, str):
            raise ProtocolError(f"{name} did not start a task: {started!r}")
        notes: list[dict[str, Any]] = []
        try:
            return self._await(task, deadline, notes)
        except ReadTimeout:
            pass
        self.send("cancel", {"task": task})
        self._owed_acks += 1
        try:
            result = self._await(task, time.monotonic() + cancel_grace_s, notes)
        except ReadTimeout:
            raise TaskTimeout(task, cancelled=False) from None
        if result.finished:
            return result  # it finished just as the cancel went out: the result stands
        raise TaskTimeout(task, cancelled=True)

    def _await(self, task: str, deadline: float, notes: list[dict[str, Any]]) -> TaskResult:
        while True:
            reply = self.read(deadline)
            arg = reply.argument if isinstance(reply.argument, dict) else {}
            # NOTEs without a task field (nodes_status) belong to whatever runs: keep them.
            if arg.get("task", task) != task:
                continue
            if reply.name in ("OK", "ERROR") and self._owed_acks:
                self._owed_acks -= 1  # the answer to our cancel
            elif reply.name == "NOTE":
                notes.append(arg)
            elif reply.name in FINAL_REPLIES:
                return TaskResult(task, reply.name == "FINISHED", arg, notes)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()
