"""The step-level engine: tactics with arguments from the goal's terms, the policy interface (the
table's order and a learned model's), log-probability scoring, step records and training data,
and ``--engine step`` on the command line. Searches run against a real Coq; every proof is
certified by the pool."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from prover.itp.goals import Goal, ProofState
from prover.search.arguments import argument_candidates
from prover.search.policy import ModelPolicy, TablePolicy, state_prompt, tactic_completion
from prover.search.portfolio import SearchConfig
from prover.search.runner import Problem, prove
from prover.search.shape import shape_of
from prover.search.tactics import Rule
from prover.train.steps import StepRecord, step_examples, tokenizer_corpus
from tests.conftest import REPO

# The example: the table alone exhausts its rows; a square hint closes it.
AMGM = ("Require Import Reals.\nOpen Scope R_scope.\n\nTheorem amgm2 (a b : R) (h0 : 0 <= a) (h1 : 0 <= b) :\n"
        "  a * b <= (a + b) * (a + b) / 4.\nProof.\nAdmitted.\n")
WITNESS = "Require Import Arith Lia.\n\nTheorem w : exists m : nat, m * m = 49 /\\ 5 < m.\nProof.\nAdmitted.\n"


def _goal(hyps: Sequence[str], concl: str) -> Goal:
    return Goal(tuple(hyps), concl)


def test_square_hints_from_the_goal_variables() -> None:
    goal = _goal(["a, b : R", "h0 : 0 <= a"], "a * b <= (a + b) * (a + b) / 4")
    tactics = [t for _, t in argument_candidates(shape_of(goal), goal)]
    assert "pose proof (pow2_ge_0 (a - b)); nra." in tactics
    assert any(t.count("pow2_ge_0") > 1 for t in tactics)  # all the differences at once
    zgoal = _goal(["a, b : Z"], "2 * a * b <= a * a + b * b")
    assert "pose proof (Z.square_nonneg (a - b)); nia." in [t for _, t in argument_candidates(shape_of(zgoal), zgoal)]
    nat_goal = _goal(["n : nat"], "n <= n * n")
    assert not any("square" in t or "pow2" in t for _, t in argument_candidates(shape_of(nat_goal), nat_goal))


def test_witnesses_instances_and_rewrites() -> None:
    goal = _goal(["n : nat", "h0 : 0 < n"], "exists m : nat, m > n /\\ m <= 17")
    tactics = [t for _, t in argument_candidates(shape_of(goal), goal)]
    assert "exists 17." in tactics and "exists (n + 1)." in tactics
    assert not any("(-" in t for t in tactics)  # no negative witness for a nat
    fgoal = _goal(["f : Z -> Z", "h0 : forall n : Z, f n = 2 * n + 1", "h1 : forall n : Z, f (n + 1) = f n + 2"],
                  "f 84 = 169")
    ftactics = [t for _, t in argument_candidates(shape_of(fgoal), fgoal)]
    assert "pose proof (h1 84)." in ftactics
    egoal = _goal(["x, y : R", "h : x + y = 10"], "x * 2 = 20 - 2 * y")
    etactics = [t for _, t in argument_candidates(shape_of(egoal), egoal)]
    assert "rewrite h in *." in etactics and "rewrite <- h in *." in etactics


def test_state_prompt_keeps_the_conclusion_and_counts_goals() -> None:
    long_hyps = [f"h{i} : x{i} = {i}" for i in range(200)]
    state = ProofState(0, (_goal(long_hyps, "x = 1"), _goal([], "y = 2")), shelved=1)
    prompt = state_prompt(state)
    assert prompt.startswith("goals: 3\n") and prompt.endswith("⊢ x = 1\nTactic:")
    assert "h199 : x199 = 199" in prompt and "h0 : x0 = 0" not in prompt  # cut from the front
    assert tactic_completion("pose  proof\n(h 1).") == " pose proof (h 1)."
    long = "apply Coq.ZArith.Znat.Nat2Z.inj; rewrite ?Coq.ZArith.Znat.Nat2Z.inj_mod; vm_compute; reflexivity."
    assert tactic_completion(long, "nat_to_Z") == " [nat_to_Z]"  # a long table row by its name
    assert tactic_completion("lia.", "lia") == " lia."
    hint = "pose proof (pow2_ge_0 (a - b)); pose proof (pow2_ge_0 (a - c)); nra."
    assert tactic_completion(hint, "hint_sq_all") == " " + hint  # arguments are written out


class _FixedScorer:
    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.prompts: list[str] = []

    def identity(self) -> str:
        return "fixed"

    def logprobs(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        self.prompts.append(prompt)
        return [self.scores[c.strip()] for c in continuations]


def test_policies_costs() -> None:
    state = ProofState(0, (_goal(["x : R"], "x <= x"),))
    rules = [(Rule("lra", "close", "lra.", 0.4), "lra."), (Rule("nra", "close", "nra.", 1.0), "nra.")]
    assert TablePolicy().costs(state, rules) == [0.4, 1.0]
    scorer = _FixedScorer({"lra.": math.log(0.2), "nra.": math.log(0.6)})
    policy = ModelPolicy(scorer)
    costs = policy.costs(state, rules)
    # -log of the probability normalised over the two candidates, plus half the priority
    assert costs[0] == pytest.approx(-math.log(0.25) + 0.2)
    assert costs[1] == pytest.approx(-math.log(0.75) + 0.5)
    assert scorer.prompts == [state_prompt(state)]
    assert policy.propose(state) == []  # no generator: it only ranks


def test_scorer_matches_a_full_forward_pass(tmp_path: Path) -> None:
    import torch

    from prover.generate.score import TransformersScorer
    from prover.train.model_init import init_model

    model = init_model(tmp_path / "m", ["lra. nra. pose proof (pow2_ge_0 (a - b)).\nx y : R\n"] * 4,
                       vocab_size=300, n_layer=2, n_embd=32, n_head=2, n_positions=128)
    scorer = TransformersScorer(str(model), threads=1)
    prompt = "goals: 1\nx, y : R\n⊢ x * y <= 1\nTactic:"
    tails = [" lra.", " pose proof (pow2_ge_0 (x - y)); nra."]
    got = scorer.logprobs(prompt, tails)
    for tail, value in zip(tails, got, strict=True):
        ids = scorer.tokenizer(prompt)["input_ids"]
        cont = [*scorer.tokenizer(tail, add_special_tokens=False)["input_ids"], scorer.eos]
        with torch.no_grad():
            logp = torch.log_softmax(scorer.model(torch.tensor([ids + cont])).logits[0].float(), -1)
        expected = sum(float(logp[len(ids) - 1 + i, t]) for i, t in enumerate(cont))
        assert value == pytest.approx(expected, abs=1e-4)
    # A prompt longer than the context keeps its end and still scores.
    assert len(scorer.logprobs("h : x = 1\n" * 200 + prompt, tails)) == 2


def test_step_examples_deduplicate_and_the_corpus_is_the_records_text() -> None:
    records = [StepRecord("p1", "goals: 1\n⊢ 1 = 1\nTactic:", "reflexivity."),
               StepRecord("p2", "goals: 1\n⊢ 1 = 1\nTactic:", "reflexivity."),
               StepRecord("p2", "goals: 1\n⊢ 2 = 2\nTactic:", "lia.")]
    examples = step_examples(records)
    assert [e.completion for e in examples] == [" reflexivity.", " lia."]
    corpus = tokenizer_corpus(records)
    assert all(text.startswith("goals:") for text in corpus) and len(corpus) == 3


@pytest.mark.rocq
def test_arguments_prove_what_the_table_cannot(rocq_pool) -> None:  # type: ignore[no-untyped-def]
    workdir = Path(REPO / "runs" / "test-step")
    without = prove(Problem("amgm2", AMGM), rocq_pool, SearchConfig(budget_s=10, arguments=False), workdir)
    assert not without.proved
    found = prove(Problem("amgm2", AMGM), rocq_pool, SearchConfig(budget_s=20), workdir)
    assert found.proved and found.proof is not None and "pow2_ge_0" in found.proof
    # The proof's ranked steps are recorded as the policy reads them: training data.
    assert found.steps and found.steps[-1].tactic.startswith("pose proof (pow2_ge_0")
    assert found.steps[0].state.startswith("goals: 1\n") and "⊢ a * b <=" in found.steps[0].state
    assert not prove(Problem("w", WITNESS), rocq_pool, SearchConfig(budget_s=10, arguments=False), workdir).proved
    witness = prove(Problem("w", WITNESS), rocq_pool, SearchConfig(budget_s=20), workdir)
    assert witness.proved and "exists 7." in witness.tactics


@pytest.mark.rocq
def test_a_model_policy_orders_the_same_search(rocq_pool) -> None:  # type: ignore[no-untyped-def]
    """With a policy that prefers the hint, the search tries it first and proves with fewer tactics
    than the table's order takes."""
    workdir = Path(REPO / "runs" / "test-step")

    class _PreferHint:
        def identity(self) -> str:
            return "prefer-hint"

        def logprobs(self, prompt: str, continuations: Sequence[str]) -> list[float]:
            return [0.0 if "pow2_ge_0 (a - b)); nra" in c else -20.0 for c in continuations]

    table = prove(Problem("amgm2", AMGM), rocq_pool, SearchConfig(budget_s=20), workdir)
    learned = prove(Problem("amgm2", AMGM), rocq_pool,
                    SearchConfig(budget_s=20, policy=ModelPolicy(_PreferHint(), )), workdir)
    assert table.proved and learned.proved
    assert learned.tactics == ["pose proof (pow2_ge_0 (a - b)); nra."]
    assert len(learned.attempts) < len(table.attempts)


