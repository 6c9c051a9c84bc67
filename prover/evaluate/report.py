"""Eval reports: the JSON result (what was run, with what, and every problem's outcome and verified
proof), a Markdown summary with a per-category breakdown, and ``compare`` of two results.

``solved`` counts problems with at least one verified sample (in any seed's run); ``pass_at_k``
is the unbiased estimator averaged over problems, then over seeds (``pass_at_k_std`` the sample
standard deviation over seeds, null with one seed).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prover import __version__
from prover.evaluate.benchmarks import Benchmark, BenchProblem
from prover.evaluate.passk import over_seeds
from prover.evaluate.run import EvalConfig
from prover.evaluate.store import EvalStore, SampleRecord


@dataclass(frozen=True)
class Environment:
    """Where the run happened: the backend, its toolchain, and its full identity (cache key)."""

    backend: str
    toolchain: str
    identity: str
    pin: str | None = None  # the Lean project's pin (prover.itp.lean.pins)
    does_not_elaborate: tuple[tuple[str, str], ...] = ()  # (key, why): left out of every count


def build_report(
    config: EvalConfig,
    bench: Benchmark,
    problems: Sequence[BenchProblem],
    store: EvalStore,
    hashes: dict[int, str],
    env: Environment,
    generation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON result for ``problems`` from what ``store`` holds for each seed's run; ``generation``:
    the model engine's backend calls of this invocation (``GenerationStats.to_json``)."""
    by_seed: dict[int, dict[str, list[SampleRecord]]] = {}
    for seed, digest in hashes.items():
        grouped: dict[str, list[SampleRecord]] = defaultdict(list)
        shas = {p.key: p.statement_sha for p in problems}
        for rec in store.samples(digest):
            if shas.get(rec.problem) == rec.statement_sha and rec.sample < config.n:
                grouped[rec.problem].append(rec)
        by_seed[seed] = grouped
    missing = [
        p.key for p in problems for seed in hashes if len(by_seed[seed].get(p.key, [])) < config.n
    ]
    if missing:
        raise ValueError(f"the run is incomplete: {len(missing)} sample set(s) missing, e.g. {missing[0]}")

    def counts(keys: Sequence[str]) -> list[list[tuple[int, int]]]:
        return [
            [(config.n, sum(r.proved for r in by_seed[seed][key])) for key in keys] for seed in hashes
        ]

    keys = [p.key for p in problems]
    passes = {k: over_seeds(counts(keys), k) for k in range(1, config.n + 1)}
    rows = []
    verifier_s = search_s = 0.0
    tokens = 0
    for p in problems:
        samples = [r for seed in hashes for r in sorted(by_seed[seed][p.key], key=lambda r: r.sample)]
        verifier_s += sum(r.verify_time_s for r in samples)
        search_s += sum(r.time_s for r in samples)
        tokens += sum(r.tokens for r in samples)
        proved = [r for r in samples if r.proved]
        rows.append({
            "key": p.key,
            "name": p.name,
            "category": p.category,
            "statement_sha": p.statement_sha,
            "solved": bool(proved),
            "proof": proved[0].proof if proved else None,
            "technique": proved[0].technique if proved else None,
            "samples": [_sample_json(r) for r in samples],
        })
    categories: dict[str, dict[str, Any]] = {}
    for cat in sorted({p.category for p in problems}):
        cat_keys = [p.key for p in problems if p.category == cat]
        categories[cat] = {
            "total": len(cat_keys),
            "solved": sum(1 for r in rows if r["category"] == cat and r["solved"]),
            "pass_at_k": {str(k): round(over_seeds(counts(cat_keys), k).mean, 6) for k in config.ks},
        }
    return {
        "solved": sum(1 for r in rows if r["solved"]),
        "total": len(rows),
        "pass_at_k": {str(k): round(passes[k].mean, 6) for k in config.ks},
        "pass_at_k_std": {str(k): _round(passes[k].std) for k in config.ks},
        "pass_at_k_per_seed": {str(k): [round(v, 6) for v in passes[k].per_seed] for k in config.ks},
        "pass_at_k_curve": {str(k): round(v.mean, 6) for k, v in passes.items()},  # k = 1 .. n
        "pass_at_k_curve_std": {str(k): _round(v.std) for k, v in passes.items()},
        "config": {
            "benchmark": bench.name,
            "port": bench.port,
            "split": config.split,
            "k": list(config.ks),
            "n": config.n,
            "temperature": config.temperature,
            "seeds": list(config.seeds),
            "model": config.model,
            "engine": config.engine,
            "budget_s": config.budget_s,
            "backend": env.backend,
            "toolchain": env.toolchain,
            "backend_identity": _maybe_json(env.identity),
            "pin": env.pin,
            "workers": config.workers,
            "limit": config.limit,
            "only": config.only,
            "config_hashes": {str(seed): digest for seed, digest in hashes.items()},
            "wall_time_s": round(sum(store.wall_s(d) for d in hashes.values()), 3),
            "search_time_s": round(search_s, 3),
            "verifier_time_s": round(verifier_s, 3),
            "tokens": tokens,
            "prover_version": __version__,
            "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "categories": categories,
        "generation": generation,
        "problems": rows,
        "does_not_elaborate": [{"key": key, "why": why} for key, why in env.does_not_elaborate],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _sample_json(rec: SampleRecord) -> dict[str, Any]:
    return {
        "seed": rec.seed,
        "sample": rec.sample,
        "engine_seed": rec.engine_seed,
        "proved": rec.proved,
        "proof": rec.proof,
        "time_s": round(rec.time_s, 3),
        "verify_time_s": round(rec.verify_time_s, 3),
        "tokens": rec.tokens,
        "technique": rec.technique,
        "error": rec.error,
        "detail": rec.detail,
    }


# -- Markdown ----------------------------------------------------------------------------------------


def _pin(cfg: dict[str, Any]) -> str:
    return f", pin {cfg['pin']}" if cfg.get("pin") else ""  # (absent from reports before pins)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def to_markdown(report: dict[str, Any]) -> str:
    cfg = report["config"]
    ks = [str(k) for k in cfg["k"]]
    std = report.get("pass_at_k_std", {})

    def pk(k: str) -> str:
        spread = std.get(k)
        return _pct(report["pass_at_k"][k]) + ("" if spread is None else f" ± {_pct(spread)}")

    model = cfg["model"] or "none"
    temp = "n/a" if cfg["temperature"] is None else f"{cfg['temperature']:g}"
    lines = [
        f"# {cfg['benchmark']} ({cfg['split']}): {report['solved']}/{report['total']} solved",
        "",
        f"- port: {cfg['port']}",
        f"- engine: {cfg['engine']}, model: {model}, temperature: {temp}",
        f"- budget: {cfg['budget_s']:g} s per sample, n = {cfg['n']}, seeds: "
        f"{', '.join(map(str, cfg['seeds']))}",
        f"- backend: {cfg['backend']} ({cfg['toolchain']})" + _pin(cfg),
        f"- wall time {cfg['wall_time_s']:.1f} s, search {cfg['search_time_s']:.1f} s, "
        f"verifier {cfg['verifier_time_s']:.1f} s, tokens {cfg['tokens']}",
        "- " + ", ".join(f"pass@{k} = {pk(k)}" for k in ks),
    ]
    gen = report.get("generation")
    if gen:
        lines.append(f"- generation: {gen['calls']} backend call(s), {gen['sequences']} sequences, "
                     f"{gen['mean_sequences_per_call']:g} per call")
    lines += [
        "",
        "| category | problems | solved | " + " | ".join(f"pass@{k}" for k in ks) + " |",
        "|---|---:|---:|" + "---:|" * len(ks),
    ]
    for cat, row in report["categories"].items():
        cells = " | ".join(_pct(row["pass_at_k"][k]) for k in ks)
        lines.append(f"| {cat} | {row['total']} | {row['solved']} | {cells} |")
    lines.append(
        f"| **all** | **{report['total']}** | **{report['solved']}** | "
        + " | ".join(f"**{pk(k)}**" for k in ks) + " |"
    )
    lines += ["", "| problem | category | solved | samples proved | time (s) | technique |",
              "|---|---|:---:|---:|---:|---|"]
    for p in report["problems"]:
        samples = p["samples"]
        proved = sum(s["proved"] for s in samples)
        time_s = sum(s["time_s"] for s in samples)
        lines.append(
            f"| {p['key']} | {p['category']} | {'yes' if p['solved'] else 'no'} | {proved}/{len(samples)} "
            f"| {time_s:.1f} | {p['technique'] or ''} |"
        )
    unparsable = report.get("does_not_elaborate") or []
    if unparsable:
        pin = cfg.get("pin")
        lines += ["", f"{len(unparsable)} problem(s) left out of every count above:", ""]
        lines += [f"- {row['key']}: does not elaborate on pin {pin} ({row['why']})" for row in unparsable]
    return "\n".join(lines) + "\n"


# -- comparing two results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    only_a: list[str]
    only_b: list[str]
    both: list[str]
    neither: list[str]
    warnings: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON: {exc.msg}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("problems"), list) or "config" not in data:
        raise ValueError(f"{path} is not a prover eval result (no config/problems)")
    return data


def compare(a_path: Path, b_path: Path) -> Comparison:
    """What each result solved that the other did not, over the problems both attempted."""
    a, b = load_report(a_path), load_report(b_path)
    warnings = []
    for field in ("benchmark", "port", "split"):
        if a["config"].get(field) != b["config"].get(field):
            warnings.append(f"{field} differs: {a['config'].get(field)} vs {b['config'].get(field)}")
    solved_a = {p["key"]: bool(p["solved"]) for p in a["problems"]}
    solved_b = {p["key"]: bool(p["solved"]) for p in b["problems"]}
    common = sorted(solved_a.keys() & solved_b.keys())
    if len(common) < max(len(solved_a), len(solved_b)):
        warnings.append(
            f"compared on the {len(common)} problems both attempted "
            f"({len(solved_a)} in {a_path.name}, {len(solved_b)} in {b_path.name})"
        )
    return Comparison(
        str(a_path),
        str(b_path),
        [k for k in common if solved_a[k] and not solved_b[k]],
        [k for k in common if solved_b[k] and not solved_a[k]],
        [k for k in common if solved_a[k] and solved_b[k]],
        [k for k in common if not solved_a[k] and not solved_b[k]],
        warnings,
    )


def comparison_markdown(c: Comparison) -> str:
    lines = [f"# {c.a} vs {c.b}", ""]
    lines += [f"- warning: {w}" for w in c.warnings]
    lines += [
        f"- solved by both: {len(c.both)}; by neither: {len(c.neither)}",
        f"- only {c.a}: {len(c.only_a)}",
        f"- only {c.b}: {len(c.only_b)}",
        "",
    ]
    for title, keys in ((f"Only {c.a}", c.only_a), (f"Only {c.b}", c.only_b)):
        lines.append(f"## {title} ({len(keys)})")
        lines += [f"- {k}" for k in keys] or ["- (none)"]
        lines.append("")
    return "\n".join(lines)
