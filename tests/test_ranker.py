"""The linear ranker: the table's order when untrained, a learned order that carries over to states
with other names and numbers, its files, and its training data (the candidates each proof step had)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from prover.itp.goals import Goal, ProofState
from prover.search.policy import TablePolicy, load_policy, state_prompt
from prover.search.portfolio import SearchConfig
from prover.search.ranker import (
    RankerConfig,
    RankerPolicy,
    RankExample,
    candidate_keys,
    state_features,
    train_ranker,
)
from prover.search.runner import Problem, prove
from prover.search.tactics import Rule
from prover.train.steps import StepRecord, rank_examples, records_from_detail
from tests.conftest import REPO

RULES = [Rule("lia", "close", "lia.", 0.5), Rule("nra", "close", "nra.", 1.0),
         Rule("ring", "close", "ring.", 1.5), Rule("field", "close", "field.", 2.0)]
CANDIDATES = tuple((r.name, r.tactic) for r in RULES)


def _state(hyps: list[str], concl: str) -> ProofState:
    return ProofState((), (Goal(tuple(hyps), concl),))


def _example(hyps: list[str], concl: str, chosen: str) -> RankExample:
    names = [name for name, _ in CANDIDATES]
    return RankExample(state_prompt(_state(hyps, concl)), CANDIDATES, names.index(chosen))


def test_untrained_ranker_orders_like_the_table() -> None:
    ranker = RankerPolicy(np.zeros(1 << 10))
    state = _state(["x : R"], "x * x >= 0")
    candidates = [(r, r.tactic) for r in RULES]
    costs = ranker.costs(state, candidates)
    table = TablePolicy().costs(state, candidates)
    assert sorted(range(4), key=costs.__getitem__) == sorted(range(4), key=table.__getitem__)
    assert ranker.propose(state) == []


def test_features_abstract_names_and_numbers() -> None:
    one = state_features(state_prompt(_state(["a, b : R", "H : 0 < a"], "a * b <= 7 * b")))
    other = state_features(state_prompt(_state(["x, y : R", "h0 : 0 < x"], "x * y <= 9 * y")))
    assert one == other and "var:R" in one and "c:<=" in one and "h:<" in one
    assert candidate_keys("hint_sq", "pose proof (pow2_ge_0 (a - b)); nra.", {"a", "b"}, set())[1] == \
        "t:pose proof pow2_ge_0 V - V nra."


def test_training_learns_an_order_that_carries_over() -> None:
    """Real goals want nra, integer goals lia, equations of fractions field; the trained ranker puts
    the right closer first on states it never saw (other variables, other numbers)."""
    examples = [
        _example(["a, b : R", "h : 0 < a"], "a * b <= a * a + b * b", "nra"),
        _example(["x : R"], "0 <= x ^ 2 + 3", "nra"),
        _example(["n : Z", "h : 2 < n"], "3 <= n", "lia"),
        _example(["m, k : Z"], "m + k = k + m", "lia"),
        _example(["a : R", "h : a <> 0"], "a / a = 1", "field"),
        _example(["t, u : R", "h : u <> 0"], "t / u * u = t", "field"),
    ]
    ranker, numbers = train_ranker(examples, RankerConfig(dim_bits=14))
    assert numbers["top1"] == 1.0 and numbers["examples"] == 6
    unseen = {"nra": _state(["p, q : R", "hp : 0 < p"], "p * q <= q * q + p * p"),
              "lia": _state(["z : Z", "hz : 5 < z"], "6 <= z"),
              "field": _state(["c : R", "hc : c <> 0"], "c / c = 1")}
    for wanted, state in unseen.items():
        costs = ranker.costs(state, [(r, r.tactic) for r in RULES])
        assert RULES[costs.index(min(costs))].name == wanted


def test_save_load_and_dispatch(tmp_path: Path) -> None:
    ranker, _ = train_ranker([_example(["x : Z"], "x = x", "lia"), _example(["y : R"], "y * y >= 0", "nra")],
                             RankerConfig(dim_bits=12, seed=3))
    ranker.save(tmp_path / "r", {"problems": 2})
    loaded = load_policy(str(tmp_path / "r"))
    assert isinstance(loaded, RankerPolicy) and loaded.identity() == ranker.identity()
    assert loaded.config.seed == 3 and np.array_equal(loaded.weights, ranker.weights)
    assert RankerPolicy(np.zeros(1 << 12)).identity() != ranker.identity()
    (tmp_path / "r" / "ranker.json").write_text('{"features_version": 999, "config": {}}')
    with pytest.raises(ValueError, match="retrain"):
        RankerPolicy.load(tmp_path / "r")


def test_rank_examples_from_records() -> None:
    detail = [{"state": "goals: 1\n⊢ 1 = 1\nTactic:", "tactic": "reflexivity.", "rule": "refl",
               "candidates": [["lia", "lia."], ["refl", "reflexivity."]]},
              {"state": "goals: 1\n⊢ 2 = 2\nTactic:", "tactic": "my own.", "rule": "model",
               "candidates": [["lia", "lia."]]},
              {"state": "goals: 1\n⊢ 3 = 3\nTactic:", "tactic": "lia.", "rule": "lia"}]  # no candidates kept
    records = records_from_detail("p", detail)
    examples = rank_examples([*records, records[0]])
    assert [(e.candidates[e.chosen], len(e.candidates)) for e in examples] == [
        (("refl", "reflexivity."), 2), (("model", "my own."), 2)]


@pytest.mark.rocq
def test_search_records_each_steps_candidates(rocq_pool) -> None:  # type: ignore[no-untyped-def]
    statement = ("Require Import Reals Psatz.\nOpen Scope R_scope.\n"
                 "Theorem t (a b : R) (h0 : 0 <= a) (h1 : 0 <= b) : a * b <= (a + b) * (a + b) / 4.\nProof.\n")
    found = prove(Problem("amgm2", statement), rocq_pool, SearchConfig(budget_s=20), REPO / "runs" / "test-step")
    assert found.proved and found.steps
    last = found.steps[-1]
    assert (last.rule, last.tactic) in last.candidates and len(last.candidates) > 5
    # The siblings the search ran on that state, with what they did: the preference pairs.
    outcomes = {tactic: outcome for tactic, outcome, _ in last.tried}
    assert outcomes[last.tactic] in ("closed", "ok") and len(outcomes) > 1
    assert set(outcomes.values()) - {"closed", "ok"}
    record = StepRecord("amgm2", last.state, last.tactic, last.rule, last.candidates)
    (example,) = rank_examples([record])
    assert example.candidates[example.chosen] == (last.rule, last.tactic)


def test_expert_refuses_an_unknown_policy_kind(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[expert]\npolicy = "gpt"\n')
    run = subprocess.run([sys.executable, "-m", "prover.selfplay.expert", "--config", str(config)],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 2 and "ranker or lm" in run.stderr and "Traceback" not in run.stderr


def test_export_replaces_an_earlier_policy_kind(tmp_path: Path) -> None:
    from prover.selfplay.expert import RoundRow, export_policy

    target = tmp_path / "models" / "step"
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes(b"an older LM policy")
    ranker, _ = train_ranker([_example(["x : Z"], "x = x", "lia")], RankerConfig(dim_bits=10))
    ranker.save(tmp_path / "policy-1")
    (tmp_path / "policy-1" / "train_result.json").write_text("{}")
    export_policy(tmp_path / "policy-1", target, [RoundRow(0, "table", 1, 2, 1)])
    assert not (target / "model.safetensors").exists()
    assert isinstance(load_policy(str(target)), RankerPolicy) and (target / "rounds.json").is_file()
