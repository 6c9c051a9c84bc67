"""One deterministic walk through conjecture → filter (without Coq) over real statements, written as
plain data, so the outputs of two implementations can be compared exactly.

It calls only the text entry points (``mutate``, ``normalise``, ``declares_refusal``,
``conjecture_file``, ``from_model``, ``filter_conjectures``, ``propose``), which the parse-once
refactor kept, so the same walk ran on the code before it (``tests/fixtures/parse_once.json.gz`` was
written by that code: ``python -m tests.parse_once_walk``) and runs on the code after it.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from prover.itp.base import CheckRequest, Reason, Verdict
from prover.selfplay.conjecturing import Seed, propose
from prover.selfplay.filter import (
    Candidate,
    conjecture_file,
    declares_refusal,
    filter_conjectures,
    from_model,
    normalise,
)
from prover.selfplay.symbolic import mutate
from prover.store import ProblemRow

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "fixtures" / "parse_once.json.gz"
SEED_FILE = REPO / "data" / "rocq-seeds" / "problems.jsonl"


def statements() -> list[tuple[str, str]]:
    """(name, statement) of the rocq-seeds file, the rocq-demo statements and miniF2F-rocq."""
    found = [(d["name"], d["statement"]) for d in map(json.loads, SEED_FILE.read_text().splitlines()) if d]
    for folder in ("rocq-demo/statements", "minif2f-rocq/valid", "minif2f-rocq/test"):
        found += [(p.stem, p.read_text()) for p in sorted((REPO / "data" / folder).glob("*.v"))]
    return found


class RecordingPool:
    """Never verifies; keeps every request, so the texts sent to Coq are compared too."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []

    def submit(self, request: CheckRequest, timeout_s: float | None = None) -> Future[Verdict]:
        self.requests.append((request.proof, request.statement))
        future: Future[Verdict] = Future()
        future.set_result(Verdict(False, Reason.ERROR))
        return future


def _try(call: Any) -> Any:
    try:
        return call()
    except ValueError as exc:
        return f"ValueError: {exc}"


def _answers(statement: str, mutations: list[Any]) -> list[str]:
    """Model answers for ``from_model``: a mutation's theorem fenced, the same with an axiom before
    it, prose, and the statement repeated."""
    found = ["I cannot think of one.", f"```coq\n{statement}\n```"]
    for m in mutations[:2]:
        theorem = m.statement[m.statement.find("Theorem") :]
        found += [f"Here:\n```coq\n{theorem}```\n", f"```coq\nAxiom c : False.\n{theorem}```"]
    return found


def walk() -> dict[str, Any]:
    items = statements()
    out: dict[str, Any] = {}
    seen: list[str] = []
    for i, (name, statement) in enumerate(items):
        partner = items[(i + 1) % len(items)][1]
        mutations = _try(lambda s=statement, p=partner, i=i: mutate(s, random.Random(i), 8, partner=p))
        composed = _try(lambda s=statement, p=partner: mutate(s, random.Random(0), 4, partner=p, kinds=["compose"]))
        record: dict[str, Any] = {
            "normalise": _try(lambda s=statement: normalise(s)),
            "conjecture_file": _try(lambda s=statement: conjecture_file(s, "Theorem x : True.")),
            "partner_refusal": _try(lambda s=statement, p=partner: declares_refusal(p, s)),
            "mutations": mutations if isinstance(mutations, str) else [
                [m.statement, m.kind, m.name] for m in mutations],
            "compose": composed if isinstance(composed, str) else [[m.statement, m.name] for m in composed],
        }
        if not isinstance(mutations, str):
            pool = RecordingPool()
            candidates = [Candidate(m.statement, statement, m.kind) for m in mutations]
            candidates += [Candidate(partner, statement, "partner"), Candidate(statement, statement, "self")]
            results = _try(lambda c=candidates, p=pool: filter_conjectures(c, p, seen[-50:]))  # type: ignore[misc]
            record["filter"] = results if isinstance(results, str) else [
                [r.statement, r.kept, r.reason, r.detail, r.origin] for r in results]
            record["checked"] = pool.requests
            answers = [_try(lambda s=statement, a=a: from_model(s, a)) for a in _answers(statement, mutations)]
            record["from_model"] = [a if isinstance(a, str) else [type(a).__name__, a.statement,
                                    getattr(a, "reason", None), getattr(a, "detail", None)] for a in answers]
        if isinstance(record["normalise"], str) and not record["normalise"].startswith("ValueError"):
            seen.append(statement)
        out[f"{i:03d} {name}"] = record
    out["propose"] = _propose()
    return out


def _propose() -> list[list[Any]]:
    """One ``propose`` walk over the training seeds (no model): the proposals it chooses, in order."""
    seeds = [Seed(row, "Proof.\n  lia.\nQed.\n", "lia") for row in seed_rows() if row.split == "train"]
    chosen, refused = propose(seeds, 60, 4, random.Random(5), None, 1)  # type: ignore[arg-type]
    assert not refused
    return [[p.seed.problem.name, p.statement, p.generator, p.kind] for p in chosen]


def seed_rows() -> list[ProblemRow]:
    rows = []
    for i, line in enumerate(SEED_FILE.read_text().splitlines()):
        d = json.loads(line)
        rows.append(ProblemRow(name=d["name"], statement=d["statement"], source="rocq-seeds", split=d["split"],
                               language="rocq", id=i + 1))
    return rows


def load() -> dict[str, Any]:
    with gzip.open(GOLDEN, "rt") as f:
        data: dict[str, Any] = json.load(f)
    return data


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data))  # tuples become lists, as in the stored file


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        with gzip.open(GOLDEN, "wt") as f:
            json.dump(walk(), f, sort_keys=True)
    else:
        print("differs" if _jsonable(walk()) != load() else "same")
