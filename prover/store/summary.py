"""What ``prover store stats`` shows: counts over a self-play store, as a JSON-ready dict and as a
plain-text table. Reads only; works on a store opened read-only."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from prover.store.schema import TABLE_NAMES


def _rows(db: Database, sql: str) -> list[dict[str, Any]]:
    return list(db.query(sql))


def collect_stats(db: Database) -> dict[str, Any]:
    """Row counts per table; problems per source and split (with how many have a proof); conjectures
    kept/rejected/unfiltered and why; and per round: status, last stage, attempts per role (verified
    and total), proofs, problems proved, conjectures and how many were kept."""
    tables = {name: db.table(name).count for name in TABLE_NAMES}
    by_source = {r["source"]: r["n"] for r in _rows(
        db, "SELECT source, COUNT(*) AS n FROM problems GROUP BY source ORDER BY source")}
    by_split = {r["split"]: {"total": r["n"], "proved": r["proved"]} for r in _rows(
        db,
        "SELECT split, COUNT(*) AS n, "
        "SUM(EXISTS (SELECT 1 FROM proofs WHERE proofs.problem_id = problems.id)) AS proved "
        "FROM problems GROUP BY split ORDER BY split",
    )}
    conj = _rows(
        db,
        "SELECT COUNT(*) AS total, COALESCE(SUM(kept = 1), 0) AS kept, "
        "COALESCE(SUM(kept = 0), 0) AS rejected, COALESCE(SUM(kept IS NULL), 0) AS unfiltered "
        "FROM conjectures",
    )[0]
    conj["by_reason"] = {r["filter_reason"]: r["n"] for r in _rows(
        db,
        "SELECT filter_reason, COUNT(*) AS n FROM conjectures WHERE filter_reason IS NOT NULL "
        "GROUP BY filter_reason ORDER BY n DESC, filter_reason",
    )}
    return {
        "tables": tables,
        "problems": {"by_source": by_source, "by_split": by_split},
        "conjectures": conj,
        "rounds": _per_round(db),
    }


def _per_round(db: Database) -> list[dict[str, Any]]:
    rounds: dict[int, dict[str, Any]] = {}

    def entry(number: int) -> dict[str, Any]:
        return rounds.setdefault(number, {
            "round": number, "status": None, "stage": None, "attempts": {}, "proofs": 0,
            "problems_proved": 0, "conjectures": 0, "kept": 0,
        })

    for r in _rows(db, "SELECT number, status, stage FROM rounds"):
        entry(r["number"]).update(status=r["status"], stage=r["stage"])
    for r in _rows(db, "SELECT round, role, COUNT(*) AS n, SUM(verified) AS ok FROM attempts "
                       "GROUP BY round, role ORDER BY role"):
        entry(r["round"])["attempts"][r["role"]] = {"verified": r["ok"], "total": r["n"]}
    for r in _rows(db, "SELECT round, COUNT(*) AS n, COUNT(DISTINCT problem_id) AS p FROM proofs "
                       "GROUP BY round"):
        entry(r["round"]).update(proofs=r["n"], problems_proved=r["p"])
    for r in _rows(db, "SELECT round, COUNT(*) AS n, COALESCE(SUM(kept = 1), 0) AS k FROM conjectures "
                       "GROUP BY round"):
        entry(r["round"]).update(conjectures=r["n"], kept=r["k"])
    return [rounds[n] for n in sorted(rounds)]


def _table(header: list[str], body: list[list[str]], left: int = 1) -> list[str]:
    """Columns padded to their widest cell; the first ``left`` left-aligned, the rest (numbers)
    right-aligned."""
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [cell.ljust(w) if i < left else cell.rjust(w) for i, (cell, w) in pairs]
        return "  ".join(cells).rstrip()

    return [line(header), *(line(row) for row in body)]


def format_stats(stats: dict[str, Any]) -> str:
    """``collect_stats``' dict as a few plain-text tables."""
    out = ["tables: " + ", ".join(f"{name} {n}" for name, n in stats["tables"].items())]
    problems = stats["problems"]
    if problems["by_split"]:
        out += ["", *_table(["split", "problems", "proved"], [
            [split, str(v["total"]), str(v["proved"])] for split, v in problems["by_split"].items()
        ])]
        out.append("sources: " + ", ".join(f"{s} {n}" for s, n in problems["by_source"].items()))
    conj = stats["conjectures"]
    if conj["total"]:
        reasons = ", ".join(f"{r} {n}" for r, n in conj["by_reason"].items())
        out += ["", f"conjectures: {conj['total']} ({conj['kept']} kept, {conj['rejected']} rejected, "
                f"{conj['unfiltered']} not filtered yet)" + (f"; rejected as {reasons}" if reasons else "")]
    if stats["rounds"]:
        body = []
        for r in stats["rounds"]:
            prover = r["attempts"].get("prover", {"verified": 0, "total": 0})
            others = sum(v["total"] for role, v in r["attempts"].items() if role != "prover")
            body.append([
                str(r["round"]), r["status"] or "-", r["stage"] or "-", str(prover["total"]),
                str(prover["verified"]), str(others), str(r["proofs"]), str(r["problems_proved"]),
                str(r["conjectures"]), str(r["kept"]),
            ])
        out += ["", *_table(
            ["round", "status", "stage", "prover", "verified", "other", "proofs", "proved", "conjectures",
             "kept"], body, left=3,
        )]
        out.append("(prover/verified: the round's prover attempts; other: conjecturer and corrector "
                   "attempts; proved: distinct problems given a proof that round)")
    return "\n".join(out) + "\n"
