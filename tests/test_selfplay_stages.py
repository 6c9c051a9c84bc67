"""The self-play stages run directly (no subprocess, no kill): each stage run a second time over what
its first run wrote — a run killed after the rows were written but before the stage was marked
done — gives the same payload; a round's rates come from that round's attempts; the final check
of a found proof is retried, then left to the teacher; no training completion is longer than the
sampling budget. A real Coq pool and store; the model's text comes from a scripted generator, the
train and evaluate stages use a tiny model this project makes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from prover.cli.selfplay import read_seeds
from prover.config import Settings
from prover.generate.base import Completion
from prover.itp.base import CheckRequest, Reason, Verdict
from prover.itp.rocq.backend import RocqBackend
from prover.selfplay import loop
from prover.selfplay.proving import ProveJob, prove_problems, rate_of
from prover.selfplay.select import dropped
from prover.selfplay.training import Chosen, Record, build_records, own_comments, within_budget
from prover.store import ProblemRow, ProofRow, Store
from prover.store.rows import from_json, to_json
from prover.train.examples import completion_tokens, example_of
from prover.train.export import prover_record
from prover.train.model_init import init_model
from prover.verify.pool import VerifierPool
from tests.test_model_engine import ScriptedGenerator
from tests.test_selfplay import SEEDS

GOOD, BAD = "  intros; nia.\nQed.\n", "  reflexivity.\nQed.\n"  # nia proves the nat and Z families


class PerSample(ScriptedGenerator):
    """Sample j of every prompt answers ``script[j % len(script)]``: pass rates between 0 and 1."""

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_tokens: int,
                 stop: Sequence[str], seed: int | None) -> list[list[Completion]]:
        self.calls.append(list(prompts))
        texts = [self.script[j % len(self.script)] for j in range(n)]
        return [[Completion(t, len(t.split()), None, "stop") for t in texts] for _ in prompts]


class FlakyPool:
    """The real pool, except that the first ``fails[statement]`` direct checks of a statement answer
    ``timeout``, as a check under load can (the model engine submits; final checks call ``check``)."""

    def __init__(self, pool: VerifierPool, fails: dict[str, int]) -> None:
        self.pool, self.fails = pool, dict(fails)
        self.limits, self.stats = pool.limits, pool.stats

    def submit(self, request: CheckRequest, timeout_s: float | None = None) -> Future[Verdict]:
        return self.pool.submit(request, timeout_s)

    def check(self, request: CheckRequest, timeout_s: float | None = None) -> Verdict:
        if self.fails.get(request.statement or "", 0) > 0:
            self.fails[request.statement or ""] -= 1
            return Verdict(False, Reason.TIMEOUT, detail="scripted timeout")
        return self.pool.check(request, timeout_s)

    def map(self, requests: Any, timeout_s: float | None = None) -> Iterator[Verdict]:
        return self.pool.map(requests, timeout_s)

    def close(self) -> None:
        pass


def _seeds() -> list[ProblemRow]:
    """Seven held-out problems, then two training problems of each of three families nia proves and
    one of the reals (it does not): the training ids run from 8 to 14, so sorting them as text (as a
    payload read back from the store does) is not their order."""
    rows = read_seeds(SEEDS)
    names = ("seed_007", "seed_008", "seed_013", "seed_014", "seed_031", "seed_032", "seed_025")
    return [r for r in rows if r.split == "heldout"][:7] + [r for r in rows if r.name in names]


def _context(tmp_path: Path, pool: Any, model: str = "scripted") -> loop.Context:
    settings = Settings()
    sp = settings.selfplay
    sp.k, sp.conjecture_k, sp.revision_rounds, sp.teacher = 2, 4, 0, "none"
    sp.conjectures_per_round, sp.mutations_per_seed, sp.model_conjectures_per_seed, sp.lemma_cap = 12, 3, 0, 1.0
    sp.heldout_k, sp.max_tokens, sp.train_steps, sp.batch_size = 2, 48, 4, 4
    settings.generate.threads = 1
    store = Store(tmp_path / "selfplay.sqlite")
    store.add_problems(_seeds())
    return loop.Context(settings, sp, tmp_path, store, pool, RocqBackend().identity(), model,
                        log=lambda line: None, progress=False)


def _stage(ctx: loop.Context, number: int, stage: str, generator: Any,
           payloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Run ``stage``, then again over the same store with the earlier stages' payloads as a resumed
    run reads them back (JSON, keys sorted); both must agree. Returns the payload, kept in
    ``payloads`` like the loop does."""
    if number not in {r.number for r in ctx.store.rounds()}:
        ctx.store.start_round(number, loop.run_settings(ctx.settings))
    first = loop._STAGE[stage](ctx, number, ctx.initial_model, generator, payloads)
    stored = {name: from_json(to_json(payload, name)) for name, payload in payloads.items()}
    again = loop._STAGE[stage](ctx, number, ctx.initial_model, generator, stored)
    assert again == first, stage
    payloads[stage] = first
    return first


