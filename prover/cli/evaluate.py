"""``prover eval``: run a search engine over a benchmark split and report pass@k; ``prover eval
compare A.json B.json``: what each result solved that the other did not.

``add_parser(sub, common)`` adds the subcommand to the main parser; ``cmd_eval(args)`` runs it and
returns the exit code (0 once the run completed, however many were solved). Bad input or
environment raises ``EvalUsageError`` (a ``ValueError``) with a one-line message, which the
command line turns into exit 2. ``main(argv)`` runs the command on its own
(``python -m prover.evaluate``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_DB = Path("runs") / "eval.sqlite"


class EvalUsageError(ValueError):
    """Bad input or environment for ``prover eval``: one line on stderr, exit 2."""


def _ks(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("empty -k")
    return values


def add_parser(sub: Any, common: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add ``eval`` (and ``eval compare``) to the subparsers ``sub``; returns the eval parser, whose
    ``func`` default is ``cmd_eval``."""
    from prover.evaluate.benchmarks import REGISTRY, SPLITS
    from prover.evaluate.engines import ENGINES

    parents = [common] if common is not None else []
    names = "; ".join(f"{b.name}: {b.description}" for b in REGISTRY.values())
    ev: argparse.ArgumentParser = sub.add_parser(
        "eval",
        parents=parents,
        help="evaluate a search engine on a benchmark split (pass@k, JSON/Markdown/PNG reports)",
        description="Run a search engine on every problem of a benchmark split, every proof certified "
        "by one verifier pool, every sample recorded in an SQLite file so that an interrupted run "
        "resumes where it stopped. Exit 0 once the run completed (however many were solved), 2 for "
        f"bad input or environment. Benchmarks: {names}.",
        epilog="prover eval compare A.json B.json: list what each result solved that the other did not.",
    )
    ev.add_argument("--benchmark", choices=list(REGISTRY), metavar="NAME",
                    help=f"the benchmark: {', '.join(REGISTRY)}")
    ev.add_argument("--split", choices=SPLITS, help="which split (valid or test)")
    ev.add_argument("-k", dest="ks", type=_ks, action="append", metavar="K",
                    help="report pass@K (repeat, or a comma list like 1,8; each K <= N; default 1)")
    ev.add_argument("-n", dest="n", type=int, default=1, metavar="N",
                    help="samples per problem per seed (default 1: the portfolio engine is deterministic)")
    ev.add_argument("--engine", choices=ENGINES, default="portfolio",
                    help="search engine: portfolio (default, the tactic portfolio), step (the same search "
                    "ordered by the step-level policy --model), model (whole proofs "
                    "sampled from --model; one sample is one proof plus --rounds revisions), hybrid "
                    "(model plus tool correction of failing steps)")
    ev.add_argument("--model", metavar="M", help="the model a model-driven engine samples from: a local "
                    "directory or a Hugging Face id (default: [generate] model; not with portfolio)")
    ev.add_argument("--rounds", type=int, default=0, metavar="R",
                    help="revision rounds per sample of a model-driven engine: the checker's errors go "
                    "back to the model (default 0)")
    ev.add_argument("--temperature", type=float, metavar="T",
                    help="sampling temperature of a model-driven engine (not with portfolio)")
    ev.add_argument("--max-tokens", type=int, metavar="N",
                    help="the most tokens one sampled proof of a model-driven engine may take (default: "
                    "max_tokens in [generate], 512)")
    ev.add_argument("--budget", type=float, default=60.0, metavar="S",
                    help="wall-clock seconds per sample (default 60)")
    ev.add_argument("--seed", dest="seeds", type=int, nargs="+", metavar="S",
                    help="one run per seed, pass@k reported as mean ± std over seeds (default: 0); "
                    "recorded with every sample even when the engine is deterministic")
    ev.add_argument("--data-dir", type=Path, metavar="DIR",
                    help="a folder holding the benchmark's local copy (default: the repository's data/)")
    ev.add_argument("--data-file", type=Path, metavar="FILE",
                    help="a JSONL file of problems {name, split, header, formal_statement, "
                    "informal_statement} (Lean/Isabelle benchmarks)")
    ev.add_argument("--hub", action="store_true",
                    help="load from the benchmark's Hugging Face id (needs the datasets package and "
                    "network) even where a local copy exists")
    ev.add_argument("--workers", type=int, metavar="N",
                    help="problems searched in parallel, and verifier sessions (default: CPU count)")
    ev.add_argument("--timeout", dest="timeout_s", type=float, metavar="S",
                    help="wall-clock seconds per verifier check of a found proof (default 60)")
    ev.add_argument("--db", type=Path, default=DEFAULT_DB, metavar="FILE",
                    help=f"SQLite file recording every sample, for resuming (default {DEFAULT_DB})")
    ev.add_argument("--json-out", type=Path, metavar="FILE",
                    help="write the JSON result (solved, total, pass_at_k, config, per-problem outcomes "
                    "and proofs)")
    ev.add_argument("--md-out", type=Path, metavar="FILE",
                    help="write the Markdown report (per-category table; also printed to stdout)")
    ev.add_argument("--plot-dir", type=Path, metavar="DIR",
                    help="write pass_at_k.png and categories.png there (needs matplotlib)")
    ev.add_argument("--limit", type=int, metavar="N", help="only the first N problems (after --only)")
    ev.add_argument("--only", metavar="PREFIX", help="only problems whose name starts with PREFIX")
    ev.add_argument("--quiet", action="store_true", help="no progress bar, no report on stdout")
    ev.set_defaults(func=cmd_eval, eval_action=None)

    actions = ev.add_subparsers(
        dest="eval_action", metavar="compare", help="compare A.json B.json: two results side by side"
    )
    cmp = actions.add_parser("compare", help="what each of two eval results solved that the other did not",
                             description="Compare two JSON results of prover eval over the problems both "
                             "attempted; prints Markdown (or JSON with --json). Exit 0, 2 for bad input.")
    cmp.add_argument("a", type=Path, metavar="A.json", help="one result")
    cmp.add_argument("b", type=Path, metavar="B.json", help="the other result")
    cmp.add_argument("--json", action="store_true", help="print one JSON object instead of Markdown")
    return ev


