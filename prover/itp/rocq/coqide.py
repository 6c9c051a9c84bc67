"""A minimal client for ``coqidetop``'s XML protocol (the one CoqIDE speaks), for Coq 8.16.

Why this protocol: Debian ships no SerAPI or coq-lsp, and ``coqidetop`` gives what a verifier pool
needs — state ids, so that rolling back to the header state after a check is a cheap ``Edit_at``
instead of a 0.8 s process restart, and structured errors with character positions.

Only the calls the Rocq backend uses are implemented: Init, Add, Edit_at, Goal.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import select
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast
from xml.sax.saxutils import escape

COQIDETOP = "coqidetop.opt"


def coqidetop_argv(extra_args: Sequence[str] = ()) -> list[str]:
    """The command line of every coqidetop this project starts (verifier and goal sessions alike).
    -native-compiler no: native_compute then runs on the VM, so neither the OCaml compiler nor the
    files it writes are part of what a verdict trusts."""
    argv = [COQIDETOP, "-main-channel", "stdfds", "-async-proofs", "off", "-q", "-native-compiler", "no"]
    return [*argv, *extra_args]


# A reply past this size means the proof is printing something enormous: treat the process as lost.
# (Never cut a reply short instead: the verdict parses some replies, and half a list is a lie.)
MAX_REPLY_BYTES = 256 * 1024**2


class CoqTimeout(Exception):
    """No answer within the deadline; the process is in an unknown state and must be killed."""


class CoqDied(Exception):
    """The coqidetop process exited (crash, memory limit, or a ``Quit``/``Drop`` that got through)."""


@dataclass(frozen=True)
class Feedback:
    level: str  # "error" | "warning" | "notice" | "info" | "debug"
    text: str
    start: int | None = None  # character offsets inside the sentence that produced it
    stop: int | None = None


@dataclass
class Answer:
    """The ``<value>`` of one call plus every message fed back while it ran."""

    good: bool
    value: ET.Element
    error: str = ""
    error_start: int | None = None
    error_stop: int | None = None
    feedback: list[Feedback] = field(default_factory=list)

    @property
    def state_id(self) -> int | None:
        node = self.value.find(".//state_id")
        return int(node.attrib["val"]) if node is not None else None

    def messages(self, *levels: str) -> list[Feedback]:
        return [f for f in self.feedback if not levels or f.level in levels]


# Coq's XML printer emits HTML entities such as &nbsp;, which plain XML does not define.
_XML_ENTITY = re.compile(r"&([A-Za-z]+);")
# ... and passes through, raw, control characters a proof prints (`idtac "\a"`), which no XML parser
# takes: they are replaced, so that a candidate's own output can never make a reply unreadable.
_NOT_XML_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_KNOWN_ENTITIES = {"lt", "gt", "amp", "quot", "apos"}


def _entity(match: re.Match[str]) -> str:
    return match.group(0) if match.group(1) in _KNOWN_ENTITIES else "&#160;"


def _text(node: ET.Element | None) -> str:
    return "" if node is None else "".join(node.itertext()).replace("\xa0", " ")


def _loc(node: ET.Element) -> tuple[int | None, int | None]:
    loc = node.find(".//loc")
    if loc is None:
        return None, None
    return int(loc.attrib["start"]), int(loc.attrib["stop"])


class CoqIdeTop:
    """One ``coqidetop`` process in its own process group, spoken to over pipes."""

    def __init__(
        self,
        argv: Sequence[str],
        cwd: str,
        env: dict[str, str] | None = None,
        preexec: Callable[[], None] | None = None,
    ) -> None:
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
            start_new_session=True,  # its own process group, so kill() reaches its children too
            preexec_fn=preexec,
        )
        self._pending = ""  # text held back until an entity split across reads is complete
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._parser = self._new_parser()

    @staticmethod
    def _new_parser() -> ET.XMLPullParser[ET.Element]:
        parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("end",))
        parser.feed("<stream>")
        return parser

    # -- low level -------------------------------------------------------------------------------

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()

    def call(self, xml: str, deadline: float) -> Answer:
        if not self.alive():
            raise CoqDied("coqidetop is not running")
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(xml.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise CoqDied("coqidetop closed its input") from exc
        feedback: list[Feedback] = []
        received = 0
        fd = self.proc.stdout.fileno()
        while True:
            try:
                events = list(self._parser.read_events())
            except ET.ParseError as exc:
                raise CoqDied(f"unreadable reply from coqidetop: {exc}") from exc
            for _kind, node in cast(list[tuple[str, ET.Element]], events):
                if node.tag == "feedback":
                    fb = self._feedback(node)
                    if fb is not None:
                        feedback.append(fb)
                    node.clear()
                elif node.tag == "value":
                    return self._answer(node, feedback)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CoqTimeout()
            ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise CoqDied(f"coqidetop exited with status {self.proc.wait()}")
            received += len(chunk)
            if received > MAX_REPLY_BYTES:  # e.g. `Eval compute` printing a gigantic term
                raise CoqDied(f"reply larger than {MAX_REPLY_BYTES >> 20} MiB")
            self._feed(chunk)

    def _feed(self, chunk: bytes) -> None:
        text = self._pending + self._decoder.decode(chunk)
        cut = text.rfind("&")
        if cut >= 0 and ";" not in text[cut:]:
            text, self._pending = text[:cut], text[cut:]
        else:
            self._pending = ""
        try:
            self._parser.feed(_NOT_XML_CHAR.sub("\ufffd", _XML_ENTITY.sub(_entity, text)))
        except ET.ParseError as exc:
            raise CoqDied(f"unreadable reply from coqidetop: {exc}") from exc

    @staticmethod
    def _feedback(node: ET.Element) -> Feedback | None:
        content = node.find("feedback_content")
        if content is None or content.attrib.get("val") != "message":
            return None
        level_node = content.find(".//message_level")
        level = level_node.attrib["val"] if level_node is not None else "info"
        start, stop = _loc(content)
        return Feedback(level, _text(content.find(".//richpp")).strip(), start, stop)

    @staticmethod
    def _answer(node: ET.Element, feedback: list[Feedback]) -> Answer:
        if node.attrib.get("val") == "good":
            return Answer(True, node, feedback=feedback)
        start = node.attrib.get("loc_s")
        stop = node.attrib.get("loc_e")
        return Answer(
            False,
            node,
            error=_text(node.find("richpp")).strip(),
            error_start=int(start) if start is not None else None,
            error_stop=int(stop) if stop is not None else None,
            feedback=feedback,
        )

    # -- protocol calls ---------------------------------------------------------------------------

    def init(self, deadline: float) -> int:
        answer = self.call('<call val="Init"><option val="none"/></call>', deadline)
        if not answer.good or answer.state_id is None:
            raise CoqDied(f"Init failed: {answer.error}")
        return answer.state_id

    def add(self, sentence: str, state_id: int, deadline: float) -> Answer:
        """Parse and run one sentence on top of ``state_id``; the answer's state id is the new tip."""
        xml = (
            '<call val="Add"><pair><pair><pair><pair>'
            f"<string>{escape(sentence)}</string><int>0</int></pair>"
            f'<pair><state_id val="{state_id}"/><bool val="true"/></pair></pair>'
            "<int>0</int></pair><pair><int>0</int><int>0</int></pair></pair></call>"
        )
        return self.call(xml, deadline)

    def edit_at(self, state_id: int, deadline: float) -> Answer:
        return self.call(f'<call val="Edit_at"><state_id val="{state_id}"/></call>', deadline)

    def goals(self, deadline: float) -> Answer:
        return self.call('<call val="Goal"><unit/></call>', deadline)
