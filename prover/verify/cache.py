"""A content-hash cache of verdicts, in memory and optionally in a SQLite file.

Self-play and pass@k sampling check the same proof text many times; a definite verdict (verified,
or rejected for a reason that does not depend on load) never changes for the same statement and proof
under the same backend identity (proof-assistant version, every setting that can change a verdict:
allow-lists, sandbox, extra arguments, preloading, plugin) and the same prover version, so it is
looked up instead of checked again. Load-dependent outcomes (timeouts, memory, crashes, a backend
that is unavailable or whose session failed to start) are never stored.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from prover import __version__
from prover.itp.base import TRANSIENT, CheckRequest, Message, Verdict

# Bump when a soundness rule changes without a version change, so older verdicts are not reused.
RULES_VERSION = "2"


def request_key(backend_identity: str, request: CheckRequest) -> str:
    """The cache key: ``backend_identity`` is ``Backend.identity()``, which names the proof assistant's
    version and every setting that can change a verdict."""
    digest = hashlib.sha256()
    for part in (RULES_VERSION, __version__, backend_identity, request.statement or "\0none", request.proof):
        digest.update(part.encode())
        digest.update(b"\0\1")
    return digest.hexdigest()


class VerdictCache:
    def __init__(self, capacity: int = 100_000, path: Path | None = None) -> None:
        self.capacity = capacity
        self._memory: OrderedDict[str, Verdict] = OrderedDict()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = sqlite3.connect(str(path), check_same_thread=False)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, verdict TEXT NOT NULL)"
            )
            self._db.commit()

    def get(self, key: str) -> Verdict | None:
        with self._lock:
            verdict = self._memory.get(key)
            if verdict is not None:
                self._memory.move_to_end(key)
                return replace(verdict, cached=True, time_s=0.0)
            if self._db is None:
                return None
            row = self._db.execute("SELECT verdict FROM verdicts WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return Verdict(
            data["verified"],
            data["reason"],
            [Message(**m) for m in data["messages"]],
            0.0,
            data["axioms"],
            True,
            data.get("detail"),
        )

    def put(self, key: str, verdict: Verdict) -> None:
        if verdict.reason in TRANSIENT:
            return
        with self._lock:
            self._memory[key] = verdict
            self._memory.move_to_end(key)
            while len(self._memory) > self.capacity:
                self._memory.popitem(last=False)
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO verdicts (key, verdict) VALUES (?, ?)",
                    (key, json.dumps(verdict.to_json())),
                )
                self._db.commit()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