def cmd_eval(args: argparse.Namespace) -> int:
    """Run ``prover eval`` (or ``eval compare``); raises ``EvalUsageError`` for bad input."""
    try:
        if getattr(args, "eval_action", None) == "compare":
            return _compare(args)
        return _run(args)
    except EvalUsageError:
        raise
    except ValueError as exc:
        raise EvalUsageError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc


def cmd_eval_usage(args: argparse.Namespace) -> int:
    """``cmd_eval`` under the command line's contract: its one-line errors (``EvalUsageError`` and
    any other ``ValueError``) become the ``UsageError`` that ``run_command`` turns into exit 2."""
    from prover.cli.common import UsageError

    try:
        return cmd_eval(args)
    except ValueError as exc:  # one-line input/environment errors
        raise UsageError(str(exc)) from exc


def _compare(args: argparse.Namespace) -> int:
    from prover.evaluate.report import compare, comparison_markdown

    result = compare(args.a, args.b)
    print(json.dumps(result.to_json(), indent=2) if args.json else comparison_markdown(result), end="\n")
    return 0


def _config(
    args: argparse.Namespace, workers: int, default_model: str | None, default_max_tokens: int,
    prompts: str | None = None,
) -> Any:
    from prover.evaluate.engines import MODEL_ENGINES
    from prover.evaluate.run import EvalConfig

    if args.benchmark is None or args.split is None:
        raise EvalUsageError("give --benchmark NAME and --split valid|test (or: prover eval compare A B)")
    ks = tuple(sorted({k for group in (args.ks or [[1]]) for k in group}))
    model = args.model or (default_model if args.engine != "portfolio" else None)
    # The cap a model engine samples under is part of the run's hash, so it is resolved here.
    max_tokens = args.max_tokens
    if max_tokens is None and args.engine in MODEL_ENGINES:
        max_tokens = default_max_tokens
    config = EvalConfig(
        benchmark=args.benchmark, split=args.split, ks=ks, n=args.n, engine=args.engine, model=model,
        temperature=args.temperature, rounds=args.rounds, max_tokens=max_tokens,
        prompts=prompts if args.engine in MODEL_ENGINES else None, seeds=tuple(args.seeds or (0,)),
        budget_s=args.budget, workers=workers, limit=args.limit, only=args.only,
    )
    if config.temperature is not None and config.engine == "portfolio":
        raise EvalUsageError("--temperature needs a model-driven engine; the portfolio samples nothing")
    config.validate()
    return config


