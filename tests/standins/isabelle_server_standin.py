#!/usr/bin/env python3
"""STAND-IN for ``isabelle server``. It is not Isabelle and checks nothing.

It behaves like the server at the protocol level, on 127.0.0.1 only: prints the
``server "NAME" = 127.0.0.1:PORT (password "PW")`` line, closes connections whose first line is not
the password, greets with the handshake line of the isabelle-client mock server, and answers each
command with the recorded reply stream of the same name from tests/fixtures/isabelle-server
(``help``, ``cancel``, ``purge_theories``, ``session_build``, ``session_start``, ``session_stop``,
``shutdown``, ``unknown``, ``use_theories`` and its ``.Fail``/``.Sledgehammer`` variants).

A JSON scenario file (``--scenario``) picks the ``use_theories`` reply. The stand-in reads the theory
file the client wrote (``master_dir/NAME.thy``, which must start with ``theory NAME``) and applies
the first rule whose ``match`` text occurs in it:
    {"match": TEXT, "stream": "use_theories.Fail", "anchor": TEXT}   serve that recorded stream
    {"match": TEXT, "action": "hang"}          send ``OK {"task"}``, then nothing until ``cancel``,
                                               which it answers with ``FAILED ... "Interrupt"``
    {"match": TEXT, "action": "stuck"}         send ``OK {"task"}``, then never anything again
    {"match": TEXT, "action": "crash", "bytes": N}   send N bytes of the stream, then die
    {"match": TEXT, "action": "slow", "delay_s": S}  start the task, finish it S seconds later
Without a matching rule the stream is ``use_theories.NAME`` if recorded, else ``use_theories``.
Recorded bytes go out unchanged, except for the one missing final newline that
``restore_final_newline`` puts back. With ``"adapt": true`` the recorded names (``Draft.Example``,
``Example.thy``) become the requested theory's and, when the rule has an ``anchor``, every message
position moves to the anchor's first occurrence in the file; the adapted messages are re-framed as
the server frames them (a byte count line for messages over 100 bytes).

``"record_dir"`` keeps a copy of every theory file read and a log of the commands received.
``"spawn_child": true`` starts a child process in a session of its own (as Isabelle's ML process
may be) and writes its pid to ``record_dir/child.pid``.
Run as ``standin.py [--scenario FILE] server -n NAME`` or ``standin.py version``; it exits after
``shutdown`` or after ``lifetime_s`` (default 120) seconds, whichever comes first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

HANDSHAKE = b'OK {"isabelle_id":"mock","isabelle_name":"Isabelle2025-2"}\n'
DEFAULT_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "isabelle-server" / "isabelle-client-1.1.2"
RECORDED = (
    "cancel",
    "help",
    "purge_theories",
    "session_build",
    "session_start",
    "session_stop",
    "shutdown",
    "unknown",
    "use_theories",
    "use_theories.Fail",
    "use_theories.Sledgehammer",
)


def split_stream(data: bytes) -> list[bytes]:
    """The messages of a recorded stream (the stand-in's own reader, independent of the client's)."""
    messages, i = [], 0
    while i < len(data):
        j = data.find(b"\n", i)
        j = len(data) if j < 0 else j
        line = data[i:j]
        i = j + 1
        if line.isdigit():
            body = data[i : i + int(line)]
            i += int(line)
            messages.append(body[:-1] if body.endswith(b"\n") else body)
        elif line.strip():
            messages.append(line)
    return messages


def restore_final_newline(data: bytes) -> bytes:
    """The one repair the recordings need: ``use_theories.Sledgehammer`` lost its last byte, the LF
    that ends its final long message (declared 2057 bytes, 2056 present; hand-edited fixtures, see
    their README). Isabelle always writes that LF, and a client waiting for the declared count would
    otherwise wait forever. Nothing else is changed."""
    return data if data.endswith(b"\n") else data + b"\n"


def frame(message: bytes) -> bytes:
    """As Isabelle/Scala writes: a length line when the message is long or has a newline."""
    if len(message) > 100 or b"\n" in message:
        return str(len(message) + 1).encode() + b"\n" + message + b"\n"
    return message + b"\n"


def _symbol_offset(text: str, index: int) -> int:
    return len(re.findall(r"\\<\^?[A-Za-z][A-Za-z0-9_']*>|.", text[:index], re.S)) + 1


def adapt(data: bytes, theory: str, text: str, anchor: str | None) -> bytes:
    """The recorded stream renamed to ``theory``, positions moved to ``anchor`` in ``text``."""
    pos = None
    if anchor is not None and anchor in text:
        k = text.index(anchor)
        start = _symbol_offset(text, k)
        pos = {
            "line": text.count("\n", 0, k) + 1,
            "offset": start,
            "end_offset": start + len(anchor),
            "file": f"{theory}.thy",
        }

    def fix(value: Any) -> Any:
        if isinstance(value, dict):
            fixed = {key: fix(v) for key, v in value.items()}
            if pos is not None and "pos" in fixed:
                fixed["pos"] = dict(pos)
            return fixed
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, str):
            return re.sub(r"\b(Example|Problem)\b", theory, value)
        return value

    out = b""
    for message in split_stream(data):
        name, _, rest = message.decode().partition(" ")
        arg = json.dumps(fix(json.loads(rest)), separators=(",", ":")) if rest else ""
        out += frame(f"{name} {arg}".strip().encode())
    return out


class Standin:
    def __init__(self, scenario: dict[str, Any]) -> None:
        self.fixtures = Path(scenario.get("fixtures", DEFAULT_FIXTURES))
        self.password = scenario.get("password") or str(uuid.uuid4())
        self.rules: list[dict[str, Any]] = scenario.get("rules", [])
        self.adapt = bool(scenario.get("adapt", False))
        self.record = Path(scenario["record_dir"]) if scenario.get("record_dir") else None
        self.done = threading.Event()
        self.lock = threading.Lock()

    def stream(self, name: str) -> bytes:
        return restore_final_newline((self.fixtures / name).read_bytes())

    def log(self, entry: dict[str, Any]) -> None:
        if self.record is None:
            return
        with self.lock, (self.record / "commands.jsonl").open("a") as f:
            f.write(json.dumps(entry) + "\n")

    def use_theories(self, arg: dict[str, Any]) -> tuple[bytes, dict[str, Any] | None]:
        """The reply bytes, and the rule that chose them."""
        theory = arg["theories"][0]
        path = Path(arg["master_dir"]) / f"{theory}.thy"
        text = path.read_text(encoding="utf-8")
        if not re.match(rf"\s*theory\s+{re.escape(theory)}\b", text):
            raise ValueError(f"{path} does not declare theory {theory}")
        if self.record is not None:
            (self.record / f"{theory}.thy").write_text(text, encoding="utf-8")
        rule = next((r for r in self.rules if r["match"] in text), None)
        name = (
            f"use_theories.{theory}"
            if (self.fixtures / f"use_theories.{theory}").exists()
            else "use_theories"
        )
        name = rule.get("stream", name) if rule else name
        data = self.stream(name)
        if self.adapt:
            data = adapt(data, theory, text, rule.get("anchor") if rule else None)
        return data, rule


class Handler(socketserver.StreamRequestHandler):
    server: Server

    def handle(self) -> None:
        standin = self.server.standin
        if self.rfile.readline().rstrip(b"\r\n").decode() != standin.password:
            return  # a wrong password gets the connection closed without a word
        self.wfile.write(HANDSHAKE)
        hanging: str | None = None
        for raw in self.rfile:
            line = raw.rstrip(b"\r\n").decode()
            if not line:
                continue
            if line.isdigit():
                line = self.rfile.read(int(line)).decode().rstrip("\n")
            name, _, rest = line.partition(" ")
            arg = json.loads(rest) if rest else None
            standin.log({"command": name, "argument": arg})
            if name == "use_theories":
                data, rule = standin.use_theories(arg)
                action = rule.get("action") if rule else None
                if action in ("hang", "stuck"):
                    first = split_stream(data)[0]
                    self.wfile.write(frame(first))
                    self.wfile.flush()
                    if action == "stuck":
                        standin.done.wait(self.server.lifetime_s)  # never answers again
                        return
                    hanging = json.loads(first.decode().partition(" ")[2])["task"]
                    continue
                if action == "slow":  # starts the task at once, ends it after the client gave up waiting
                    assert rule is not None
                    cut = data.index(b"\n") + 1  # the short ``OK {"task": ...}`` line
                    self.wfile.write(data[:cut])
                    self.wfile.flush()
                    time.sleep(float(rule["delay_s"]))
                    data = data[cut:]
                if action == "crash":
                    assert rule is not None
                    self.wfile.write(data[: int(rule.get("bytes", len(data) // 2))])
                    self.wfile.flush()
                    os._exit(3)  # the whole server dies mid-reply, as a crashed JVM would
                self.wfile.write(data)
            elif name == "cancel" and hanging is not None and arg.get("task") == hanging:
                failed = {"task": hanging, "kind": "error", "message": "Interrupt"}
                self.wfile.write(b"OK\n" + frame(b"FAILED " + json.dumps(failed).encode()))
                hanging = None
            elif name == "echo":
                self.wfile.write(frame(b"OK " + json.dumps(arg).encode()))
            elif name in RECORDED:
                self.wfile.write(standin.stream(name))
                if name == "shutdown":
                    self.wfile.flush()
                    standin.done.set()
                    return
            else:
                self.wfile.write(frame(b"ERROR " + json.dumps(f"Bad command '{name}'").encode()))
            self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, standin: Standin, lifetime_s: float) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.standin = standin
        self.lifetime_s = lifetime_s


def serve(scenario: dict[str, Any], name: str) -> int:
    standin = Standin(scenario)
    server = Server(standin, float(scenario.get("lifetime_s", 120.0)))
    if scenario.get("spawn_child") and standin.record is not None:
        # Like Isabelle's ML process: a child in a session (and process group) of its own.
        child = subprocess.Popen(
            [sys.executable, "-c", f"import time; time.sleep({server.lifetime_s})"], start_new_session=True
        )
        (standin.record / "child.pid").write_text(str(child.pid))
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f'server "{name}" = 127.0.0.1:{port} (password "{standin.password}")', flush=True)
    standin.done.wait(server.lifetime_s)
    server.shutdown()
    return 0


def process_gone(pid: int) -> bool:
    """Gone, or a zombie left for a parent that is not the test (PID 1 in containers may not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] == "Z"


def write_fake_isabelle(bin_dir: Path, scenario: dict[str, Any]) -> Path:
    """An ``isabelle`` executable in ``bin_dir`` that runs this stand-in with ``scenario``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    scenario_file = bin_dir / "standin-scenario.json"
    scenario_file.write_text(json.dumps(scenario))
    exe = bin_dir / "isabelle"
    exe.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" --scenario "{scenario_file}" "$@"\n'
    )
    exe.chmod(0o755)
    return exe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="STAND-IN for `isabelle server` (tests only)")
    parser.add_argument("--scenario", type=Path)
    parser.add_argument("tool", choices=["server", "version"])
    parser.add_argument("-n", dest="name", default="isabelle")
    args = parser.parse_args(argv)
    if args.tool == "version":
        print("Isabelle2025-2")
        return 0
    scenario = json.loads(args.scenario.read_text()) if args.scenario else {}
    return serve(scenario, args.name)


if __name__ == "__main__":
    sys.exit(main())
