"""The prover command line. Exit codes: 0 success/verified, 1 a definite no, 2 usage/input/environment."""

# The package holds every command: this module (check, doctor, setup, report, the parser and main),
# common.py (what they all share), prove.py (prove, repl) over proving.py and repl.py, and one module
# for each package's command (evaluate.py, selfplay.py, train.py, store.py).

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from prover import __version__
from prover.cli.common import UsageError, backend_from, run_command, settings_from
from prover.config import Settings
from prover.itp import BACKEND_NAMES
from prover.itp.base import Backend, CheckRequest, Message, Reason, StaticVerdict, Verdict
from prover.verify.batch import BatchItem, read_batch, read_text, run_batch
from prover.verify.cache import VerdictCache
from prover.verify.pool import VerifierPool


def _print_messages(messages: list[Message], proof_path: str) -> None:
    for m in messages:
        where = f"{proof_path}:{m.line}:{m.column}: " if m.line is not None else ""
        print(f"  {where}{m.severity}: {m.text}")


def _print_verdict(verdict: Verdict, proof_path: str) -> None:
    print("verified" if verdict.verified else f"not verified: {verdict.reason}")
    _print_messages(verdict.messages, proof_path)
    if verdict.axioms:
        print(f"  axioms: {', '.join(verdict.axioms)}")


def _requests(args: argparse.Namespace) -> list[BatchItem]:
    """The batch's lines, or the one PROOF_FILE (with --statement) as a batch of one."""
    if (args.proof is None) == (args.batch is None):
        raise UsageError("give either PROOF_FILE or --batch FILE.jsonl")
    try:
        if args.batch is not None:
            return read_batch(args.batch)
        proof = read_text(args.proof)
        statement = read_text(args.statement) if args.statement is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return [BatchItem(str(args.proof), CheckRequest(proof, statement))]


def _check_static(args: argparse.Namespace, backend: Backend, items: list[BatchItem]) -> int:
    """--static-only: the checks that need no proof assistant, so no toolchain has to be installed."""
    verdict = StaticVerdict(True)
    for item in items:
        if item.request is None:
            verdict = StaticVerdict(False, Reason.BAD_INPUT, [Message("error", item.error or "")], item.error)
        else:
            verdict = backend.static_check(item.request)
        if args.batch is not None:
            print(json.dumps({"id": item.id, **verdict.to_json()}, ensure_ascii=False))
        elif args.json:
            print(json.dumps(verdict.to_json(), ensure_ascii=False))
        else:
            print("static checks pass" if verdict.passed else f"refused: {verdict.reason}")
            _print_messages(verdict.messages, str(args.proof))
    return 0 if args.batch is not None or verdict.passed else 1


