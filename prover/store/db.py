"""The self-play store: one SQLite file holding a self-play run's whole state (problems, conjectures,
every attempt, every certified proof, round and stage bookkeeping), so a round can be inspected with
SQL and resumed after ``kill -9``.

Every write is idempotent (a unique key per row, insert-or-ignore) and every method that writes runs
in one ``BEGIN IMMEDIATE`` transaction, so a crash mid-batch leaves nothing of the batch behind;
``Store.transaction()`` groups several writes the same way. The file is in WAL mode with a busy
timeout, so several processes can read and write it at once. ``add_proof`` is the only way into the
proofs table, and takes only a verifier verdict that says ``verified`` for the problem's own statement.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlite_utils import Database

from prover.itp.base import CheckRequest, Verdict
from prover.store import rows as R
from prover.store.rows import AttemptRow, ConjectureRow, CorrectionRow, ProblemRow, ProofRow, RoundRow
from prover.store.schema import create_schema, missing_tables
from prover.store.summary import collect_stats


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _where(conditions: Sequence[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """`` WHERE a = ? AND …`` over the conditions whose value is not None."""
    used = [(column, value) for column, value in conditions if value is not None]
    if not used:
        return "", []
    return " WHERE " + " AND ".join(column for column, _ in used), [value for _, value in used]


class Store:
    """Open (creating when missing) the store at ``path``. ``readonly`` opens an existing store without
    writing anything (not even the schema) and refuses a file that is not one."""

    def __init__(self, path: str | Path, *, readonly: bool = False, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.readonly = readonly
        try:
            if readonly:
                if not self.path.is_file():
                    raise ValueError(f"{self.path}: no such file")
                conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                       timeout=busy_timeout_s)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.path), timeout=busy_timeout_s)
        except (OSError, sqlite3.Error) as exc:
            raise ValueError(f"cannot open the store {self.path}: {exc}") from exc
        self._db = Database(conn, execute_plugins=False)
        try:
            self._prepare(busy_timeout_s)
        except (ValueError, sqlite3.Error) as exc:
            conn.close()
            if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
                raise ValueError(f"{self.path}: not an SQLite file") from exc
            raise ValueError(f"{self.path}: {exc}") from exc

    def _prepare(self, busy_timeout_s: float) -> None:
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        self._db.execute("PRAGMA foreign_keys = ON")
        if self.readonly:
            missing = missing_tables(self._db)
            if missing:
                raise ValueError(f"not a self-play store (no {', '.join(missing)} table)")
            return
        self._db.enable_wal()
        with self.transaction():
            create_schema(self._db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: all of them or none. Nested calls join the outermost transaction.

        ``BEGIN IMMEDIATE`` takes the write lock up front: a deferred transaction that reads first
        could not upgrade once another process has written, and would fail without waiting."""
        conn = self._db.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except sqlite3.IntegrityError as exc:
            conn.rollback()
            raise ValueError(f"the store refused the write: {exc}") from exc
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return list(self._db.query(sql, list(params)))

    def _id(self, sql: str, params: Sequence[Any], what: str) -> int:
        row = self._db.execute(sql, list(params)).fetchone()
        if row is None:  # insert-or-ignore also skips a NOT NULL violation: never report success then
            raise ValueError(f"{what} was not stored")
        return int(row[0])

    # -- problems --------------------------------------------------------------------------------

    def add_problem(
        self,
        *,
        name: str,
        statement: str,
        source: str,
        split: str,
        language: str,
        header: str = "",
        informal: str | None = None,
        depth: int = 0,
        parent_id: int | None = None,
    ) -> int:
        """Add one problem; the id of the row with the same language and statement when there is one
        already (its other fields are kept as they were)."""
        row = ProblemRow(name=name, statement=statement, source=source, split=split, language=language,
                         header=header, informal=informal, depth=depth, parent_id=parent_id)
        return self.add_problems([row])[0]

    def add_problems(self, problems: Sequence[ProblemRow]) -> list[int]:
        now = _now()
        records = [R.problem_record(p, now) for p in problems]
        with self.transaction():
            self._db.table("problems").insert_all(records, ignore=True)
            return [self._problem_id(r, r["name"]) for r in records]

    def _insert_problem(self, problem: ProblemRow) -> int:
        record = R.problem_record(problem, _now())
        self._db.table("problems").insert(record, ignore=True)
        return self._problem_id(record, problem.name)

    def _problem_id(self, record: dict[str, Any], name: str) -> int:
        return self._id(
            "SELECT id FROM problems WHERE language = ? AND statement_hash = ?",
            (record["language"], record["statement_hash"]), f"problem {name!r}",
        )

    def problem(self, problem_id: int) -> ProblemRow:
        found = self._rows("SELECT * FROM problems WHERE id = ?", (problem_id,))
        if not found:
            raise ValueError(f"no problem {problem_id} in the store")
        return R.problem_row(found[0])

    def problems(
        self, split: str | None = None, source: str | None = None, language: str | None = None
    ) -> list[ProblemRow]:
        where, params = _where([("split = ?", split), ("source = ?", source), ("language = ?", language)])
        return [R.problem_row(r) for r in self._rows(f"SELECT * FROM problems{where} ORDER BY id", params)]

    # -- conjectures -----------------------------------------------------------------------------

    def add_conjectures(self, conjectures: Sequence[ConjectureRow]) -> list[int]:
        """Add conjectures and their problem rows (language, header and depth from the seed). A
        statement the store already holds reuses that problem row, whatever its split: the filter
        sees the duplicate through the problem's source and depth."""
        ids = []
        with self.transaction():
            for c in conjectures:
                seed = self.problem(c.seed_id)
                problem_id = self._insert_problem(ProblemRow(
                    name=c.name or f"{seed.name}/conj-{R.text_hash(c.statement)[:10]}",
                    statement=c.statement, source="conjecture", split="conjecture",
                    language=seed.language, header=seed.header if c.header is None else c.header,
                    informal=c.informal, depth=seed.depth + 1, parent_id=seed.id,
                ))
                self._db.table("conjectures").insert(R.conjecture_record(c, problem_id, _now()), ignore=True)
                ids.append(self._id(
                    "SELECT id FROM conjectures WHERE problem_id = ? AND seed_id = ?",
                    (problem_id, c.seed_id), "a conjecture",
                ))
        return ids

    def set_conjecture_filter(self, results: Iterable[tuple[int, bool, str | None]]) -> None:
        """Record the filter's decision per conjecture id: kept, or rejected with a reason code."""
        with self.transaction():
            for conjecture_id, kept, reason in results:
                if kept and reason is not None:
                    raise ValueError(f"conjecture {conjecture_id} is kept, so it has no filter reason")
                if not kept and not reason:
                    raise ValueError(f"conjecture {conjecture_id} is rejected: give the reason")
                cursor = self._db.execute(
                    "UPDATE conjectures SET kept = ?, filter_reason = ? WHERE id = ?",
                    (int(bool(kept)), reason, conjecture_id),
                )
                if cursor.rowcount != 1:
                    raise ValueError(f"no conjecture {conjecture_id} in the store")

    def conjectures(self, round: int | None = None, kept: bool | None = None) -> list[ConjectureRow]:
        where, params = _where([("c.round = ?", round), ("c.kept = ?", None if kept is None else int(kept))])
        sql = (
            "SELECT c.*, p.name, p.header, p.statement, p.informal FROM conjectures c "
            f"JOIN problems p ON p.id = c.problem_id{where} ORDER BY c.id"
        )
        return [R.conjecture_row(r) for r in self._rows(sql, params)]

    # -- attempts and corrections ----------------------------------------------------------------

    def add_attempts(self, attempts: Sequence[AttemptRow]) -> list[int]:
        """Record attempts; returns their ids (an attempt recorded before keeps its first row)."""
        now = _now()
        records = [R.attempt_record(a, now) for a in attempts]
        with self.transaction():
            # One multi-row insert: sqlite-utils' per-call overhead dominates row-by-row inserts.
            self._db.table("attempts").insert_all(records, ignore=True)
            return [self._id(
                "SELECT id FROM attempts WHERE round = ? AND role = ? AND problem_id = ? AND engine = ? "
                "AND sample = ?",
                (a.round, a.role, a.problem_id, a.engine, a.sample), "an attempt",
            ) for a in attempts]

    def attempts(
        self, round: int | None = None, problem_id: int | None = None, role: str | None = None
    ) -> list[AttemptRow]:
        where, params = _where([("round = ?", round), ("problem_id = ?", problem_id), ("role = ?", role)])
        return [R.attempt_row(r) for r in self._rows(f"SELECT * FROM attempts{where} ORDER BY id", params)]

    def add_corrections(self, corrections: Sequence[CorrectionRow]) -> list[int]:
        ids = []
        with self.transaction():
            for c in corrections:
                self._db.table("corrections").insert(R.correction_record(c, _now()), ignore=True)
                ids.append(self._id(
                    "SELECT id FROM corrections WHERE attempt_id = ? AND revision_id = ?",
                    (c.attempt_id, c.revision_id), "a correction",
                ))
        return ids

    def corrections(self, attempt_id: int | None = None) -> list[CorrectionRow]:
        where, params = _where([("attempt_id = ?", attempt_id)])
        sql = f"SELECT * FROM corrections{where} ORDER BY id"
        return [R.correction_row(r) for r in self._rows(sql, params)]

    # -- proofs ----------------------------------------------------------------------------------

    def add_proof(
        self,
        problem_id: int,
        request: CheckRequest,
        verdict: Verdict,
        backend: str,
        toolchain: str,
        round: int,
        attempt_id: int | None = None,
        technique: str | None = None,
    ) -> int:
        """File ``request.proof`` as a proof of problem ``problem_id``: only when ``verdict`` (the pool's
        answer to ``request``) says verified, ``request`` carried the problem's own statement as its
        trusted target, and ``backend`` is the problem's language. Returns the proof's id (the
        existing one when the same text was filed before)."""
        if not isinstance(verdict, Verdict) or verdict.verified is not True or verdict.reason is not None:
            raise ValueError(f"problem {problem_id}: only a verified verdict can file a proof")
        if not isinstance(request, CheckRequest) or not isinstance(request.proof, str) \
                or not request.proof.strip():
            raise ValueError(f"problem {problem_id}: the request holds no proof text")
        if not isinstance(toolchain, str) or not toolchain.strip():
            raise ValueError("give the backend's identity as the toolchain")
        with self.transaction():
            problem = self.problem(problem_id)
            if request.statement is None:
                raise ValueError(f"problem {problem_id}: the proof was checked without the trusted statement")
            if request.statement != problem.statement:
                raise ValueError(f"problem {problem_id}: the proof was checked against another statement")
            if backend != problem.language:
                raise ValueError(f"problem {problem_id} is {problem.language}, not {backend}")
            if attempt_id is not None:
                owner = self._rows("SELECT problem_id FROM attempts WHERE id = ?", (attempt_id,))
                if not owner or owner[0]["problem_id"] != problem_id:
                    raise ValueError(f"attempt {attempt_id} is no attempt at problem {problem_id}")
            digest = R.text_hash(request.proof)
            self._db.table("proofs").insert({
                "problem_id": problem_id, "text": request.proof, "text_hash": digest,
                "axioms": R.to_json(list(verdict.axioms), "axioms"), "backend": backend,
                "toolchain": toolchain, "round": R.nonnegative(round, "round"), "attempt_id": attempt_id,
                "technique": technique,
                "verify_time_s": float(verdict.time_s), "created_at": _now(),
            }, ignore=True)
            return self._id(
                "SELECT id FROM proofs WHERE problem_id = ? AND text_hash = ?", (problem_id, digest),
                "the proof",
            )

    def proofs(self, problem_id: int | None = None, round: int | None = None) -> list[ProofRow]:
        where, params = _where([("problem_id = ?", problem_id), ("round = ?", round)])
        return [R.proof_row(r) for r in self._rows(f"SELECT * FROM proofs{where} ORDER BY id", params)]

    def proved_problem_ids(self, up_to_round: int | None = None) -> set[int]:
        where, params = _where([("round <= ?", up_to_round)])
        return {int(r["problem_id"]) for r in self._rows(f"SELECT DISTINCT problem_id FROM proofs{where}",
                                                         params)}

    def pass_rates(self, round: int) -> dict[int, tuple[int, int]]:
        """problem id -> (verified, total) over the round's prover attempts."""
        sql = (
            "SELECT problem_id, SUM(verified) AS ok, COUNT(*) AS n FROM attempts "
            "WHERE round = ? AND role = 'prover' GROUP BY problem_id"
        )
        return {int(r["problem_id"]): (int(r["ok"]), int(r["n"])) for r in self._rows(sql, (round,))}

    # -- rounds and stages -----------------------------------------------------------------------

    def start_round(self, number: int, config: dict[str, Any]) -> RoundRow:
        """Start round ``number``; a round started before is left as it was (its row is returned, so
        a resuming loop can compare configs)."""
        with self.transaction():
            self._db.table("rounds").insert({
                "number": R.nonnegative(number, "round"), "config": R.to_json(config, "config"),
                "status": "running", "started_at": _now(),
            }, ignore=True)
            found = self._round(number)
        assert found is not None
        return found

    def finish_stage(self, round: int, stage: str, payload: dict[str, Any]) -> None:
        """Mark ``stage`` of ``round`` done, keeping ``payload`` for a resumed run (a second call
        replaces the payload)."""
        if not isinstance(stage, str) or not stage.strip():
            raise ValueError("a stage needs a name")
        with self.transaction():
            if self._round(round) is None:
                raise ValueError(f"round {round} was not started")
            self._db.table("stages").upsert({
                "round": round, "stage": stage, "status": "done",
                "payload": R.to_json(payload, "the stage payload"), "finished_at": _now(),
            }, pk=("round", "stage"))
            self._db.execute("UPDATE rounds SET stage = ? WHERE number = ?", (stage, round))

    def stage_done(self, round: int, stage: str) -> bool:
        found = self._rows("SELECT status FROM stages WHERE round = ? AND stage = ?", (round, stage))
        return bool(found) and found[0]["status"] == "done"

    def stage_payload(self, round: int, stage: str) -> dict[str, Any] | None:
        found = self._rows("SELECT payload FROM stages WHERE round = ? AND stage = ?", (round, stage))
        if not found:
            return None
        payload: dict[str, Any] = R.from_json(found[0]["payload"])
        return payload

    def finish_round(self, number: int, metrics: dict[str, Any], checkpoint: str | None = None) -> None:
        with self.transaction():
            cursor = self._db.execute(
                "UPDATE rounds SET status = 'done', metrics = ?, checkpoint = ?, ended_at = ? "
                "WHERE number = ?",
                (R.to_json(metrics, "metrics"), checkpoint, _now(), number),
            )
            if cursor.rowcount != 1:
                raise ValueError(f"round {number} was not started")

    def _round(self, number: int) -> RoundRow | None:
        found = self._rows("SELECT * FROM rounds WHERE number = ?", (number,))
        return R.round_row(found[0]) if found else None

    def rounds(self) -> list[RoundRow]:
        return [R.round_row(r) for r in self._rows("SELECT * FROM rounds ORDER BY number")]

    def last_round(self) -> RoundRow | None:
        found = self._rows("SELECT * FROM rounds ORDER BY number DESC LIMIT 1")
        return R.round_row(found[0]) if found else None

    # -- summary ---------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts for a quick look at a run (see ``prover.store.summary``)."""
        return collect_stats(self._db)
