"""The self-play loop (STP): rounds of prove targets → conjecture → filter → prove conjectures →
select → train → measure, every stage's outcome in the store so that ``--resume`` continues a killed
run at the stage (and, within a prove stage, the problem) where it stopped.

Round r samples from the checkpoint round r-1 trained (round 1: the initial model). Before round 1
the initial model is measured on the held-out problems, and after every round the new checkpoint is,
with the model alone (no revisions, no tool correction, no portfolio) at the same k and seed.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.config import SelfPlaySettings, Settings
from prover.generate.base import Generator, SerialisedGenerator
from prover.search.model_engine import ModelEngineConfig
from prover.search.runner import Problem
from prover.selfplay import conjecturing, training
from prover.selfplay.proving import ProveJob, Rate, prove_problems
from prover.selfplay.select import Scored, select
from prover.store import ProblemRow, Store
from prover.verify.pool import CheckPool

STAGES = ("baseline", "targets", "conjecture", "conjectures", "select", "train", "evaluate")


@dataclass
class Context:
    settings: Settings
    sp: SelfPlaySettings
    workdir: Path
    store: Store
    pool: CheckPool
    toolchain: str
    initial_model: str
    ray: str | None = None
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr)
    progress: bool = True


# What a run's results depend on besides ``[selfplay]``; the rest of the settings (workers, threads,
# devices, servers, caches) only say how fast it runs.
_RESULT_SETTINGS = {
    "generate": ("backend", "model", "top_p", "stop", "dtype", "max_model_len", "quantization", "revision",
                 "templates", "prompt_format"),
    "pool": ("timeout_s", "memory_gib"),
    "rocq": ("sandbox", "extra_args", "preload", "plugin"),
}
_RUN_LENGTH = ("selfplay.rounds", "selfplay.workdir")  # a resumed run may add rounds; its folder is the run


def run_settings(settings: Settings) -> dict[str, Any]:
    """The settings a run's results depend on, flat (``section.name``) and as JSON reads them back."""
    flat = {f"selfplay.{key}": value for key, value in dataclasses.asdict(settings.selfplay).items()}
    for section, names in _RESULT_SETTINGS.items():
        values = dataclasses.asdict(getattr(settings, section))
        flat.update({f"{section}.{name}": values[name] for name in names})
    return {key: value for key, value in json.loads(json.dumps(flat)).items() if key not in _RUN_LENGTH}


