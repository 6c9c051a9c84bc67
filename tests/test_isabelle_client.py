"""The Isabelle server client against the recorded reply streams, served by the stand-in.

Every one of the 11 recorded streams in tests/fixtures/isabelle-server goes through the real
client over a 127.0.0.1 socket and must parse into exactly the messages of its ``.parsed.json``.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from prover.itp.isabelle.client import (
    CommandError,
    IsabelleClient,
    MessageReader,
    ProtocolError,
    Reply,
    ServerCrashed,
    ServerInfo,
    TaskTimeout,
    parse_server_line,
)
from prover.itp.isabelle.server import ServerProcess, started_processes
from tests.conftest import ISABELLE_FIXTURES as FIXTURES
from tests.conftest import needs
from tests.standins import isabelle_server_standin as standin
from tests.standins.isabelle_server_standin import process_gone

pytestmark = needs(FIXTURES.is_dir(), f"the recorded server reply streams in {FIXTURES}")

StartStandin = Callable[..., ServerProcess]


@pytest.fixture
def start_standin(tmp_path: Path) -> Iterator[StartStandin]:
    started: list[ServerProcess] = []

    def start(**scenario: Any) -> ServerProcess:
        scenario = {"fixtures": str(FIXTURES), "lifetime_s": 30, **scenario}
        path = tmp_path / f"scenario-{len(started)}.json"
        path.write_text(json.dumps(scenario))
        command = [sys.executable, standin.__file__, "--scenario", str(path), "server"]
        server = ServerProcess.start(command, tmp_path / f"server-{len(started)}.log", timeout_s=20)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def master(tmp_path: Path) -> Path:
    """A master directory holding the theories the recorded use_theories streams were made for."""
    d = tmp_path / "master"
    d.mkdir()
    for name in ("Example", "Fail", "Sledgehammer", "Slow", "Crash"):
        (d / f"{name}.thy").write_text(f'theory {name} imports Main begin\nlemma "x = x"\n  by auto\nend\n')
    return d


def _parsed(stream: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads((FIXTURES / f"{stream}.parsed.json").read_text())
    return result


def _command_for(stream: str, master: Path) -> tuple[str, Any]:
    if stream.startswith("use_theories"):
        theory = stream.partition(".")[2] or "Example"
        return "use_theories", {"session_id": "s", "theories": [theory], "master_dir": str(master)}
    args: dict[str, Any] = {
        "cancel": {"task": "t"},
        "purge_theories": {"session_id": "s", "theories": ["Mock"]},
        "session_build": {"session": "examples", "dirs": ["."]},
        "session_start": {"session": "HOL"},
        "session_stop": {"session_id": "s"},
    }
    return stream, args.get(stream)


def _read_to_end(client: IsabelleClient, timeout_s: float = 10.0) -> list[Reply]:
    """All replies to one command: the immediate one, and for a started task up to its end."""
    deadline = time.monotonic() + timeout_s
    replies = [client.read(deadline)]
    if isinstance(replies[0].argument, dict) and "task" in replies[0].argument:
        while replies[-1].name not in ("FINISHED", "FAILED"):
            replies.append(client.read(deadline))
    return replies


@pytest.mark.parametrize("stream", standin.RECORDED)
def test_every_recorded_stream_parses_as_recorded(
    stream: str, start_standin: StartStandin, master: Path
) -> None:
    expected = _parsed(stream)
    client = IsabelleClient.connect(start_standin().info, timeout_s=10)
    try:
        client.send(*_command_for(stream, master))
        replies = _read_to_end(client)
    finally:
        client.close()
    assert [(r.name, r.argument, r.declared_length) for r in replies] == [
        (e["reply"], e["argument"], e["declared_length"]) for e in expected
    ]
    assert [r.declared_length is None for r in replies] == [e["framing"] == "short" for e in expected]


def test_only_repair_of_the_recordings_is_one_final_newline() -> None:
    damaged = [s for s in standin.RECORDED if not (FIXTURES / s).read_bytes().endswith(b"\n")]
    assert damaged == ["use_theories.Sledgehammer"]
    data = (FIXTURES / damaged[0]).read_bytes()
    assert standin.restore_final_newline(data) == data + b"\n"
    assert int(data.split(b"\n")[-2]) == len(data.split(b"\n")[-1]) + 1  # declared = present + the LF


def test_streams_cover_long_and_short_framing() -> None:
    framings = {
        e["framing"]
        for s in standin.RECORDED
        for e in json.loads((FIXTURES / f"{s}.parsed.json").read_text())
    }
    assert framings == {"long", "short"}
    assert len(standin.RECORDED) == 11


def _reader_over(chunks: list[bytes]) -> MessageReader:
    a, b = socket.socketpair()

    def feed() -> None:
        try:
            for chunk in chunks:
                b.sendall(chunk)
                time.sleep(0.001)
        except OSError:
            pass  # the test stopped reading early: fine
        finally:
            b.close()

    threading.Thread(target=feed, daemon=True).start()
    return MessageReader(a)


def test_reader_reassembles_messages_split_anywhere() -> None:
    data = (FIXTURES / "session_start").read_bytes() + (FIXTURES / "help").read_bytes()
    reader = _reader_over([data[i : i + 37] for i in range(0, len(data), 37)])  # cuts lines and counts
    expected = [e["reply"] for s in ("session_start", "help") for e in _parsed(s)]
    deadline = time.monotonic() + 10
    assert [reader.read(deadline).name for _ in expected] == expected
    assert expected.count("NOTE") == 15


def test_reader_long_message_may_hold_newlines_and_crlf_lines_are_accepted() -> None:
    body = b'NOTE {"message":"line one"}\nsecond line'
    reader = _reader_over([b"OK\r\n\n", str(len(body) + 1).encode() + b"\n" + body + b"\n"])
    deadline = time.monotonic() + 5
    assert reader.read(deadline) == Reply("OK", None, None)
    long = reader.read(deadline)
    assert long.name == "NOTE" and long.declared_length == len(body) + 1
    assert long.argument == 'NOTE {"message":"line one"}\nsecond line'.partition(" ")[2]  # not JSON: kept


def test_reader_reports_a_connection_closed_mid_message() -> None:
    reader = _reader_over([b'458\nFINISHED {"ok":tr'])
    with pytest.raises(ServerCrashed):
        reader.read(time.monotonic() + 5)


def test_server_line_parsing() -> None:
    info = parse_server_line('server "prover-1" = 127.0.0.1:4711 (password "a-b-c")\n')
    assert info == ServerInfo("prover-1", "127.0.0.1", 4711, "a-b-c")
    with pytest.raises(ProtocolError):
        parse_server_line("Bad server line")


def test_handshake_needs_the_password(start_standin: StartStandin) -> None:
    info = start_standin().info
    wrong = ServerInfo(info.name, info.host, info.port, "not-the-password")
    with pytest.raises(ProtocolError, match="wrong password"):
        IsabelleClient.connect(wrong, timeout_s=5)
    client = IsabelleClient.connect(info, timeout_s=5)
    assert client.isabelle_name == "Isabelle2025-2"
    client.close()


def test_synchronous_commands(start_standin: StartStandin) -> None:
    client = IsabelleClient.connect(start_standin().info, timeout_s=5)
    assert "use_theories" in client.command("help") and len(client.command("help")) == 9
    assert client.command("echo", {"x": [1, "\u2200"]}) == {"x": [1, "\u2200"]}
    purged = client.command("purge_theories", {"session_id": "s", "theories": ["Mock"]})
    assert purged == {"purged": [{"node_name": "/tmp/Mock.thy", "theory_name": "Draft.Mock"}], "retained": []}
    assert client.command("cancel", {"task": "t"}) is None
    with pytest.raises(CommandError) as err:
        client.command("unknown")
    assert err.value.argument == "Bad command 'unknown'"
    client.close()


def test_async_tasks_finish_with_their_notes(start_standin: StartStandin, master: Path) -> None:
    client = IsabelleClient.connect(start_standin().info, timeout_s=5)
    start = client.task("session_start", {"session": "HOL"}, timeout_s=5)
    assert start.finished and start.result["session_id"] == "167dd6d8-1eeb-4315-8022-c8c527d9bd87"
    assert len(start.notes) == 15 and sum("task" not in n for n in start.notes) == 2  # nodes_status NOTEs
    build = client.task("session_build", {"session": "examples"}, timeout_s=5)
    assert build.result["ok"] is True and [s["session"] for s in build.result["sessions"]] == [
        "Pure",
        "HOL",
        "examples",
    ]
    ok = client.task(
        "use_theories", {"session_id": "s", "theories": ["Example"], "master_dir": str(master)}, 5
    )
    node = ok.result["nodes"][0]
    assert (
        ok.result["ok"] is True and node["status"]["consolidated"] is True and node["status"]["failed"] == 0
    )
    assert [n["percentage"] for n in ok.notes] == [42, 99, 100]
    fail = client.task(
        "use_theories", {"session_id": "s", "theories": ["Fail"], "master_dir": str(master)}, 5
    )
    error = fail.result["errors"][0]
    assert fail.finished and fail.result["ok"] is False
    assert error["message"].startswith("Failed to finish proof\\<^here>:\ngoal (1 subgoal):")
    assert error["pos"] == {"line": 5, "offset": 59, "end_offset": 61, "file": "Example.thy"}
    stop = client.task("session_stop", {"session_id": "s"}, timeout_s=5)
    assert stop.result == {"ok": True, "return_code": 0, "task": "93d5824a-4e03-4d0c-9f2d-ebea4dbe7795"}
    assert client.command("shutdown") is None
    client.close()


def test_overrun_task_is_cancelled_and_connection_stays_usable(
    start_standin: StartStandin, master: Path
) -> None:
    server = start_standin(rules=[{"match": "theory Slow", "action": "hang"}])
    client = IsabelleClient.connect(server.info, timeout_s=5)
    started = time.monotonic()
    with pytest.raises(TaskTimeout) as err:
        client.task(
            "use_theories",
            {"session_id": "s", "theories": ["Slow"], "master_dir": str(master)},
            timeout_s=0.3,
            cancel_grace_s=5,
        )
    assert err.value.cancelled and err.value.task == "18c8e507-96c8-4bc8-9cb0-db4558bda07f"
    assert time.monotonic() - started < 3
    assert len(client.command("help")) == 9
    client.close()


def test_result_racing_the_cancel_stands_and_the_cancel_reply_is_not_mistaken(
    start_standin: StartStandin, master: Path
) -> None:
    server = start_standin(rules=[{"match": "theory Slow", "action": "slow", "delay_s": 0.5}])
    client = IsabelleClient.connect(server.info, timeout_s=5)
    args = {"session_id": "s", "theories": ["Slow"], "master_dir": str(master)}
    result = client.task("use_theories", args, timeout_s=0.2, cancel_grace_s=5)
    assert result.finished and result.result["ok"] is True  # FINISHED came before the cancel's OK
    assert client.command("purge_theories", {"session_id": "s", "theories": ["Mock"]})["purged"]
    assert len(client.command("help")) == 9
    client.close()


def test_a_server_that_never_answers_is_reported_stuck(start_standin: StartStandin, master: Path) -> None:
    server = start_standin(rules=[{"match": "theory Slow", "action": "stuck"}])
    client = IsabelleClient.connect(server.info, timeout_s=5)
    started = time.monotonic()
    with pytest.raises(TaskTimeout) as err:
        client.task(
            "use_theories",
            {"session_id": "s", "theories": ["Slow"], "master_dir": str(master)},
            timeout_s=0.3,
            cancel_grace_s=0.3,
        )
    assert not err.value.cancelled
    assert time.monotonic() - started < 2
    client.close()
    server.kill()
    assert not server.alive() and started_processes(server.proc.pid) == []


def test_a_crash_mid_reply_is_detected(start_standin: StartStandin, master: Path) -> None:
    server = start_standin(rules=[{"match": "theory Crash", "action": "crash", "bytes": 120}])
    client = IsabelleClient.connect(server.info, timeout_s=5)
    with pytest.raises(ServerCrashed):
        client.task("use_theories", {"session_id": "s", "theories": ["Crash"], "master_dir": str(master)}, 5)
    server.proc.wait(timeout=5)
    assert server.proc.returncode == 3
    client.close()


def test_kill_reaches_descendants_that_left_the_process_group(
    start_standin: StartStandin, tmp_path: Path
) -> None:
    record = tmp_path / "record"
    record.mkdir()
    server = start_standin(spawn_child=True, record_dir=str(record))
    deadline = time.monotonic() + 10
    while not (record / "child.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    child = int((record / "child.pid").read_text())
    assert os.getpgid(child) == child != server.proc.pid  # a group of its own
    assert child in {p.pid for p in started_processes(server.proc.pid)}
    assert server.rss_bytes() > 0
    server.kill()
    assert started_processes(server.proc.pid) == []
    assert process_gone(child)