@pytest.mark.rocq
def test_each_stage_run_again_gives_what_it_gave(rocq_pool: VerifierPool, tmp_path: Path) -> None:
    ctx = _context(tmp_path, rocq_pool)
    generator = PerSample([GOOD, BAD])
    payloads: dict[str, dict[str, Any]] = {}
    train = ctx.store.problems(split="train")
    ctx.store.start_round(1, loop.run_settings(ctx.settings))
    loop._prove(ctx, 1, generator, train[-3:], ctx.sp.k, False, "targets")  # killed after three problems
    targets = _stage(ctx, 1, "targets", generator, payloads)["rates"]
    assert list(targets) == [str(p.id) for p in train]  # problem order, however the stage was split
    proved = sorted(pid for pid, (_, _, ok, _) in targets.items() if ok)
    assert len(targets) == 7 and len(proved) == 6  # all but the real-number problem
    assert all(targets[pid][:2] == [1, 2] for pid in proved)

    conjecture = _stage(ctx, 1, "conjecture", None, payloads)
    assert conjecture["kept"] and conjecture["counts"]["kept"] == len(conjecture["kept"])  # not all "duplicate"
    generator = PerSample([GOOD, BAD, BAD, BAD])  # 1 of 4 where nia proves it: barely provable
    conjectures = _stage(ctx, 1, "conjectures", generator, payloads)["rates"]
    barely = sum(r[:2] == [1, 4] for r in conjectures.values())
    assert barely >= 2 and all(r[:2] in ([0, 4], [1, 4]) for r in conjectures.values())
    selected = _stage(ctx, 1, "select", None, payloads)["selected"]
    assert len(selected) == barely - dropped(barely, ctx.sp.drop_fraction)  # 1/4 is in (0, 0.25]

    # Round 2 finds the same texts round 1 filed: those proof rows keep round 1, yet round 2 proved
    # them, read back or not.
    again = _stage(ctx, 2, "targets", PerSample([GOOD, BAD]), {})["rates"]
    assert again == targets
    assert all(p.round == 1 for p in ctx.store.proofs())


@pytest.mark.rocq
def test_a_final_check_that_times_out_is_retried_then_left_to_the_teacher(rocq_pool: VerifierPool,
                                                                         tmp_path: Path) -> None:
    from prover.search.model_engine import ModelEngineConfig

    store = Store(tmp_path / "selfplay.sqlite")
    store.add_problems([r for r in read_seeds(SEEDS) if r.name in ("seed_007", "seed_008")])
    retried, taught = store.problems()
    flaky = FlakyPool(rocq_pool, {retried.statement: 1, taught.statement: 2})
    job = ProveJob(1, ModelEngineConfig(k=2, rounds=0, budget_s=60), "scripted", RocqBackend().identity(),
                   teacher_budget_s=30, workers=1)
    rates = prove_problems([retried, taught], PerSample([GOOD]), flaky, store, job)

    assert rates[retried.id or 0].by_model  # the second check verified: the model's proof is filed
    assert [p.technique for p in store.proofs(problem_id=retried.id)] == ["sampled"]
    late = rates[taught.id or 0]
    assert late.proved and not late.by_model and late.verified == 0  # both checks timed out: the teacher
    (proof,) = store.proofs(problem_id=taught.id)
    assert proof.technique is not None and proof.technique.startswith("teacher")
    model_rows = [a for a in store.attempts(problem_id=taught.id) if a.engine != "portfolio"]
    assert model_rows and all(not a.verified and a.reason == "timeout" for a in model_rows)
    for row in (retried, taught):  # a resumed stage reads the same rates back
        assert rate_of(store.attempts(round=1, problem_id=row.id), 2) == rates[row.id or 0]