def _run(args: argparse.Namespace) -> int:
    from prover.cli.common import RequireVerifier, verifier_missing
    from prover.config import load_settings
    from prover.evaluate.benchmarks import get_benchmark, load_problems
    from prover.evaluate.engines import make_engine
    from prover.evaluate.known_failures import does_not_elaborate
    from prover.evaluate.plots import require_matplotlib, write_plots
    from prover.evaluate.report import Environment, build_report, to_markdown
    from prover.evaluate.run import run_eval, select
    from prover.evaluate.store import EvalStore
    from prover.itp import get_backend
    from prover.itp.base import BackendUnavailable
    from prover.verify.cache import VerdictCache
    from prover.verify.pool import VerifierPool

    settings = load_settings(getattr(args, "config", None))
    workers = args.workers if args.workers is not None else settings.pool.workers
    gen = settings.generate
    default_prompts = (gen.templates, gen.prompt_format) == ("default", "auto")
    prompts = None if default_prompts else f"{gen.templates}/{gen.prompt_format}"
    config = _config(args, workers, gen.model, gen.max_tokens, prompts)
    if args.timeout_s is not None:
        if args.timeout_s <= 0:
            raise EvalUsageError("--timeout must be positive")
        settings.pool.timeout_s = args.timeout_s
    if args.plot_dir is not None:
        require_matplotlib()
    bench = get_benchmark(config.benchmark)
    loaded = load_problems(bench.name, config.split, args.data_dir, args.data_file, args.hub)
    problems = select(loaded, config.only, config.limit)
    try:
        backend = get_backend(bench.backend, settings, pin=bench.pin)  # the port's own Lean project
    except ImportError as exc:
        raise EvalUsageError(f"the {bench.backend} backend cannot be loaded: {exc}") from exc
    pin = getattr(backend, "pin", None)
    # Statements this Mathlib cannot parse are reported apart, never counted as unsolved.
    unparsable = does_not_elaborate(bench, problems, pin)
    problems = [p for p in problems if p.key not in unparsable]
    if not problems:
        raise EvalUsageError(f"{bench.name}: every selected problem is known not to elaborate on pin {pin}")
    status = backend.availability()
    # Whole proofs need no goal-level session, and the proof assistant only once a check starts.
    whole = config.engine == "model"
    if bench.backend != "rocq" and not whole:
        unusable = "" if status.usable else f"; nor is {bench.backend} usable here: {status.detail}"
        raise EvalUsageError(
            f"{bench.name}: proof search needs a goal-level session, which only the rocq backend has so far "
            f"(--engine model samples whole proofs on every backend){unusable}"
        )
    if not status.usable and not whole:
        raise EvalUsageError(f"the {bench.backend} backend is not usable here: {status.detail}")
    identity = backend.identity()
    env = Environment(bench.backend, status.detail, identity, pin, tuple(sorted(unparsable.items())))
    cache = VerdictCache(path=Path(settings.pool.cache_path)) if settings.pool.cache_path else None
    progress = None if args.quiet else sys.stderr
    generator = _generator(config, settings)
    try:
        engine = make_engine(config.engine, generator, _model_config(config, settings), model=config.model)
        with EvalStore(args.db) as store:
            with VerifierPool(backend, workers, settings.pool.limits(), cache=cache) as pool:
                summary = run_eval(config, bench, problems, RequireVerifier(pool), store, identity, progress,
                                   engine)
            report = build_report(config, bench, problems, store, summary.hashes, env, summary.generation)
    except BackendUnavailable as exc:
        raise EvalUsageError(f"{bench.name}: {verifier_missing(bench.backend, exc)}") from exc
    finally:
        if generator is not None:
            generator.close()
    markdown = to_markdown(report)
    _write(args.json_out, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    _write(args.md_out, markdown)
    if args.plot_dir is not None:
        try:
            for path in write_plots(report, args.plot_dir):
                print(f"wrote {path}", file=sys.stderr)
        except OSError as exc:
            raise EvalUsageError(f"cannot write plots to {args.plot_dir}: {exc.strerror or exc}") from exc
    if not args.quiet:
        print(markdown, end="")
    return 0


def _generator(config: Any, settings: Any) -> Any:
    """The generator a model-driven engine samples from (None for the portfolio)."""
    from prover.cli.common import generator_from
    from prover.evaluate.engines import MODEL_ENGINES

    if config.engine not in MODEL_ENGINES:
        return None
    gen = dataclasses.replace(settings.generate, model=config.model)
    if config.temperature is not None:
        gen.temperature = config.temperature
    return generator_from(gen)


def _model_config(config: Any, settings: Any) -> Any:
    """One eval sample of a model engine: one sampled proof and ``--rounds`` revisions of it."""
    from prover.search.model_engine import ModelEngineConfig

    gen = settings.generate
    temperature = gen.temperature if config.temperature is None else config.temperature
    max_tokens = gen.max_tokens if config.max_tokens is None else config.max_tokens
    return ModelEngineConfig.from_generation(gen, k=1, rounds=config.rounds, temperature=temperature,
                                             max_tokens=max_tokens, seed=0)


def _write(path: Path | None, text: str) -> None:
    if path is None:
        return
    try:
        if path.parent != Path():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise EvalUsageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def build_parser() -> argparse.ArgumentParser:
    """A stand-alone parser with only ``eval`` (for ``python -m prover.evaluate``)."""
    parser = argparse.ArgumentParser(prog="prover")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML settings file (default: ./prover.toml if present)")
    add_parser(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """``prover eval …`` on its own; the same exit codes as the command line."""
    from prover.cli.common import run_command

    args = build_parser().parse_args(["eval", *(sys.argv[1:] if argv is None else argv)])
    args.func = cmd_eval_usage
    return run_command(args)
