#!/usr/bin/env python3
"""STAND-IN for the Lean REPL (leanprover-community/repl). It is not Lean and checks nothing.

It reads stdin exactly as the real REPL does (lines joined after removing each line's trailing
whitespace, a blank line ends a request, requests starting with ``#`` or ``--`` get no reply, a
request that is not JSON is an uncaught exception that ends the process) and answers in one of two
modes:

``replay BASE``   serves the recorded transcript ``BASE.in`` -> ``BASE.expected.out`` from
                  tests/fixtures/lean-repl: each incoming request must equal (as parsed JSON) the
                  recorded one, and gets the recorded reply text byte for byte.
``script FILE``   answers from rules in a JSON file, for replies no recording has (the checker's own
                  commands, cheats, hangs, crashes). A rule is ``{"cmd"|"tactic": REGEX, ...}`` plus
                  ``"reply": {...}`` (``"$env"``/``"$proofState"`` become fresh ids, ``"$1"``.. regex
                  groups) or ``"action": "hang" | "crash" | "exit"``; ``"once": true`` uses it up.

``--log FILE`` appends one JSON line per start and per request, so tests can see what was sent.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def join_requests(lines: list[str]) -> list[str]:
    """Requests as the REPL sees them: lines up to a blank one, each right-stripped, joined with ''."""
    requests: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            requests.append("".join(current))
            current = []
    return [r for r in requests if not (r.startswith("#") or r.startswith("--"))]


def split_replies(text: str) -> list[str]:
    """Reply texts of a recorded ``.expected.out``: each ends at its blank line."""
    replies: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            replies.append("\n".join(current))
            current = []
    if current:
        replies.append("\n".join(current))
    return replies


def read_fixture(base: Path) -> list[tuple[dict[str, Any], str]]:
    """(request as parsed JSON, recorded reply text) pairs of one recorded transcript."""
    requests = join_requests(base.with_suffix(".in").read_text(encoding="utf-8").split("\n"))
    replies = split_replies(base.with_suffix(".expected.out").read_text(encoding="utf-8"))
    if len(requests) != len(replies):
        raise ValueError(f"{base}: {len(requests)} requests but {len(replies)} replies")
    return [(json.loads(q), a) for q, a in zip(requests, replies, strict=True)]


class Log:
    def __init__(self, path: str | None) -> None:
        self.path = path

    def write(self, **event: Any) -> None:
        if self.path:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(event, ensure_ascii=False) + "\n")


def read_request() -> str | None:
    """One request from stdin, REPL style; None at end of input."""
    parts: list[str] = []
    while True:
        line = sys.stdin.readline()
        if line == "":
            return "".join(parts) if parts else None
        if not line.strip():
            return "".join(parts)  # a blank line right away gives an empty request, as in the REPL
        parts.append(line.rstrip())


def reply(text: str) -> None:
    sys.stdout.write(text + "\n\n")
    sys.stdout.flush()


def die_uncaught(message: str) -> None:
    sys.stderr.write(f"uncaught exception: {message}\n")
    sys.stderr.flush()
    sys.exit(1)


class Script:
    def __init__(self, path: Path) -> None:
        spec = json.loads(path.read_text(encoding="utf-8"))
        self.rules: list[dict[str, Any]] = spec["rules"]
        self.envs = 0
        self.states = 0
        if spec.get("spawn_child"):  # a grandchild in our process group, to test group kills
            child = subprocess.Popen(["sleep", "300"])
            Log(spec.get("child_log")).write(event="child", pid=child.pid)

    def answer(self, request: dict[str, Any]) -> None:
        if "tactic" in request and "proofState" in request:
            if not isinstance(request["proofState"], int) or request["proofState"] >= self.states:
                return reply(json.dumps({"message": "Unknown proof state."}))
            key = "tactic"
        else:
            env = request.get("env")
            if env is not None and (not isinstance(env, int) or env >= self.envs):
                return reply(json.dumps({"message": "Unknown environment."}))
            key = "cmd"
        for rule in self.rules:
            match = re.search(rule[key], request[key], re.DOTALL) if key in rule else None
            if match is None:
                continue
            if rule.get("once"):
                self.rules.remove(rule)
            return self.act(rule, match)
        die_uncaught(f"stand-in: no rule for {request!r}")

    def act(self, rule: dict[str, Any], match: re.Match[str]) -> None:
        action = rule.get("action", "reply")
        if action == "hang":
            time.sleep(3600)
        if action in ("crash", "exit"):
            sys.stdout.write(rule.get("partial", ""))
            sys.stdout.flush()
            sys.stderr.write(rule.get("stderr", ""))
            sys.stderr.flush()
            os._exit(rule.get("exit", 1))
        reply(json.dumps(self.fill(rule["reply"], match), ensure_ascii=False, indent=1))

    def fill(self, value: Any, match: re.Match[str]) -> Any:
        if isinstance(value, dict):
            return {k: self.fill(v, match) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v, match) for v in value]
        if value == "$env":
            self.envs += 1
            return self.envs - 1
        if value == "$proofState":
            self.states += 1
            return self.states - 1
        if isinstance(value, str):
            return re.sub(r"\$(\d)", lambda m: match.group(int(m.group(1))) or "", value)
        return value


def main(argv: list[str]) -> int:
    mode, source = argv[0], Path(argv[1])
    log = Log(argv[argv.index("--log") + 1] if "--log" in argv else None)
    log.write(event="start", pid=os.getpid(), rlimit_as=resource.getrlimit(resource.RLIMIT_AS)[0])
    recorded = read_fixture(source) if mode == "replay" else []
    script = Script(source) if mode == "script" else None
    served = 0
    while (text := read_request()) is not None:
        if text.startswith("#") or text.startswith("--"):
            continue
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            die_uncaught(f"Could not parse JSON: {text[:80]!r}")
        log.write(event="request", request=request)
        if script is not None:
            script.answer(request)
            continue
        if served >= len(recorded) or request != recorded[served][0]:
            die_uncaught(f"stand-in: request {served} differs from the recording: {request!r}")
        reply(recorded[served][1])
        served += 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
