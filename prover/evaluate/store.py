"""The eval run's SQLite file: every sample's outcome, keyed by (run config hash, problem, sample
index), committed as soon as it is known, so an interrupted run resumes where it stopped.

Plain ``sqlite3`` (the standard library); one connection, used by the thread that runs the eval.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    config_hash TEXT PRIMARY KEY,
    config TEXT NOT NULL,          -- the JSON the hash is taken of
    created REAL NOT NULL,
    wall_s REAL NOT NULL DEFAULT 0 -- wall-clock seconds spent on this run, over every invocation
);
CREATE TABLE IF NOT EXISTS samples (
    config_hash TEXT NOT NULL REFERENCES runs(config_hash),
    problem TEXT NOT NULL,         -- the problem's key in its benchmark split
    sample INTEGER NOT NULL,       -- 0 .. n-1
    seed INTEGER NOT NULL,         -- the run's seed
    engine_seed INTEGER NOT NULL,  -- the seed the engine was given for this sample
    statement_sha TEXT NOT NULL,   -- a changed statement is not a finished problem
    proved INTEGER NOT NULL,
    proof TEXT,
    time_s REAL NOT NULL,
    verify_time_s REAL NOT NULL,
    tokens INTEGER NOT NULL DEFAULT 0,
    technique TEXT,
    error TEXT,
    detail TEXT NOT NULL,          -- JSON: tactics, rules, rejected reasons, attempt count …
    invocation TEXT NOT NULL,      -- which invocation of `prover eval` recorded it
    finished REAL NOT NULL,
    PRIMARY KEY (config_hash, problem, sample)
);
"""


@dataclass(frozen=True)
class SampleRecord:
    """One sample of one problem under one run configuration."""

    problem: str
    sample: int
    seed: int
    engine_seed: int
    statement_sha: str
    proved: bool
    proof: str | None
    time_s: float
    verify_time_s: float
    tokens: int = 0
    technique: str | None = None
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    invocation: str = ""
    finished: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["time_s"] = round(self.time_s, 3)
        data["verify_time_s"] = round(self.verify_time_s, 3)
        return data


_COLUMNS = (
    "problem, sample, seed, engine_seed, statement_sha, proved, proof, time_s, verify_time_s, tokens, "
    "technique, error, detail, invocation, finished"
)


class EvalStore:
    """Open (creating when missing) the SQLite file at ``path`` (``":memory:"`` for none)."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(path), timeout=30.0)
            self.db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise ValueError(f"cannot open the eval database {path}: {exc}") from exc

    def __enter__(self) -> EvalStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def begin(self, config_hash: str, config: dict[str, Any]) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO runs (config_hash, config, created) VALUES (?, ?, ?)",
                (config_hash, json.dumps(config, sort_keys=True), time.time()),
            )

    def finished(self, config_hash: str) -> dict[tuple[str, int], str]:
        """(problem, sample) -> statement sha of every recorded sample of the run."""
        rows = self.db.execute(
            "SELECT problem, sample, statement_sha FROM samples WHERE config_hash = ?", (config_hash,)
        )
        return {(p, s): sha for p, s, sha in rows}

    def record(self, config_hash: str, rec: SampleRecord) -> None:
        """Store one sample and commit (replacing a sample of a statement that changed since)."""
        values = (
            config_hash, rec.problem, rec.sample, rec.seed, rec.engine_seed, rec.statement_sha,
            int(rec.proved), rec.proof, rec.time_s, rec.verify_time_s, rec.tokens, rec.technique,
            rec.error, json.dumps(rec.detail, ensure_ascii=False), rec.invocation, rec.finished,
        )
        marks = ", ".join("?" * len(values))
        sql = f"INSERT OR REPLACE INTO samples (config_hash, {_COLUMNS}) VALUES ({marks})"
        with self.db:
            self.db.execute(sql, values)

    def add_wall(self, config_hash: str, seconds: float) -> None:
        with self.db:
            sql = "UPDATE runs SET wall_s = wall_s + ? WHERE config_hash = ?"
            self.db.execute(sql, (seconds, config_hash))

    def wall_s(self, config_hash: str) -> float:
        row = self.db.execute("SELECT wall_s FROM runs WHERE config_hash = ?", (config_hash,)).fetchone()
        return float(row[0]) if row else 0.0

    def samples(self, config_hash: str) -> list[SampleRecord]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM samples WHERE config_hash = ? ORDER BY problem, sample", (config_hash,)
        )
        out = []
        for row in rows:
            values = list(row)
            values[5] = bool(values[5])
            values[12] = json.loads(values[12])
            out.append(SampleRecord(*values))
        return out
