"""Benchmark statements known not to elaborate on a Lean pin, set apart before a run.

A statement the pin's Mathlib cannot parse is no failure of the prover: counting it as unsolved
would make a number on that pin incomparable with one on the port's own pin. So an eval run leaves
such problems out of its counts and its report lists them as "does not elaborate on pin X".

Two sources, one answer: the rows listed as data beside a port's local copy
(``data/<folder>/does_not_elaborate.jsonl``: ``benchmark``, ``pin``, ``key``, ``split``,
``statement_sha``, ``why``), and for a copy with no list (a hub copy, ``--data-file``) the notation
rules of ``prover.itp.lean.pins``, which is how the list was made (a test keeps the two equal).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from prover.evaluate.benchmarks import DATA, Benchmark, BenchProblem
from prover.itp.lean.pins import elaboration_problem

LIST_NAME = "does_not_elaborate.jsonl"


def list_path(bench: Benchmark) -> Path | None:
    """Where a port's list would be: beside its local copy (None without one)."""
    if bench.local is None or bench.local_format != "jsonl":
        return None
    return DATA / Path(bench.local).parent / LIST_NAME


def listed(bench: Benchmark, pin: str) -> dict[str, tuple[str, str]]:
    """The port's listed rows for ``pin``: key -> (statement_sha, why)."""
    path = list_path(bench)
    if path is None or not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {
        str(r["key"]): (str(r["statement_sha"]), str(r["why"]))
        for r in rows
        if r.get("benchmark") == bench.name and r.get("pin") == pin
    }


def does_not_elaborate(bench: Benchmark, problems: Sequence[BenchProblem], pin: str | None) -> dict[str, str]:
    """The problems known not to elaborate on ``pin``: key -> why. A listed row counts only for the
    statement it was listed with (its hash), so an edited copy is judged by the rules alone."""
    if pin is None or bench.backend != "lean":
        return {}
    known = listed(bench, pin)
    found = {}
    for p in problems:
        entry = known.get(p.key)
        why = entry[1] if entry is not None and entry[0] == p.statement_sha else None
        why = why or elaboration_problem(p.statement, pin)
        if why:
            found[p.key] = why
    return found