def cmd_check(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    items = _requests(args)
    if args.static_only:
        return _check_static(args, backend_from(args.backend, settings, usable=False), items)
    backend = backend_from(args.backend, settings)
    cache = VerdictCache(path=Path(settings.pool.cache_path)) if settings.pool.cache_path else None
    workers = settings.pool.workers if args.batch is not None else 1
    with VerifierPool(backend, workers, settings.pool.limits(), cache=cache) as pool:
        if args.batch is not None:
            run_batch(pool, items, sys.stdout, progress=not args.quiet)
            print(json.dumps({"stats": pool.stats.summary()}), file=sys.stderr)
            return 0
        assert items[0].request is not None  # a single file is read or refused by _requests
        verdict = pool.check(items[0].request)
    if args.json:
        print(json.dumps(verdict.to_json(), ensure_ascii=False))
    else:
        _print_verdict(verdict, str(args.proof))
    return 0 if verdict.verified else 1


# One tiny known-good (proof, statement) per backend. Files in place are not a working backend (a
# toolchain elan cannot resolve, a sandbox without namespaces, a REPL that cannot load Mathlib all
# show only when a session starts), so doctor calls a backend usable only once this one verified.
DOCTOR_CHECKS: dict[str, tuple[str, str]] = {
    "rocq": (
        "Theorem doctor_check : True.\nProof. exact I. Qed.\n",
        "Theorem doctor_check : True.\nAdmitted.\n",
    ),
    "lean": ("theorem doctor_check : True := trivial\n", "theorem doctor_check : True := by sorry\n"),
    "isabelle": (
        'theorem doctor_check: "True"\n  by simp\n',
        'theory Doctor_Check imports Main\nbegin\n\ntheorem doctor_check: "True"\n  sorry\n\nend\n',
    ),
}


def _one_line(text: str, limit: int = 600) -> str:
    return " ".join(text.split())[:limit]


def _doctor(name: str, settings: Settings) -> tuple[bool, str]:
    """Whether backend ``name`` really checks a proof here, and the version or why not."""
    from prover.itp import get_backend
    from prover.itp.sandbox import bwrap_problem

    try:
        backend = get_backend(name, settings)
    except ImportError as exc:
        return False, f"cannot be loaded: {exc}"
    status = backend.availability()
    if not status.usable:
        return False, status.detail
    if {"rocq": settings.rocq.sandbox, "lean": settings.lean.sandbox}.get(name, False):
        problem = bwrap_problem()
        if problem:
            return False, problem
    proof, statement = DOCTOR_CHECKS[name]
    started = time.monotonic()
    with VerifierPool(backend, 1, settings.pool.limits()) as pool:  # no cache: it must really run
        verdict = pool.check(CheckRequest(proof, statement))
    if not verdict.verified:
        said = verdict.detail or "; ".join(m.text for m in verdict.messages) or "no detail"
        return False, f"a known-good test proof was not verified ({verdict.reason}): {_one_line(said)}"
    return True, f"{status.detail}; a test proof verified in {time.monotonic() - started:.1f} s"


def cmd_doctor(args: argparse.Namespace) -> int:
    """Report which backends are usable here (a real check passed) and why not."""
    settings = settings_from(args)
    usable = 0
    for name in BACKEND_NAMES:
        ok, detail = _doctor(name, settings)
        usable += ok
        print(f"{name:<9} {'usable' if ok else 'not usable'}: {detail}", flush=True)
    return 0 if usable else 1


def cmd_setup(args: argparse.Namespace) -> int:
    """Build or install what a backend needs beyond its Debian/upstream packages."""
    if args.target == "rocq":
        if args.pin is not None:
            raise UsageError("--pin is for `prover setup lean`")
        from prover.itp.rocq.plugin import build_plugin

        done, summary = build_plugin()
    else:
        from prover.itp.lean.setup import setup_lean

        settings = settings_from(args)
        # --pin names a project folder of its own; without it, [lean] project_dir, else [lean] pin.
        explicit = settings.lean.project_dir if args.pin is None else None
        project = Path(explicit) if explicit else None
        done, summary = setup_lean(project, pin=args.pin or settings.lean.pin)
    if not done:
        raise UsageError(f"setup {args.target} failed: {summary}")
    print(summary)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Print a table summarizing a file of batch verdicts."""
    from prover.verify.report import load, summarize

    try:
        rows = load(args.verdicts, args.expect)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read verdicts: {exc}") from exc
    print(summarize(rows))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prover", description=__doc__)
    parser.add_argument("--version", action="version", version=f"prover {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML settings file (default: ./prover.toml if present)")

    check = sub.add_parser(
        "check",
        parents=[common],
        help="check a complete proof file (or a JSONL batch)",
        description="Check proofs. Exit 0 verified, 1 not verified, 2 usage/input error. "
        "In batch mode exit 0 once every line is processed.",
    )
    check.add_argument("proof", nargs="?", type=Path, metavar="PROOF_FILE", help="the complete proof file")
    check.add_argument("--backend", required=True, choices=BACKEND_NAMES, help="proof assistant")
    check.add_argument(
        "--statement",
        type=Path,
        metavar="STATEMENT_FILE",
        help="trusted target statement (ends in Admitted./Proof./sorry/oops); the proof must "
        "prove exactly it",
    )
    check.add_argument(
        "--json", action="store_true", help="print one JSON object (verified, reason, messages …)"
    )
    check.add_argument(
        "--batch",
        type=Path,
        metavar="FILE.jsonl",
        help="check every line {id, proof|proof_text, statement|statement_text}; "
        "one JSON result per line on stdout",
    )
    check.add_argument(
        "--workers",
        type=int,
        help="parallel proof-assistant sessions for --batch (default: CPU count; a single file uses one)",
    )
    check.add_argument(
        "--timeout",
        dest="timeout_s",
        type=float,
        metavar="S",
        help="wall-clock seconds per check (default 60)",
    )
    check.add_argument(
        "--memory-gib",
        type=float,
        metavar="G",
        help="address-space limit per proof-assistant process, in GiB (default: 4 for Rocq, "
        "12 for Lean with Mathlib; Isabelle's JVM is not limited this way)",
    )
    check.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run Rocq and Lean without bubblewrap, only for trusted input (Isabelle's server never "
        "runs under it)",
    )
    check.add_argument(
        "--static-only",
        action="store_true",
        help="run only the checks that need no proof assistant (text guard, statement shape) and "
        'answer {"verified": null, "static": "pass"|"refused", "reason", …}; exit 0 pass, 1 refused '
        "(with --batch: 0 once every line is done); works where the toolchain is not installed",
    )
    check.add_argument("--quiet", action="store_true", help="no progress bar in batch mode")
    check.set_defaults(func=cmd_check)

    doctor = sub.add_parser(
        "doctor",
        parents=[common],
        help="report which backends are usable here",
        description="For each backend: whether its toolchain is installed, whether bubblewrap can "
        "start its sandbox, and whether a tiny known-good proof really verifies; only then is it "
        "usable. Exit 0 when one is, 1 when none is.",
    )
    doctor.add_argument(
        "--no-sandbox",
        action="store_true",
        help="check Rocq and Lean without bubblewrap (what `check --no-sandbox` would run)",
    )
    doctor.set_defaults(func=cmd_doctor)

    setup = sub.add_parser(
        "setup",
        parents=[common],
        help="build prover's Coq plugin, or install the Lean toolchain",
        description="rocq: build prover's Coq plugin (the fast axiom check) into the user's cache "
        "folder; needs Debian's libcoq-core-ocaml-dev and ocaml-findlib. lean: install elan and the "
        "Lean toolchain, fetch Mathlib's cache and build the REPL in lean_project/ (needs internet; "
        "--pin v4.9: the Lean 4.9-era project lean_project_v4_9/, which builds Mathlib). "
        "Coq itself comes from Debian (scripts/setup.sh); Isabelle from its own site.",
    )
    setup.add_argument("target", choices=["rocq", "lean"], help="what to set up")
    from prover.itp.lean.pins import DEFAULT_PIN, PINS
    from prover.itp.lean.setup import known_pins

    setup.add_argument(
        "--pin", choices=list(PINS), help=f"lean: which pinned project to set up (default {DEFAULT_PIN}; "
        f"a benchmark port runs in the one it names): {known_pins()}",
    )
    setup.set_defaults(func=cmd_setup)

    from prover.cli.evaluate import add_parser as add_eval_parser
    from prover.cli.evaluate import cmd_eval_usage
    from prover.cli.prove import add_parsers as add_prove_parsers

    add_prove_parsers(sub, common)

    from prover.cli.train import add_parsers as add_train_parsers

    add_train_parsers(sub, common)

    add_eval_parser(sub, common).set_defaults(func=cmd_eval_usage)

    from prover.cli.selfplay import add_parser as add_selfplay_parser
    from prover.cli.store import add_parser as add_store_parser

    add_selfplay_parser(sub, common)
    add_store_parser(sub, common)
    for name in ("prove", "eval", "selfplay"):  # the commands that configure model generation
        _add_preset_flag(sub.choices[name])

    report = sub.add_parser("report", help="summarize a JSONL file of batch verdicts as a table")
    report.add_argument(
        "verdicts", type=Path, metavar="VERDICTS.jsonl", help="output of prover check --batch"
    )
    report.add_argument(
        "--expect",
        type=Path,
        metavar="BATCH.jsonl",
        help="the batch input, whose 'expect' fields are compared with the verdicts",
    )
    report.set_defaults(func=cmd_report)
    return parser


def _add_preset_flag(parser: argparse.ArgumentParser) -> None:
    """``--preset NAME`` on a command that generates with a model: the command runs with every
    settings load it makes (``prover.config.cli_preset``) taking the preset after the file."""
    from prover.generate.presets import preset_help

    parser.add_argument("--preset", metavar="NAME", help=preset_help())
    func = parser.get_default("func")

    def with_preset(args: argparse.Namespace) -> int:
        from prover.config import cli_preset
        from prover.generate.presets import get_preset

        name = getattr(args, "preset", None)
        if name is not None:
            try:
                get_preset(name)
            except ValueError as exc:
                raise UsageError(f"--preset: {exc}") from exc
        with cli_preset(name):
            code: int = func(args)
        return code

    parser.set_defaults(func=with_preset)


def _quiet_libraries() -> None:
    """Hugging Face libraries draw a progress bar for every model load and dataset write; prover
    shows its own progress for long work, so theirs are off unless the user set the variables."""
    for name, value in (("HF_HUB_DISABLE_PROGRESS_BARS", "1"), ("HF_DATASETS_DISABLE_PROGRESS_BARS", "1"),
                        ("TRANSFORMERS_VERBOSITY", "error")):
        os.environ.setdefault(name, value)


def main(argv: list[str] | None = None) -> int:
    _quiet_libraries()
    return run_command(build_parser().parse_args(argv))

