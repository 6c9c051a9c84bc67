"""``prover store stats PATH``: counts over a self-play store (problems per split and how many are
proved, conjectures kept, attempts and proofs per round), as a plain-text table or ``--json``.

``add_parser(sub)`` adds ``store`` to the main parser's subparsers; ``cmd_store_stats(args)`` runs it
and returns the exit code. A missing file, a file that is not SQLite or an SQLite file that is no
store raises ``UsageError`` (one line, exit 2). ``main(argv)`` runs the command on its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from prover.cli.common import UsageError, run_command


def add_parser(sub: Any, common: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add ``store`` (with its one action, ``stats``) to the subparsers ``sub``; returns the store
    parser."""
    parents = [common] if common is not None else []
    store: argparse.ArgumentParser = sub.add_parser(
        "store",
        help="inspect a self-play store (the SQLite file of a self-play run)",
        description="Inspect the SQLite file that holds a self-play run's state. Exit 0, 2 for bad input.",
    )
    actions = store.add_subparsers(dest="store_action", metavar="ACTION", required=True)
    stats = actions.add_parser(
        "stats",
        parents=parents,
        help="counts per table, split and round",
        description="Count problems (per source and split, and how many are proved), conjectures (kept, "
        "rejected and why), and per round the prover attempts (verified/total), proofs and conjectures. "
        "Opens the file read-only.",
    )
    stats.add_argument("path", type=Path, metavar="PATH", help="the store's SQLite file")
    stats.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    stats.set_defaults(func=cmd_store_stats)
    proofs = actions.add_parser(
        "proofs", parents=parents, help="every proof as a batch for prover check",
        description="Print one JSON line per proof row, {id, statement_text, proof_text, problem, round}: "
        "save it and run `prover check --backend rocq --batch FILE` to re-verify what the store "
        "holds. Opens the file read-only.",
    )
    proofs.add_argument("path", type=Path, metavar="PATH", help="the store's SQLite file")
    proofs.set_defaults(func=cmd_store_proofs)
    return store


def _open(path: Path) -> Any:
    from prover.store.db import Store

    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if not path.is_file():
        raise UsageError(f"{path}: not a file")
    try:
        return Store(path, readonly=True)
    except ValueError as exc:
        raise UsageError(str(exc).splitlines()[0]) from exc


def cmd_store_proofs(args: argparse.Namespace) -> int:
    with _open(args.path) as store:
        for proof in store.proofs():
            problem = store.problem(proof.problem_id)
            print(json.dumps({"id": f"proof-{proof.id}", "problem": problem.name, "round": proof.round,
                              "statement_text": problem.statement, "proof_text": proof.text}))
    return 0


def cmd_store_stats(args: argparse.Namespace) -> int:
    from prover.store.summary import format_stats

    path: Path = args.path
    with _open(path) as store:
        stats = store.stats()
    if args.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
    else:
        print(f"store: {path}")
        print(format_stats(stats), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """A stand-alone parser with only ``store``."""
    parser = argparse.ArgumentParser(prog="prover")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """``prover store …`` on its own, with the command line's exit codes (0, 2 for bad input)."""
    return run_command(build_parser().parse_args(["store", *(sys.argv[1:] if argv is None else argv)]))
