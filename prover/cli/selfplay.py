"""``prover selfplay``: the self-play loop from the command line. With no options it runs the embedded
default — Rocq, the project's seed problems (``data/rocq-seeds``), the small CPU model (made and
stored in the work folder when no model is given) — for two rounds, then prints the per-round table
and writes the plot."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from prover.cli.common import UsageError
from prover.store import ProblemRow, Store


def add_parser(sub: Any, common: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parents = [common] if common is not None else []
    sp: argparse.ArgumentParser = sub.add_parser(
        "selfplay", parents=parents,
        help="run self-play rounds (conjecture, prove, select, train), resumable, stored in SQLite",
        description="Expert iteration with self-play (STP): each round proves the training targets with "
        "the model engine (the portfolio as a fallback teacher), conjectures variants of proved seeds "
        "(symbolic mutations and the model's own), filters them, proves them, keeps those barely "
        "provable, and fine-tunes the model on the verified proofs (with natural-language comments "
        "where they still verify) and the kept conjectures. Everything lands in WORKDIR/selfplay.sqlite; "
        "--resume continues a killed run. Settings: the [selfplay] table of the TOML file. Exit 0 when "
        "the rounds completed, 2 for bad input.",
    )
    sp.add_argument("--engine", choices=("model", "step"), default="model",
                    help="model: the whole-proof self-play loop above (default); step: expert iteration of "
                    "the step-level prover (the [expert] table: search the training pool, train the "
                    "policy on every verified step, measure it on the held-out split beside its baselines; "
                    "with --rounds, --workdir and --workers; e.g. --config configs/minif2f-rocq.toml)")
    sp.add_argument("--rounds", type=int, metavar="N", help="rounds to run in all (default 2)")
    sp.add_argument("--workdir", type=Path, metavar="DIR",
                    help="where the store, checkpoints, datasets, report and plot go (default runs/selfplay)")
    sp.add_argument("--seeds", type=Path, metavar="FILE",
                    help="seed problems, JSONL {name, split: train|heldout, statement, informal} "
                    "(default data/rocq-seeds/problems.jsonl)")
    sp.add_argument("--model", metavar="M", help="the starting model: a local directory or a Hugging Face "
                    "id (default: the small model, made in WORKDIR/model-init)")
    sp.add_argument("-k", type=int, metavar="K", help="samples per target per round (default 4)")
    sp.add_argument("--train-steps", type=int, metavar="N", help="optimizer steps per round (default 300)")
    sp.add_argument("--max-tokens", type=int, metavar="N",
                    help="the most tokens one sampled proof or conjecture may take (default: max_tokens in "
                    "[selfplay], 64)")
    sp.add_argument("--workers", type=int, metavar="N", help="verifier sessions and problems in parallel")
    sp.add_argument("--resume", action="store_true",
                    help="continue the run in WORKDIR from the store (skips finished stages and problems)")
    sp.add_argument("--ray", metavar="ADDRESS",
                    help="run the verifier pool and generation on the Ray cluster at ADDRESS (host:port)")
    sp.add_argument("--quiet", action="store_true", help="no progress bars")
    sp.set_defaults(func=cmd_selfplay)
    return sp


def cmd_selfplay(args: argparse.Namespace) -> int:
    from prover.config import load_settings

    try:
        settings = load_settings(getattr(args, "config", None))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.engine == "step":
        return _expert(settings, args)
    sp = settings.selfplay
    if args.max_tokens is not None and args.max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")
    flags = (("rounds", "rounds"), ("model", "model"), ("k", "k"), ("train_steps", "train_steps"),
             ("max_tokens", "max_tokens"))
    for flag, name in flags:
        if getattr(args, flag) is not None:
            setattr(sp, name, getattr(args, flag))
    if args.workdir is not None:
        sp.workdir = str(args.workdir)
    if args.seeds is not None:
        sp.seeds = str(args.seeds)
    if args.workers is not None:
        if args.workers < 1:
            raise UsageError("--workers must be at least 1")
        settings.pool.workers = args.workers
    from prover.generate.base import GenerationError

    try:
        sp.validate()
        metrics = run_selfplay(settings, args.resume, args.ray, not args.quiet)
    except ValueError as exc:
        raise UsageError(str(exc).splitlines()[0]) from exc
    except GenerationError as exc:  # a model that cannot be loaded or served: nothing verified is lost
        raise UsageError(f"generation failed: {str(exc).splitlines()[0]} (rerun with --resume)") from exc
    return 0 if metrics else 1


def _expert(settings: Any, args: argparse.Namespace) -> int:
    """``--engine step``: expert iteration (``selfplay/expert.py``) with the command line's overrides."""
    from prover.selfplay.expert import run_expert, table

    config = settings.expert
    if args.rounds is not None:
        config.rounds = args.rounds
    if args.workdir is not None:
        config.workdir = str(args.workdir)
    if args.workers is not None:
        config.workers = args.workers
    try:
        rows = run_expert(settings, None if args.quiet else sys.stderr)
    except ValueError as exc:
        raise UsageError(str(exc).splitlines()[0]) from exc
    print(table(rows))
    return 0


