"""Expert iteration of the step-level prover on a few real problems: round 0 (the table's search),
a trained policy, held-out measurement beside its baselines, the held-out split absent from every
training record, and a rerun that resumes everything and changes nothing."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from prover.config import ExpertSettings
from prover.evaluate.benchmarks import rocq_problem
from prover.selfplay.baselines import nearest
from prover.selfplay.expert import Expert, check_disjoint, table
from tests.conftest import REPO


def test_nearest_neighbour_by_token_overlap() -> None:
    def problem(name: str, body: str) -> object:
        return rocq_problem(name, "test", f"Theorem {name} (x : R) : {body}.\nProof.\nAdmitted.\n")

    candidates = {"near": {"(", "x", ":", "R", ")", "*", "<=", "1"}, "far": {"n", "nat", "mod", "7"}}
    assert nearest(problem("t", "x * x <= 1"), candidates) == "near"  # type: ignore[arg-type]


def test_a_renamed_copy_of_a_training_problem_is_refused_as_held_out() -> None:
    a = rocq_problem("a", "valid", "Theorem a (x : nat) : x = x.\nProof.\nAdmitted.\n")
    b = rocq_problem("b", "test", "Theorem b  (x : nat) :\n  x = x.\nProof.\nAdmitted.\n")
    with pytest.raises(ValueError, match="held-out"):
        check_disjoint([a], [b])
    check_disjoint([a], [rocq_problem("c", "test", "Theorem c (x : nat) : x + 0 = x.\nProof.\nAdmitted.\n")])


@pytest.mark.rocq
@pytest.mark.parametrize("policy", ["ranker", "lm"])
def test_expert_iteration_round_trip_and_resume(rocq_pool, tmp_path: Path, policy: str) -> None:  # type: ignore[no-untyped-def]
    config = ExpertSettings(workdir=str(tmp_path / "expert"), rounds=1, search_budget_s=3.0, eval_budget_s=3.0,
                            epochs=2.0, limit=3, workers=2, policy=policy)
    expert = Expert(dataclasses.replace(config), rocq_pool, "test-identity", progress=None, root=REPO)
    rows = expert.run()
    assert [r.round for r in rows] == [0, 1]
    assert rows[0].policy == "table" and rows[1].policy.endswith("policy-1")
    assert set(rows[0].baselines) == {"portfolio", "nearest_copy", "trivial"}
    assert rows[0].train_total == 6 and rows[0].heldout_total == 3
    assert (tmp_path / "expert" / "policy-1" / "train_result.json").is_file()
    weights = "ranker.npz" if policy == "ranker" else "model.safetensors"
    assert (tmp_path / "expert" / "policy-1" / weights).is_file()
    assert "| 1 | policy-1 |" in table(rows)
    # No held-out problem in any training record: every stored proof with steps is a training one.
    heldout = {p.key for p in expert.heldout}
    with sqlite3.connect(tmp_path / "expert" / "eval.sqlite") as db:
        runs = {h: json.loads(c) for h, c in db.execute("SELECT config_hash, config FROM runs")}
        trained = [(runs[h]["split"], p) for h, p, d in db.execute("SELECT config_hash, problem, detail FROM samples")
                   if runs[h]["split"] != "test" and json.loads(d).get("steps")]
        before = db.execute("SELECT count(*), group_concat(invocation) FROM samples").fetchone()
    assert trained and not {p for _, p in trained} & heldout
    # A rerun resumes every search and the trained policy: nothing is redone, the table is the same.
    again = Expert(dataclasses.replace(config), rocq_pool, "test-identity", progress=None, root=REPO).run()
    with sqlite3.connect(tmp_path / "expert" / "eval.sqlite") as db:
        after = db.execute("SELECT count(*), group_concat(invocation) FROM samples").fetchone()
    assert after == before
    assert [dataclasses.replace(r, wall_s=0) for r in again] == [dataclasses.replace(r, wall_s=0) for r in rows]


def _selfplay_step(tmp_path: Path, config: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "expert.toml").write_text(config)
    return subprocess.run([sys.executable, "-m", "prover", "selfplay", "--engine", "step", "--config",
                           str(tmp_path / "expert.toml"), "--workdir", str(tmp_path / "run"), "--quiet"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)


@pytest.mark.rocq
def test_selfplay_engine_step_runs_expert_iteration(tmp_path: Path) -> None:
    """``prover selfplay --engine step`` from another folder: the [expert] table, the command line's
    workdir, the per-round table on stdout; a bad [expert] setting is one line and exit 2."""
    run = _selfplay_step(tmp_path, "[expert]\nrounds = 1\nlimit = 2\nsearch_budget_s = 3.0\n"
                                   "eval_budget_s = 3.0\n")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "| 0 | table |" in run.stdout and "| 1 | policy-1 |" in run.stdout
    assert run.stdout.count("| 0 | table |") == 1  # --quiet: the final table only, no rows as they come
    assert (tmp_path / "run" / "policy-1" / "ranker.npz").is_file()
    bad = _selfplay_step(tmp_path, '[expert]\npolicy = "gpt"\n')
    assert bad.returncode == 2 and "ranker or lm" in bad.stderr and "Traceback" not in bad.stderr


def test_the_shipped_policy_loads_and_its_store_never_trained_on_test() -> None:
    """``models/step-rocq`` is a ranker ``--engine step`` loads from a fresh clone, and the research
    run's store beside it holds no miniF2F-rocq test problem in any run a policy trained on."""
    from prover.evaluate.benchmarks import load_problems
    from prover.search.policy import load_policy
    from prover.search.ranker import RankerPolicy

    shipped = REPO / "models" / "step-rocq"
    assert isinstance(load_policy(str(shipped)), RankerPolicy)
    test = {p.key for p in load_problems("minif2f-rocq", "test")}
    with sqlite3.connect(shipped / "research-eval.sqlite") as db:
        runs = {h: json.loads(c) for h, c in db.execute("SELECT config_hash, config FROM runs")}
        rows = db.execute("SELECT config_hash, problem FROM samples").fetchall()
    trained_on = [(runs[h], p) for h, p in rows if runs[h]["split"] != "test"]
    assert {p for h, p in rows if runs[h]["split"] == "test"} == test  # the same keys, so the check bites
    assert trained_on and not {p for _, p in trained_on} & test
    assert {c["benchmark"] for c, _ in trained_on} == {"minif2f-rocq", "rocq-seeds"}
    assert {c["split"] for c, _ in trained_on if c["benchmark"] == "minif2f-rocq"} == {"valid"}
