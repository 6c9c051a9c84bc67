"""The eval run's bookkeeping and reports, with a scripted engine (no proof assistant): samples
committed and resumed by config hash, pass@k over samples and seeds, JSON, Markdown, PNG, compare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from prover.evaluate.benchmarks import REGISTRY, BenchProblem, rocq_problem
from prover.evaluate.engines import SampleOutcome
from prover.evaluate.report import Environment, build_report, compare, comparison_markdown, to_markdown
from prover.evaluate.run import EvalConfig, config_hash, run_eval, select
from prover.evaluate.store import EvalStore
from prover.verify.pool import VerifierPool

BENCH = REGISTRY["minif2f-rocq"]
ENV = Environment("rocq", "Coq (scripted)", '{"backend": "rocq"}')
PROBLEMS = [
    rocq_problem(name, "valid", f"Theorem {name} : True.\nProof.\n")
    for name in ("aime_1983_p1", "amc12a_2019_p21", "mathd_algebra_10", "mathd_algebra_11")
]


class Scripted:
    """Proves a problem's sample when (key, seed-sample) is in ``wins``; counts its calls."""

    def __init__(self, wins: set[tuple[str, int]]) -> None:
        self.wins = wins
        self.calls: list[tuple[str, int]] = []

    def attempt(self, problem: BenchProblem, pool: Any, budget_s: float, seed: int, workdir: Path) -> SampleOutcome:
        self.calls.append((problem.key, seed))
        won = (problem.key, seed) in self.wins
        proof = f"Theorem {problem.name} : True.\nProof. exact I. Qed.\n" if won else None
        return SampleOutcome(won, proof, 0.5, 0.1, technique="exact" if won else None)


def run(config: EvalConfig, store: EvalStore, engine: Scripted, problems: list[BenchProblem] = PROBLEMS) -> Any:
    pool = cast(VerifierPool, None)  # the scripted engine checks nothing
    summary = run_eval(config, BENCH, problems, pool, store, ENV.identity, progress=None, engine=engine)
    return summary, build_report(config, BENCH, problems, store, summary.hashes, ENV)


def test_pass_at_k_over_samples_and_seeds(tmp_path: Path) -> None:
    config = EvalConfig("minif2f-rocq", "valid", ks=(1, 2), n=2, seeds=(0, 1), budget_s=5, workers=2)
    config.validate()
    # seed 0: aime 2/2, amc12 1/2; seed 1: aime 1/2 (engine seeds are seed * 1_000_003 + sample)
    wins = {("aime_1983_p1", 0), ("aime_1983_p1", 1), ("amc12a_2019_p21", 1), ("aime_1983_p1", 1_000_003)}
    engine = Scripted(wins)
    with EvalStore(tmp_path / "e.sqlite") as store:
        summary, report = run(config, store, engine)
    assert summary.done == 16 and summary.skipped == 0 and len(engine.calls) == 16
    assert report["solved"] == 2 and report["total"] == 4
    # pass@1: seed 0 (1 + 0.5) / 4, seed 1 0.5 / 4; pass@2: seed 0 2/4, seed 1 1/4
    assert report["pass_at_k_per_seed"] == {"1": [0.375, 0.125], "2": [0.5, 0.25]}
    assert report["pass_at_k"] == {"1": 0.25, "2": 0.375}
    assert report["pass_at_k_std"]["1"] == pytest.approx(0.176777, abs=1e-6)
    cfg = report["config"]
    assert cfg["seeds"] == [0, 1] and cfg["n"] == 2 and cfg["k"] == [1, 2] and cfg["engine"] == "portfolio"
    assert cfg["temperature"] is None and cfg["model"] is None and cfg["tokens"] == 0
    assert cfg["verifier_time_s"] == pytest.approx(1.6) and cfg["backend_identity"] == {"backend": "rocq"}
    assert set(cfg["config_hashes"]) == {"0", "1"}
    aime = next(p for p in report["problems"] if p["key"] == "aime_1983_p1")
    assert aime["solved"] and "exact I" in aime["proof"] and len(aime["samples"]) == 4
    assert [s["engine_seed"] for s in aime["samples"]] == [0, 1, 1_000_003, 1_000_004]
    assert report["categories"]["aime"] == {"total": 1, "solved": 1, "pass_at_k": {"1": 0.75, "2": 1.0}}
    md = to_markdown(report)
    assert "| aime | 1 | 1 | 75.0% | 100.0% |" in md and "pass@1 = 25.0% ± 17.7%" in md
    assert "| mathd_algebra | 2 | 0 | 0.0% | 0.0% |" in md


