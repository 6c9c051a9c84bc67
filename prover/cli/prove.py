"""The ``prove`` and ``repl`` commands: proof search from the command line (see ``proving.py`` for the
search's output and ``repl.py`` for the shell)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from prover.cli.common import (
    RequireVerifier,
    UsageError,
    backend_from,
    generator_from,
    read_file,
    settings_from,
    verifier_missing,
)
from prover.config import Settings
from prover.generate.base import GenerationConfig
from prover.itp import BACKEND_NAMES
from prover.itp.base import Backend, BackendUnavailable, CheckRequest, Verdict
from prover.search.runner import Problem
from prover.verify.batch import read_text, resolve
from prover.verify.pool import VerifierPool


def _statement_problem(path: Path, language: str = "rocq") -> Problem:
    from prover.search.runner import theorem_name

    text = read_file(path)
    if language != "rocq":  # the name only labels the output; the static check judges the statement
        from prover.generate.lang import declared_name

        found = declared_name(language, text)
        return Problem(found[0] if found else path.stem, text)
    try:
        return Problem(theorem_name(text), text)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from exc


def _search_backend(args: argparse.Namespace, settings: Settings, path: Path | None) -> Backend:
    from prover.cli.proving import EXTENSIONS
    from prover.search.language import LANGUAGES

    name = args.backend or (EXTENSIONS.get(path.suffix) if path is not None else "rocq")
    if name is None:
        raise UsageError("cannot tell the proof assistant from the file name: pass --backend")
    # Whole proofs need no goal-level session, and the proof assistant only once a check starts.
    engine = getattr(args, "engine", None)
    whole = engine == "model"
    if name not in LANGUAGES and not whole:
        raise UsageError(
            f"proof search needs a goal-level session, which only {' and '.join(LANGUAGES)} have so far "
            f"({name}: --engine model samples whole proofs on every backend; prover check checks one)"
        )
    # Tool correction splits a Rocq proof file into sentences; no other language's splitter exists.
    if name != "rocq" and (engine == "hybrid" or getattr(args, "start_from", None) is not None):
        raise UsageError(
            f"tool correction (--engine hybrid, --from) needs Rocq's proof splitting, which the {name} "
            f"backend does not have yet (--engine portfolio, step or model work on {name})"
        )
    return backend_from(name, settings, usable=not whole)


def _unavailable(backend: Backend, exc: BackendUnavailable) -> UsageError:
    """The one line a search ends with when its proof assistant turns out to be missing: that says
    nothing about the statement, so it is exit 2, never "not proved"."""
    return UsageError(f"backend {backend.name} is not usable here: {' '.join(str(exc).split())}")


def cmd_prove(args: argparse.Namespace) -> int:
    """Search for a proof; print it (exit 0) or the best partial attempt (exit 1)."""
    from prover.cli.proving import print_outcome, prove_batch, prove_one

    settings = settings_from(args)
    if (args.statement is None) == (args.batch is None):
        raise UsageError("give either STATEMENT_FILE or --batch FILE.jsonl")
    if args.budget <= 0:
        raise UsageError("--budget must be positive")
    if args.max_tokens is not None and args.engine not in ("model", "hybrid"):
        raise UsageError("--max-tokens needs --engine model or hybrid")
    backend = _search_backend(args, settings, args.statement)
    if args.engine not in ("portfolio", "step"):
        return _prove_with_model(args, settings, backend)
    policy = _step_policy(args)
    if args.batch is not None:
        base = args.batch.parent
        problems = [_batch_problem(line, n, base, backend.name) for n, line in _lines(args.batch)]
        with VerifierPool(backend, settings.pool.workers, settings.pool.limits()) as pool:
            try:
                prove_batch(problems, RequireVerifier(pool), args.budget, settings.pool.workers, sys.stdout,
                            not args.quiet, policy, backend)
            except BackendUnavailable as exc:
                raise _unavailable(backend, exc) from exc
        return 0
    problem = _statement_problem(args.statement, backend.name)
    start_from = read_file(args.start_from) if args.start_from is not None else None
    with VerifierPool(backend, 1, settings.pool.limits()) as pool:
        stream = None if args.quiet else sys.stderr
        try:
            outcome = prove_one(problem, RequireVerifier(pool), args.budget, start_from, stream, policy,
                                backend)
        except BackendUnavailable as exc:
            raise _unavailable(backend, exc) from exc
    print_outcome(outcome, args.json, args.engine, args.budget, backend.name)
    return 0 if outcome.proved else 1


def _step_policy(args: argparse.Namespace) -> Any:
    """The step engine's policy from ``--model`` (None for the portfolio: the table's order)."""
    if any(getattr(args, flag) is not None for flag in ("k", "seed", "temperature")):
        raise UsageError("-k, --seed and --temperature need --engine model or hybrid")
    if args.engine == "portfolio":
        if args.model is not None:
            raise UsageError("--model needs --engine step, model or hybrid")
        return None
    if args.model is None:
        raise UsageError("--engine step needs --model DIR (a step-level policy, e.g. models/step-rocq)")
    from prover.search.policy import load_policy

    try:
        return load_policy(args.model)
    except ValueError as exc:
        raise UsageError(str(exc).splitlines()[0]) from exc


def _generation(args: argparse.Namespace, settings: Settings) -> GenerationConfig:
    """The ``[generate]`` settings with the command line's flags over them."""
    if args.k is not None and args.k < 1:
        raise UsageError("-k must be at least 1")
    if args.max_tokens is not None and args.max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")
    gen = dataclasses.replace(settings.generate)
    flags = (("model", "model"), ("k", "n"), ("temperature", "temperature"), ("seed", "seed"),
             ("max_tokens", "max_tokens"))
    for flag, name in flags:
        if getattr(args, flag) is not None:
            setattr(gen, name, getattr(args, flag))
    if gen.model is None:
        raise UsageError(
            f"--engine {args.engine} needs --model DIR_OR_ID (or model in the [generate] settings)"
        )
    try:
        gen.validate()
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return gen