def settings_changes(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """``name: old -> new`` for every setting whose value differs between a stored run and now (a
    store from before whole settings were kept holds the bare ``[selfplay]`` names)."""
    old = {key if "." in key else f"selfplay.{key}": value for key, value in stored.items()}
    return [f"{key}: {old[key]!r} -> {current[key]!r}" for key in sorted(old.keys() & current.keys())
            if key not in _RUN_LENGTH and old[key] != current[key]]


def run_round(ctx: Context, number: int) -> dict[str, Any]:
    """Run (or finish) round ``number``; returns its metrics."""
    store = ctx.store
    store.start_round(number, run_settings(ctx.settings))
    model = _model_for(ctx, number)
    payloads: dict[str, dict[str, Any]] = {}
    generator: Generator | None = None
    try:
        for stage in STAGES:
            if stage == "baseline" and number != 1:
                continue
            found = store.stage_payload(number, stage)
            if found is not None:
                payloads[stage] = found
                continue
            if stage in ("targets", "conjecture", "conjectures") and generator is None:
                generator = _generator(ctx, model)
            ctx.log(f"round {number}: {stage}")
            began = time.monotonic()
            payload = _STAGE[stage](ctx, number, model, generator, payloads)
            payload["time_s"] = round(time.monotonic() - began, 1)
            store.finish_stage(number, stage, payload)
            payloads[stage] = payload
            if stage == "conjectures" and generator is not None:
                generator.close()  # the train stage needs the memory; the next round loads anew
                generator = None
    finally:
        if generator is not None:
            generator.close()
    metrics = _metrics(ctx, number, payloads)
    store.finish_round(number, metrics, payloads["train"]["checkpoint"])
    return metrics


def _model_for(ctx: Context, number: int) -> str:
    if number == 1:
        return ctx.initial_model
    previous = ctx.store.stage_payload(number - 1, "train")
    if previous is None:
        raise ValueError(f"round {number - 1} has no checkpoint: resume the run from there")
    return str(previous["checkpoint"])


def _generator(ctx: Context, model: str) -> Generator:
    from prover.generate import make_generator

    gen = dataclasses.replace(ctx.settings.generate, model=model, max_tokens=ctx.sp.max_tokens,
                              temperature=ctx.sp.temperature, cache_path=None)
    if ctx.ray is not None:
        from prover.distributed import wrap_generator

        return SerialisedGenerator(wrap_generator(gen, ctx.ray, 1))
    return SerialisedGenerator(make_generator(gen))


def _engine(ctx: Context, k: int) -> ModelEngineConfig:
    sp = ctx.sp
    return ModelEngineConfig.from_generation(
        ctx.settings.generate, k=k, rounds=sp.revision_rounds, tool_correction=sp.tool_correction,
        seed=sp.seed, temperature=sp.temperature, max_tokens=sp.max_tokens, budget_s=sp.budget_s,
    )


def _prove(ctx: Context, number: int, generator: Generator, problems: list[ProblemRow], k: int,
           teacher: bool, what: str) -> dict[int, Rate]:
    from tqdm import tqdm

    job = ProveJob(number, _engine(ctx, k), generator.identity(), ctx.toolchain,
                   ctx.sp.teacher_budget_s if teacher and ctx.sp.teacher == "portfolio" else None,
                   ctx.settings.pool.workers)
    with tqdm(total=len(problems), desc=f"round {number} {what}", unit="problem", disable=not ctx.progress,
              file=sys.stderr) as bar:
        return prove_problems(problems, generator, ctx.pool, ctx.store, job, lambda p, r: bar.update())


# -- stages ------------------------------------------------------------------------------------------


def _baseline(ctx: Context, number: int, model: str, generator: Generator | None,
              payloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return _heldout(ctx, model)


def _evaluate(ctx: Context, number: int, model: str, generator: Generator | None,
              payloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return _heldout(ctx, payloads["train"]["checkpoint"])


def _heldout(ctx: Context, model: str) -> dict[str, Any]:
    """The model alone on the held-out problems: k samples, no revision, fixed seed."""
    from prover.train.learning import model_pass

    problems = [Problem(p.name, p.statement) for p in ctx.store.problems(split="heldout")]
    gen = ctx.settings.generate
    found = model_pass(model, problems, ctx.pool, k=ctx.sp.heldout_k, seed=ctx.sp.seed,
                       max_tokens=ctx.sp.max_tokens, temperature=ctx.sp.temperature, templates=gen.templates,
                       prompt_format=gen.prompt_format, threads=gen.threads, device=gen.device)
    solved = sorted(r["name"] for r in found.results if r["proved"])
    return {"model": model, "proved": found.proved, "total": found.total, "solved": solved}


def _targets(ctx: Context, number: int, model: str, generator: Generator | None,
             payloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert generator is not None
    problems = ctx.store.problems(split="train")
    rates = _prove(ctx, number, generator, problems, ctx.sp.k, True, "targets")
    return {"rates": {str(pid): [r.verified, r.total, r.proved, r.by_model] for pid, r in rates.items()}}


def _conjecture(ctx: Context, number: int, model: str, generator: Generator | None,
                payloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    sp, store = ctx.sp, ctx.store
    rates = payloads["targets"]["rates"]
    candidates = []
    # In problem order: a payload read back from the store has its keys sorted as text.
    for pid, (verified, total, proved, by_model) in sorted(rates.items(), key=lambda item: int(item[0])):
        shortest = _shortest_proof(store, int(pid)) if proved else None
        if shortest is not None:
            candidates.append((store.problem(int(pid)), shortest, verified / max(1, total), by_model))
    rng = random.Random(sp.seed * 1000 + number)
    seeds = conjecturing.pick_seeds(candidates, sp.conjectures_per_round, sp.lemma_cap, sp.seed_pass_rate,
                                    rng)
    sampling = None
    if sp.model_conjectures_per_seed > 0:
        sampling = dataclasses.replace(_engine(ctx, sp.model_conjectures_per_seed), seed=sp.seed + number)
    proposals, refused = conjecturing.propose(seeds, sp.conjectures_per_round, sp.mutations_per_seed, rng,
                                              store, number, generator, sampling)
    counts = conjecturing.conjecture_stage(store, ctx.pool, seeds, proposals, number)
    counts["model_refused"] = len(refused)
    kept = [c.id for c in store.conjectures(round=number, kept=True)]
    return {"counts": counts, "kept": kept}


def _conjectures(ctx: Context, number: int, model: str, generator: Generator | None,
                 payloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert generator is not None
    kept = set(payloads["conjecture"]["kept"])
    rows = [c for c in ctx.store.conjectures(round=number) if c.id in kept]
    problems = [ctx.store.problem(c.problem_id) for c in rows if c.problem_id is not None]
    rates = _prove(ctx, number, generator, problems, ctx.sp.conjecture_k, False, "conjectures")
    return {"rates": {str(pid): [r.verified, r.total, r.proved, r.by_model] for pid, r in rates.items()}}


def _select(ctx: Context, number: int, model: str, generator: Generator | None,
            payloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    rates = payloads["conjectures"]["rates"]
    kept = set(payloads["conjecture"]["kept"])
    scored = []
    for c in ctx.store.conjectures(round=number):
        if c.id not in kept or c.id is None or c.problem_id is None:
            continue
        verified, total, _, _ = rates.get(str(c.problem_id), [0, 0, False, False])
        proof = _shortest_proof(ctx.store, c.problem_id, number)
        scored.append(Scored(c.id, c.statement, c.lemma, verified, total, proof))
    chosen = select(scored, ctx.sp.select_low, ctx.sp.select_high, ctx.sp.drop_fraction)
    return {"selected": [s.conjecture_id for s in chosen], "proved": sum(s.proof is not None for s in scored)}


def _train(ctx: Context, number: int, model: str, generator: Generator | None,
           payloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from transformers import AutoTokenizer

    from prover.train.export import export
    from prover.train.sft import TrainConfig, train

    store, sp = ctx.store, ctx.sp
    rates = {int(pid): (v / max(1, t), by_model)
             for pid, (v, t, _, by_model) in payloads["targets"]["rates"].items()}
    selected = _selected_so_far(store, number)
    usable = {p.id for p in store.problems(split="train") if p.id is not None}
    usable |= {c.problem_id for c in store.conjectures() if c.id in selected and c.problem_id is not None}
    chosen = training.choose_proofs(store, number, usable, rates, sp.replay)
    conj = _conjecture_examples(store, number, set(payloads["select"]["selected"]))
    built = training.build_records(chosen, conj, ctx.pool, number, sp.nl_comments, sp.unproved_weight)
    tokenizer = AutoTokenizer.from_pretrained(model)
    gen = ctx.settings.generate
    fitted, examples, over = training.within_budget(built, gen.templates, tokenizer, gen.prompt_format,
                                                    sp.max_tokens)
    records = [r.data for r in fitted]
    out = ctx.workdir / f"model-r{number}"
    export(records, ctx.workdir / f"dataset-r{number}")
    config = TrainConfig(max_steps=sp.train_steps, learning_rate=sp.learning_rate, batch_size=sp.batch_size,
                         seed=sp.seed + number, save_every=max(1, sp.train_steps // 4), warmup_ratio=0.05,
                         threads=gen.threads)
    result = train(examples, model, out, config, resume=True, progress=ctx.progress)
    return {"checkpoint": str(out), "examples": len(examples), "nl": sum(bool(r["nl"]) for r in records),
            "conjecturer_examples": len(conj), "over_budget": over, "loss": result.final_loss}


def _shortest_proof(store: Store, problem_id: int, round: int | None = None) -> str | None:
    """The shortest verified proof of the problem (found in that round: a proof row keeps the round
    that first filed its text), the one prompts and data show."""
    texts = [p.text for p in store.proofs(problem_id=problem_id)]
    if round is not None:
        found = {a.candidate for a in store.attempts(round=round, problem_id=problem_id, role="prover")
                 if a.verified}
        texts = [t for t in texts if t in found]
    return min(texts, key=len) if texts else None


def _selected_so_far(store: Store, number: int) -> set[int]:
    ids: set[int] = set()
    for r in range(1, number + 1):
        payload = store.stage_payload(r, "select")
        if payload is not None:
            ids.update(payload["selected"])
    return ids


def _conjecture_examples(store: Store, number: int, selected: set[int]) -> list[training.ConjectureExample]:
    out = []
    for c in store.conjectures(round=number):
        if c.id not in selected or c.problem_id is None:
            continue
        shortest = _shortest_proof(store, c.seed_id)
        if shortest is not None:
            out.append(training.ConjectureExample(store.problem(c.seed_id), shortest, c.lemma or "",
                                                  store.problem(c.problem_id)))
    return out


Stage = Callable[[Context, int, str, Generator | None, dict[str, dict[str, Any]]], dict[str, Any]]
_STAGE: dict[str, Stage] = {
    "baseline": _baseline, "targets": _targets, "conjecture": _conjecture, "conjectures": _conjectures,
    "select": _select, "train": _train, "evaluate": _evaluate,
}


def _metrics(ctx: Context, number: int, payloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    store = ctx.store
    train_ids = {p.id for p in store.problems(split="train")}
    proved = {pid for pid in store.proved_problem_ids(up_to_round=number) if pid in train_ids}
    rates = payloads["targets"]["rates"].values()
    before = payloads.get("baseline") or store.stage_payload(number - 1, "evaluate") or {}
    after = payloads["evaluate"]
    tokens = sum(a.tokens for a in store.attempts(round=number))
    return {
        "round": number, "targets_proved": len(proved), "targets_total": len(train_ids),
        "targets_proved_by_model": sum(1 for r in rates if r[3]),
        "target_pass_rate": sum(r[0] for r in rates) / max(1, sum(r[1] for r in rates)),
        "conjectures_generated": payloads["conjecture"]["counts"].get("generated", 0),
        "conjectures_kept": len(payloads["conjecture"]["kept"]),
        "conjectures_proved": payloads["select"]["proved"],
        "conjectures_selected": len(payloads["select"]["selected"]),
        "filter": payloads["conjecture"]["counts"],
        "examples": payloads["train"]["examples"], "nl_examples": payloads["train"]["nl"],
        "examples_over_budget": payloads["train"].get("over_budget", 0),
        "train_loss": payloads["train"]["loss"],
        "heldout_before": {"proved": before.get("proved", 0), "total": before.get("total", 0)},
        "heldout_after": {"proved": after["proved"], "total": after["total"]},
        "tokens": tokens, "wall_s": sum(p.get("time_s", 0.0) for p in payloads.values()),
        "verifier": "local" if ctx.ray is None else "ray", "verifier_checks": ctx.pool.stats.checks,
    }


def seeds_path(name: str) -> Path:
    """The seed file: as given, else (a relative default) inside the checkout this package runs from."""
    path = Path(name)
    if path.exists() or path.is_absolute():
        return path
    beside = Path(__file__).resolve().parents[2] / path
    return beside if beside.exists() else path