def test_resume_skips_recorded_samples_and_extends(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite"
    config = EvalConfig("minif2f-rocq", "valid", budget_s=5, limit=2)
    first = Scripted({("aime_1983_p1", 0)})
    with EvalStore(db) as store:
        run(config, store, first, select(PROBLEMS, None, 2))
    assert len(first.calls) == 2
    again = Scripted(set())
    with EvalStore(db) as store:  # the same problems and more: only the new ones run
        summary, report = run(config, store, again)
    assert summary.skipped == 2 and sorted(again.calls) == [("mathd_algebra_10", 0), ("mathd_algebra_11", 0)]
    assert report["solved"] == 1 and report["total"] == 4
    changed = [rocq_problem("aime_1983_p1", "valid", "Theorem aime_1983_p1 : 1 = 1.\nProof.\n"), *PROBLEMS[1:]]
    third = Scripted(set())
    with EvalStore(db) as store:  # a changed statement is not a finished problem
        _, report = run(config, store, third, changed)
        rows = store.db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
    assert third.calls == [("aime_1983_p1", 0)] and report["solved"] == 0 and rows == 4
    other = EvalConfig("minif2f-rocq", "valid", budget_s=7)  # another budget is another run
    assert config_hash(other.run_config(BENCH, 0, "x")) != config_hash(config.run_config(BENCH, 0, "x"))
    assert config_hash(EvalConfig("minif2f-rocq", "valid", n=4, ks=(4,)).run_config(BENCH, 0, "x")) == (
        config_hash(EvalConfig("minif2f-rocq", "valid").run_config(BENCH, 0, "x"))
    )


def test_engine_crash_is_recorded_not_fatal(tmp_path: Path) -> None:
    class Broken(Scripted):
        def attempt(self, problem: BenchProblem, pool: Any, budget_s: float, seed: int,
                    workdir: Path) -> SampleOutcome:
            raise RuntimeError("boom")

    with EvalStore(tmp_path / "e.sqlite") as store:
        _, report = run(EvalConfig("minif2f-rocq", "valid"), store, Broken(set()))
    assert report["solved"] == 0
    assert report["problems"][0]["samples"][0]["error"] == "internal: RuntimeError: boom"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n": 1, "ks": (2,)}, "pass@2 needs at least 2 samples"),
        ({"engine": "model"}, "needs --model"),
        ({"rounds": 1}, "--rounds"),
        ({"engine": "beam"}, "unknown engine"),
        ({"model": "m"}, "portfolio engine uses no model"),
        ({"seeds": (1, 1)}, "distinct"),
        ({"budget_s": 0}, "budget"),
    ],
)
def test_config_validation(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EvalConfig("minif2f-rocq", "valid", **changes).validate()


def test_compare_and_plots(tmp_path: Path) -> None:
    config = EvalConfig("minif2f-rocq", "valid", budget_s=5)
    reports = []
    for i, wins in enumerate(({"aime_1983_p1", "mathd_algebra_10"}, {"aime_1983_p1", "amc12a_2019_p21"})):
        with EvalStore(tmp_path / f"{i}.sqlite") as store:
            _, report = run(config, store, Scripted({(w, 0) for w in wins}))
        path = tmp_path / f"{i}.json"
        path.write_text(json.dumps(report))
        reports.append(path)
    result = compare(*reports)
    assert result.only_a == ["mathd_algebra_10"] and result.only_b == ["amc12a_2019_p21"]
    assert result.both == ["aime_1983_p1"] and result.neither == ["mathd_algebra_11"] and not result.warnings
    assert "## Only" in comparison_markdown(result)
    (tmp_path / "junk.json").write_text("[]")
    with pytest.raises(ValueError, match="not a prover eval result"):
        compare(reports[0], tmp_path / "junk.json")
    pytest.importorskip("matplotlib")
    from prover.evaluate.plots import write_plots

    paths = write_plots(json.loads(reports[0].read_text()), tmp_path / "plots")
    assert [p.name for p in paths] == ["pass_at_k.png", "categories.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