def _prove_with_model(args: argparse.Namespace, settings: Settings, backend: Backend) -> int:
    """``--engine model`` / ``hybrid`` on one statement."""
    from prover.cli.proving import print_model_result, prove_model
    from prover.search.model_engine import ModelEngineConfig

    if args.batch is not None or args.start_from is not None:
        raise UsageError(f"--engine {args.engine} takes one STATEMENT_FILE (no --batch, no --from)")
    gen = _generation(args, settings)
    hybrid = args.engine == "hybrid"
    config = ModelEngineConfig.from_generation(gen, rounds=args.rounds, tool_correction=hybrid,
                                               budget_s=args.budget)
    try:
        config.validate()
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    problem = _statement_problem(args.statement, backend.name)
    generator = generator_from(gen)
    try:
        with VerifierPool(backend, settings.pool.workers, settings.pool.limits()) as pool:
            result = prove_model(problem, generator, RequireVerifier(pool), config,
                                 None if args.quiet else sys.stderr, backend.name)
    except ValueError as exc:  # templates or a prompt format the model cannot take
        raise UsageError(str(exc)) from exc
    except BackendUnavailable as exc:
        raise UsageError(verifier_missing(backend.name, exc)) from exc
    finally:
        generator.close()
    print_model_result(result, args.json, args.engine, config)
    return 0 if result.proved else 1


def _lines(path: Path) -> list[tuple[int, str]]:
    text = read_file(path)
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _batch_problem(line: str, number: int, base: Path, language: str = "rocq") -> Problem:
    """A batch line {"id", "statement": PATH} or {"id", "statement_text": TEXT}."""
    from prover.generate.lang import declared_name
    from prover.search.runner import theorem_name

    try:
        data = json.loads(line)
        text = data.get("statement_text")
        if text is None:
            text = read_text(resolve(data["statement"], base, "statement"))
        if data.get("id"):
            return Problem(str(data["id"]), text)
        if language == "rocq":
            return Problem(theorem_name(text), text)
        found = declared_name(language, text)
        return Problem(found[0] if found else f"line-{number}", text)
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise UsageError(f"batch line {number}: {exc}") from exc