def _prover(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prover", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_engine_step_needs_a_model(tmp_path: Path) -> None:
    statement = tmp_path / "amgm.v"
    statement.write_text(AMGM)
    run = _prover("prove", str(statement), "--engine", "step", cwd=tmp_path)
    assert run.returncode == 2 and "--model" in run.stderr and "Traceback" not in run.stderr
    run = _prover("prove", str(statement), "--engine", "step", "--model", str(tmp_path / "nothing"), cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    run = _prover("eval", "--benchmark", "minif2f-rocq", "--split", "test", "--engine", "step", cwd=tmp_path)
    assert run.returncode == 2 and "--model" in run.stderr


@pytest.mark.rocq
def test_prove_engine_step_with_a_trained_policy(tmp_path: Path) -> None:
    """A small policy trained on one hinted step proves the issue's example from the command line,
    with the hint as its first tactic."""
    from prover.train.sft import TrainConfig, train
    from prover.train.steps import init_step_model

    state = "goals: 1\na, b : R\nh0 : 0 <= a\nh1 : 0 <= b\n⊢ a * b <= (a + b) * (a + b) / 4\nTactic:"
    records = [StepRecord("x", state, "pose proof (pow2_ge_0 (a - b)); nra.")] * 4
    base = init_step_model(tmp_path / "init", records)
    train(step_examples(records) * 8, str(base), tmp_path / "policy",
          TrainConfig(epochs=30, learning_rate=3e-3, batch_size=8, max_length=256, threads=1))
    statement = tmp_path / "amgm.v"
    statement.write_text(AMGM)
    run = _prover("prove", str(statement), "--engine", "step", "--model", str(tmp_path / "policy"), "--json",
                  "--budget", "30", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["proved"] and result["tactics"][0] == "pose proof (pow2_ge_0 (a - b)); nra."