def read_seeds(path: Path, language: str = "rocq") -> list[ProblemRow]:
    """The seed problems of a JSONL file. Raises ``ValueError`` (one line) for a bad file."""
    from prover.generate.lang import split_statement

    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read the seed problems {path}: {exc.strerror}") from exc
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            statement = data["statement"]
            rows.append(ProblemRow(name=data["name"], statement=statement, source=path.parent.name or "seeds",
                                   split=data.get("split", "train"), language=language,
                                   header=split_statement(language, statement).header.strip(),
                                   informal=data.get("informal")))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}:{number}: not a seed problem ({exc})") from exc
    if not any(r.split == "train" for r in rows) or not any(r.split == "heldout" for r in rows):
        raise ValueError(f"{path}: needs problems in both splits, train and heldout")
    return rows


def initial_model(settings: Any, workdir: Path, seeds: list[ProblemRow], log: Any) -> str:
    """The model round 1 starts from: the one given, or the small model (made on first use)."""
    sp = settings.selfplay
    if sp.model is not None:
        return str(sp.model)
    target = workdir / "model-init"
    if (target / "config.json").is_file():
        return str(target)
    from prover.train.model_init import init_model

    log(f"making the small model in {target}")
    init_model(target, tokenizer_corpus(settings, seeds), vocab_size=1024, n_layer=sp.init_layers,
               n_embd=sp.init_dim, n_head=sp.init_heads, n_positions=1024, seed=sp.seed)
    return str(target)


def tokenizer_corpus(settings: Any, seeds: list[ProblemRow]) -> list[str]:
    """The texts the small model's tokenizer learns from: proofs and the prompts the model will read
    (training statements in the prover template), so both take few tokens; a checkout adds the
    project's own proof files. Never a held-out statement: a tokenizer fitted to the held-out
    problems would make them easier to write than any other statement."""
    from prover.generate.prompts import load_templates, prover_prompt
    from prover.train.model_init import project_corpus

    statements = [row.statement for row in seeds if row.split == "train"]
    templates = load_templates(settings.generate.templates)
    prompts = [prover_prompt(templates, "rocq", s).plain() for s in statements]
    return project_corpus(Path(__file__).resolve().parents[2]) + statements + prompts


def run_selfplay(settings: Any, resume: bool, ray: str | None, progress: bool = True) -> list[dict[str, Any]]:
    """Run the rounds the settings ask for; returns every round's metrics."""
    from prover.itp import get_backend
    from prover.selfplay.loop import Context, run_round, run_settings, seeds_path, settings_changes
    from prover.selfplay.report import plot, table

    sp = settings.selfplay
    workdir = Path(sp.workdir).resolve()  # absolute: Ray actors load checkpoints from other folders

    def log(line: str) -> None:
        if progress:
            print(line, file=sys.stderr)

    seeds = read_seeds(seeds_path(sp.seeds))  # a bad file stops the run before anything is written
    store_path = workdir / "selfplay.sqlite"
    if store_path.exists():
        with Store(store_path) as existing:
            rounds = existing.rounds()
        if rounds and not resume:
            raise ValueError(f"{workdir} holds a run: pass --resume to continue it, or another --workdir")
        changed = settings_changes(rounds[0].config, run_settings(settings)) if rounds else []
        if changed:  # a resumed run mixing two configurations would measure neither
            raise ValueError(f"--resume with other settings than the run in {workdir} was started with: "
                             f"{'; '.join(changed)} (restore them, or start a new run in another --workdir)")
    with Store(store_path) as store:
        store.add_problems(seeds)
        model = initial_model(settings, workdir, seeds, log)
        backend = get_backend("rocq", settings)
        status = backend.availability()
        if not status.usable:
            raise ValueError(f"the rocq backend is not usable here: {status.detail}")
        with _pool(settings, backend, ray) as pool:
            if ray is not None:
                log(f"verifier pool ({settings.pool.workers} actors) and generation run on the Ray cluster "
                    f"at {ray}")
            ctx = Context(settings, sp, workdir, store, pool, backend.identity(), model, ray, log, progress)
            metrics = [run_round(ctx, number) for number in range(1, sp.rounds + 1)]
    text = table(metrics)
    print(text)
    (workdir / "report.txt").write_text(text + "\n")
    (workdir / "rounds.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log(f"wrote {plot(metrics, workdir / 'rounds.png')}, {workdir / 'report.txt'} and the store {store_path}")
    return metrics


def _pool(settings: Any, backend: Any, ray: str | None) -> Any:
    from prover.verify.pool import VerifierPool

    if ray is None:
        return VerifierPool(backend, settings.pool.workers, settings.pool.limits())
    from prover.distributed import connect, make_pool

    try:
        connect(ray)
    except RuntimeError as exc:  # ray missing
        raise ValueError(str(exc)) from exc
    return make_pool("rocq", settings, settings.pool.workers, ray)