def cmd_repl(args: argparse.Namespace) -> int:
    """An interactive proof shell."""
    import tempfile

    from prover.cli.repl import SHELL_SYNTAX, Shell, run
    from prover.search.language import search_language
    from prover.search.portfolio import SearchConfig, search
    from prover.search.runner import open_session

    settings = settings_from(args)
    backend = _search_backend(args, settings, args.file)
    language = search_language(backend.name)
    workdir = Path(tempfile.mkdtemp(prefix="prover-repl-"))
    with VerifierPool(backend, 1, settings.pool.limits()) as pool:
        checked = RequireVerifier(pool)

        def try_here(session: Any, statement: str, state: Any, budget: float) -> Any:
            def certify(proof: str) -> Verdict:
                return checked.check(CheckRequest(proof, statement))

            config = SearchConfig(budget_s=budget, language=language)
            return search(session, statement, "", config, certify, start=state)

        def opened(text: str) -> Any:
            return open_session(text, workdir, backend=backend, limits=pool.limits)

        shell = Shell(opened, checked.check, try_here, syntax=SHELL_SYNTAX[language.name])
        try:
            if args.file is not None:
                print(shell.open(read_file(args.file)))
            run(shell)
        except BackendUnavailable as exc:
            raise _unavailable(backend, exc) from exc
    return 0


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``prove`` and ``repl`` subcommands."""
    prove = sub.add_parser(
        "prove",
        parents=[common],
        help="search for a proof of a statement (or a JSONL batch)",
        description="Search for a proof with the portfolio engine in a goal-level session (Rocq, Lean), "
        "or sample proofs from a model (--engine model on every backend, hybrid on Rocq); every proof "
        "is certified by the verifier pool. Prints the "
        "complete proof file and exits 0, or the best partial attempt (model: a summary) and exits 1; "
        "2 for bad input. What the engine tries streams to stderr. Sampling settings come from the "
        "[generate] section of the settings file; the flags override them.",
    )
    prove.add_argument(
        "statement", nargs="?", type=Path, metavar="STATEMENT_FILE", help="the statement to prove"
    )
    prove.add_argument(
        "--backend", choices=BACKEND_NAMES, help="proof assistant (default: from the file extension)"
    )
    prove.add_argument(
        "--engine",
        choices=["portfolio", "step", "model", "hybrid"],
        default="portfolio",
        help="portfolio: tactic search ordered by the table (default); step: the same search ordered "
        "by the step-level policy --model; model: whole proofs sampled from --model, revised "
        "from the checker's errors; hybrid: model plus tool correction of failing steps",
    )
    prove.add_argument(
        "--model", metavar="DIR_OR_ID", help="step, model or hybrid engine: a local model directory or a "
        "Hugging Face id (default: model in the [generate] settings)"
    )
    prove.add_argument(
        "-k", dest="k", type=int, metavar="K", help="proofs sampled per round (default: n in [generate], 8)"
    )
    prove.add_argument(
        "--rounds", type=int, default=2, metavar="R", help="revision rounds after the first (default 2)"
    )
    prove.add_argument("--seed", type=int, metavar="S", help="sampling seed (default: seed in [generate])")
    prove.add_argument(
        "--temperature", type=float, metavar="T", help="sampling temperature (default: [generate], 1.0)"
    )
    prove.add_argument(
        "--max-tokens", type=int, metavar="N", help="model or hybrid engine: the most tokens one sampled "
        "proof may take (default: max_tokens in [generate], 512)"
    )
    prove.add_argument(
        "--budget",
        type=float,
        default=60.0,
        metavar="S",
        help="wall-clock seconds per statement (default 60)",
    )
    prove.add_argument(
        "--json",
        action="store_true",
        help="end with one JSON object: proved, proof, attempts, time_s, repairs, technique …",
    )
    prove.add_argument(
        "--from",
        dest="start_from",
        type=Path,
        metavar="PROOF_FILE",
        help="a failing proof to repair first by tool correction (failing automation steps are "
        "replaced by portfolio search from the goals at that point; Rocq only)",
    )
    prove.add_argument(
        "--batch",
        type=Path,
        metavar="FILE.jsonl",
        help='prove every line {"id", "statement": PATH | "statement_text": TEXT}; one JSON result '
        "per line on stdout",
    )
    prove.add_argument(
        "--workers", type=int, help="statements searched in parallel with --batch (default: CPU count)"
    )
    prove.add_argument(
        "--timeout",
        dest="timeout_s",
        type=float,
        metavar="S",
        help="wall-clock seconds per verifier check of a found proof (default 60)",
    )
    prove.add_argument("--quiet", action="store_true", help="no progress on stderr")
    prove.set_defaults(func=cmd_prove)

    repl = sub.add_parser(
        "repl",
        parents=[common],
        help="an interactive proof shell (step tactics, see goals, undo, try, save)",
        description="Load or paste a statement, step tactics and see the goals, undo, let the "
        "portfolio engine try the current goal, and save the proof once the verifier pool certified "
        "it. Rocq tactics end with a period; on Lean any line that is no command is a tactic. Type "
        "help inside for the commands.",
    )
    repl.add_argument("file", nargs="?", type=Path, metavar="FILE", help="a statement to open at start")
    repl.add_argument(
        "--backend",
        choices=BACKEND_NAMES,
        help="proof assistant (default: from the file extension, else rocq)",
    )
    repl.set_defaults(func=cmd_repl)