def test_the_models_own_commented_proofs_are_not_annotated_again() -> None:
    statement = "Require Import Lia.\n\n(* informal: a fact. *)\nTheorem t : 1 <= 2.\nProof.\nAdmitted.\n"
    plain = statement.replace("Admitted.", "  lia.\nQed.")
    commented = plain.replace("  lia.", "  (* Conclude by lia. *)\n  lia.")
    assert not own_comments("rocq", statement, plain)  # the statement's own comment is no comment of the model's
    assert not own_comments("rocq", statement, plain.replace("(* informal: a fact. *)\n", ""))
    assert own_comments("rocq", statement, commented)
    problem = ProblemRow(name="t", statement=statement, source="s", split="train", language="rocq",
                         informal="a fact.", id=1)
    proof = ProofRow(id=1, problem_id=1, text=commented, text_hash="", axioms=[], backend="rocq", toolchain="x",
                     round=1, attempt_id=None, technique="sampled", verify_time_s=0.0, created_at="")
    # No pool: nothing is annotated, so nothing needs checking.
    (record,) = build_records([Chosen(problem, proof, 0.5, True)], [], None, 2, True, 2.0)  # type: ignore[arg-type]
    assert record.data["proof"] == commented and record.data["nl"] and record.plain is None


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = [r.statement + GOOD for r in read_seeds(SEEDS) if r.split == "train"]
    return init_model(tmp_path_factory.mktemp("tiny"), texts, vocab_size=300, n_layer=1, n_embd=32, n_head=2,
                      n_positions=512)


def test_no_training_completion_is_longer_than_the_sampling_budget(tiny: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    statement = "Require Import Arith Lia.\n\nTheorem t (n : nat) (h0 : n + 1 = 3) : n = 2.\nProof.\nAdmitted.\n"
    plain = statement.replace("Admitted.", "  lia.\nQed.")
    commented = plain.replace("  lia.", "  (* Conclude by linear integer arithmetic (lia). *)\n  lia.")
    long = plain.replace("  lia.", "  intros.\n  simpl.\n" * 12 + "  lia.")

    def record(proof: str, nl: bool = False) -> dict[str, Any]:
        return prover_record("rocq", "t", statement, proof, nl=nl)

    records = [Record(record(plain), 1.0), Record(record(commented, True), 2.0, record(plain)),
               Record(record(long), 1.0)]
    sizes = [completion_tokens(example_of(r.data, "default", tokenizer), tokenizer) for r in records]
    budget = sizes[0] + 1  # the plain proof fits, the commented and the long one do not
    assert sizes[1] > budget and sizes[2] > budget
    kept, examples, dropped = within_budget(records, "default", tokenizer, "auto", budget)
    assert dropped == 1 and [r.data["proof"] for r in kept] == [plain, plain]  # the comments went
    assert [e.weight for e in examples] == [1.0, 2.0]
    assert all(completion_tokens(e, tokenizer) <= budget for e in examples)
    kept, _, dropped = within_budget(records, "default", tokenizer, "auto", sizes[1])
    assert dropped == 1 and kept[1].data["nl"]  # room for the comments: they stay


@pytest.mark.rocq
def test_train_and_evaluate_run_again_after_a_kill_give_the_same_model_and_score(
    rocq_pool: VerifierPool, tiny: Path, tmp_path: Path
) -> None:
    import shutil

    ctx = _context(tmp_path, rocq_pool, str(tiny))
    payloads: dict[str, dict[str, Any]] = {"select": {"selected": []}}
    ctx.store.start_round(1, loop.run_settings(ctx.settings))
    payloads["targets"] = loop._STAGE["targets"](ctx, 1, str(tiny), PerSample([GOOD, BAD]), payloads)
    trained = loop._STAGE["train"](ctx, 1, str(tiny), None, payloads)
    assert trained["examples"] >= 1 and trained["examples"] + trained["over_budget"] == 6
    # Killed after step 2: later checkpoints and the final model are gone, the dataset half written.
    out = Path(trained["checkpoint"])
    for path in out.iterdir():
        if not path.name.startswith(("checkpoint-1", "checkpoint-2")):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    (tmp_path / "dataset-r1" / "train.jsonl").write_text("")
    assert loop._STAGE["train"](ctx, 1, str(tiny), None, payloads) == trained
    payloads["train"] = trained
    _stage(ctx, 1, "evaluate", None, payloads)
