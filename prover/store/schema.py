"""The self-play store's tables, as data: every table's columns, keys and indices, created with
sqlite-utils when missing.

Every column of a UNIQUE key is NOT NULL on purpose: SQLite treats NULLs as distinct, so a nullable
key column would let a resumed run record the same row twice. JSON columns hold ``json.dumps`` text
(sorted keys), timestamps ISO-8601 UTC text, booleans 0/1. Tables are STRICT so a wrongly typed value
fails loudly instead of being stored as whatever type it came in.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

# Bumped when a table changes incompatibly; a file written by a newer schema is refused rather than
# read wrongly.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: dict[str, type]
    pk: str | tuple[str, ...] = "id"
    not_null: frozenset[str] = frozenset()
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (column, other table, other column)
    unique: tuple[tuple[str, ...], ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()


PROBLEMS = TableSpec(
    "problems",
    {
        "id": int, "source": str, "name": str, "split": str, "language": str, "header": str,
        "statement": str, "informal": str, "depth": int, "parent_id": int, "statement_hash": str,
        "created_at": str,
    },
    not_null=frozenset(
        {"source", "name", "split", "language", "header", "statement", "depth", "statement_hash",
         "created_at"}
    ),
    foreign_keys=(("parent_id", "problems", "id"),),
    unique=(("language", "statement_hash"),),
    indexes=(("split",), ("source",), ("parent_id",)),
)

CONJECTURES = TableSpec(
    "conjectures",
    {
        "id": int, "problem_id": int, "seed_id": int, "lemma": str, "generator": str, "kind": str,
        "round": int, "kept": int, "filter_reason": str, "created_at": str,
    },
    not_null=frozenset({"problem_id", "seed_id", "generator", "round", "created_at"}),
    foreign_keys=(("problem_id", "problems", "id"), ("seed_id", "problems", "id")),
    unique=(("problem_id", "seed_id"),),
    indexes=(("round",), ("seed_id",)),
)

ATTEMPTS = TableSpec(
    "attempts",
    {
        "id": int, "round": int, "role": str, "problem_id": int, "model": str, "engine": str,
        "sample": int, "kind": str, "revision_of": int, "prompt": str, "text": str, "candidate": str,
        "verified": int, "reason": str, "errors": str, "time_s": float, "tokens": int,
        "text_hash": str, "created_at": str,
    },
    not_null=frozenset(
        {"round", "role", "problem_id", "engine", "sample", "kind", "text", "verified", "errors",
         "time_s", "tokens", "text_hash", "created_at"}
    ),
    foreign_keys=(("problem_id", "problems", "id"), ("revision_of", "attempts", "id")),
    unique=(("round", "role", "problem_id", "engine", "sample"),),
    indexes=(("problem_id",), ("revision_of",)),
)

CORRECTIONS = TableSpec(
    "corrections",
    {"id": int, "attempt_id": int, "revision_id": int, "method": str, "detail": str, "created_at": str},
    not_null=frozenset({"attempt_id", "revision_id", "method", "detail", "created_at"}),
    foreign_keys=(("attempt_id", "attempts", "id"), ("revision_id", "attempts", "id")),
    unique=(("attempt_id", "revision_id"),),
    indexes=(("revision_id",),),
)

PROOFS = TableSpec(
    "proofs",
    {
        "id": int, "problem_id": int, "text": str, "text_hash": str, "axioms": str, "backend": str,
        "toolchain": str, "round": int, "attempt_id": int, "technique": str, "verify_time_s": float,
        "created_at": str,
    },
    not_null=frozenset(
        {"problem_id", "text", "text_hash", "axioms", "backend", "toolchain", "round", "verify_time_s",
         "created_at"}
    ),
    foreign_keys=(("problem_id", "problems", "id"), ("attempt_id", "attempts", "id")),
    unique=(("problem_id", "text_hash"),),
    indexes=(("round",), ("attempt_id",)),
)

ROUNDS = TableSpec(
    "rounds",
    {
        "number": int, "config": str, "status": str, "stage": str, "metrics": str, "checkpoint": str,
        "started_at": str, "ended_at": str,
    },
    pk="number",
    not_null=frozenset({"config", "status", "started_at"}),
)

STAGES = TableSpec(
    "stages",
    {"round": int, "stage": str, "status": str, "payload": str, "finished_at": str},
    pk=("round", "stage"),
    not_null=frozenset({"round", "stage", "status", "payload", "finished_at"}),
    foreign_keys=(("round", "rounds", "number"),),
)

# In dependency order: a table comes after every table its foreign keys name.
TABLES: tuple[TableSpec, ...] = (PROBLEMS, CONJECTURES, ATTEMPTS, CORRECTIONS, PROOFS, ROUNDS, STAGES)
TABLE_NAMES: tuple[str, ...] = tuple(spec.name for spec in TABLES)


def create_schema(db: Database) -> None:
    """Create every missing table and index; a no-op on a complete store. Run it inside a write
    transaction so that concurrent openers do not race on the DDL."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"the store was written by a newer prover (schema {version}; this one reads {SCHEMA_VERSION})"
        )
    for spec in TABLES:
        table = db.table(spec.name)
        table.create(
            spec.columns,
            pk=spec.pk,
            not_null=spec.not_null,
            foreign_keys=list(spec.foreign_keys),
            if_not_exists=True,
            strict=True,
        )
        for columns in spec.unique:
            name = f"{spec.name}_unique_{'_'.join(columns)}"
            table.create_index(list(columns), index_name=name, unique=True, if_not_exists=True)
        for columns in spec.indexes:
            name = f"{spec.name}_by_{'_'.join(columns)}"
            table.create_index(list(columns), index_name=name, if_not_exists=True)
    if version < SCHEMA_VERSION:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def missing_tables(db: Database) -> list[str]:
    """The store's tables that this database lacks (all of them for a file that is no store)."""
    present = set(db.table_names())
    return [name for name in TABLE_NAMES if name not in present]
