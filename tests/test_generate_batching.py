"""Batched generation without a model: ``BatchingGenerator`` merges concurrent callers into one backend
call, the model engine steps a problem's samples together (one batch per round, every check submitted
before any is awaited), and an eval with the model engine reports its backend calls and their sizes.

A recording fake stands in for the backend (its completions name the prompt, seed and sample, so a
misrouted answer shows) and a fake pool for the proof assistant: only the scheduling is under test."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from prover.evaluate.benchmarks import REGISTRY, rocq_problem
from prover.evaluate.engines import ModelEngine
from prover.evaluate.report import Environment, build_report, to_markdown
from prover.evaluate.run import EvalConfig, run_eval
from prover.evaluate.store import EvalStore
from prover.generate.base import Completion, GenerationError
from prover.generate.batching import BatchingGenerator, Request, SamplingParams, generate_requests
from prover.itp.base import CheckRequest, Message, Reason, Verdict
from prover.search.model_engine import ModelEngineConfig, prove_many, prove_with_model
from prover.search.runner import Problem

STATEMENT = "Theorem t (n : nat) : n + 0 = n.\nProof.\nAdmitted.\n"
PARAMS = SamplingParams(1.0, 0.95, 16, ("```",))


class Recording:
    """A batching backend: each call's requests are kept; completion j of a request reads
    ``lia. (* seed S sample j *)`` so its routing can be checked. ``hold`` blocks the first call
    until released (to let other callers queue up behind it)."""

    def __init__(self, hold: threading.Event | None = None, fail: bool = False) -> None:
        self.calls: list[list[Request]] = []
        self.hold, self.fail = hold, fail

    def identity(self) -> str:
        return "recording"

    def close(self) -> None:
        pass

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_tokens: int,
                 stop: Sequence[str], seed: int | None) -> list[list[Completion]]:
        raise AssertionError("a batching caller must use generate_requests")

    def generate_requests(self, requests: Sequence[Request], params: SamplingParams) -> list[list[Completion]]:
        self.calls.append(list(requests))
        if self.hold is not None and len(self.calls) == 1:
            assert self.hold.wait(10)
        if self.fail:
            raise GenerationError("server gone")
        return [[Completion(f"  lia. (* seed {r.seed} sample {j} *)\nQed.\n", 3, -1.0, "stop")
                 for j in range(r.n)] for r in requests]


def wait_until(condition: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_concurrent_callers_share_the_next_backend_call() -> None:
    hold = threading.Event()
    inner = Recording(hold)
    batcher = BatchingGenerator(inner)
    results: dict[int, list[list[Completion]]] = {}

    def call(seed: int, params: SamplingParams = PARAMS) -> None:
        results[seed] = batcher.generate_requests([Request(f"p{seed}", 2, seed)], params)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    wait_until(lambda: len(inner.calls) == 1)  # the backend is busy with caller 0 alone
    others = [threading.Thread(target=call, args=(s,)) for s in (1, 2, 3)]
    others.append(threading.Thread(target=call, args=(4, SamplingParams(0.5, 0.95, 16))))
    for t in others:
        t.start()
    wait_until(lambda: len(batcher._waiting) == 4)
    hold.set()
    for t in [first, *others]:
        t.join(10)
    # callers 1-3 asked with equal parameters while the backend was busy: one call; caller 4 its own
    assert [[r.seed for r in call] for call in inner.calls] == [[0], [1, 2, 3], [4]]
    for seed, answer in results.items():
        assert [c.text for c in answer[0]] == [f"  lia. (* seed {seed} sample {j} *)\nQed.\n" for j in (0, 1)]
    stats = batcher.stats.to_json()
    assert stats["calls"] == 3 and stats["requests"] == 5 and stats["sequences"] == 10
    assert stats["merged_calls"] == 1 and stats["sequences_per_call"] == {"2": 2, "6": 1}


def test_a_failed_call_fails_every_caller_in_it() -> None:
    batcher = BatchingGenerator(Recording(fail=True))
    with pytest.raises(GenerationError, match="server gone"):
        batcher.generate(["p"], 1, 1.0, 0.95, 8, [], 1)
    assert batcher.stats.calls == 1 and not batcher._busy


class Plain:
    """A backend with only ``generate`` (one seed per call)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], int, int | None]] = []

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_tokens: int,
                 stop: Sequence[str], seed: int | None) -> list[list[Completion]]:
        self.calls.append((list(prompts), n, seed))
        return [[Completion(f"{p}/{seed}/{j}", 1, None, "stop") for j in range(n)] for p in prompts]


def test_requests_fall_back_to_one_generate_call_per_seed() -> None:
    plain = Plain()
    requests = [Request("a", 1, 5), Request("b", 2, 6), Request("c", 1, 5)]
    out = generate_requests(plain, requests, PARAMS)  # type: ignore[arg-type]
    assert plain.calls == [(["a", "c"], 1, 5), (["b"], 2, 6)]
    assert [[c.text for c in cs] for cs in out] == [["a/5/0"], ["b/6/0", "b/6/1"], ["c/5/0"]]


class FailingPool:
    """Every check fails at once with a located error; the submissions are counted."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, request: CheckRequest, timeout_s: float | None = None) -> Future[Verdict]:
        self.submitted.append(request.proof)
        future: Future[Verdict] = Future()
        future.set_result(Verdict(False, Reason.ERROR, [Message("error", "no", 3, 3)], time_s=0.01))
        return future

    def check(self, request: CheckRequest, timeout_s: float | None = None) -> Verdict:
        return self.submit(request).result()


def test_a_problems_samples_are_one_batch_per_round(tmp_path: Path) -> None:
    """Four samples (k = 1, two revision rounds): three backend calls of four requests, not twelve
    calls of one; each sample's attempts are what it gets alone."""
    configs = [ModelEngineConfig(k=1, rounds=2, restart_every=0, seed=s, max_tokens=16) for s in (10, 20, 30, 40)]
    inner = Recording()
    problem = Problem("t", STATEMENT)
    together = prove_many(problem, inner, FailingPool(), configs, tmp_path)  # type: ignore[arg-type]
    assert [[r.seed for r in call] for call in inner.calls] == [[10, 20, 30, 40], [11, 21, 31, 41],
                                                                [12, 22, 32, 42]]
    assert all(r.n == 1 for call in inner.calls for r in call)
    for config, result in zip(configs, together, strict=True):
        alone = prove_with_model(problem, Recording(), FailingPool(), config, tmp_path)  # type: ignore[arg-type]
        assert [a.completion for a in result.attempts] == [a.completion for a in alone.attempts]
        assert [a.kind for a in result.attempts] == ["prover", "corrector", "corrector"]
        assert result.rounds == 3 and not result.proved and result.error is None


def test_a_generation_error_ends_every_run_of_the_batch(tmp_path: Path) -> None:
    configs = [ModelEngineConfig(k=2, rounds=1, seed=s) for s in (1, 2)]
    results = prove_many(Problem("t", STATEMENT), Recording(fail=True), FailingPool(), configs,  # type: ignore[arg-type]
                         tmp_path)
    assert [r.error for r in results] == ["server gone", "server gone"] and all(r.time_s > 0 for r in results)


def test_an_eval_reports_its_batched_generation_calls(tmp_path: Path) -> None:
    """n = 4 samples of 3 problems, no revisions, one worker: one call of 4 sequences per problem
    (the serial path made 12 calls of 1), shown in the JSON report and the Markdown."""
    bench = REGISTRY["minif2f-rocq"]
    problems = [rocq_problem(f"mathd_algebra_{i}", "valid", STATEMENT.replace("Theorem t", f"Theorem p{i}"))
                for i in range(3)]
    inner = Recording()
    engine = ModelEngine(inner, ModelEngineConfig(k=1, rounds=0, max_tokens=16))
    config = EvalConfig("minif2f-rocq", "valid", ks=(1, 4), n=4, engine="model", model="m", temperature=1.0,
                        max_tokens=16, budget_s=30, workers=1)
    env = Environment("rocq", "scripted", "{}")
    with EvalStore(tmp_path / "e.sqlite") as store:
        summary = run_eval(config, bench, problems, FailingPool(), store, "x", progress=None,  # type: ignore[arg-type]
                           engine=engine)
        report = build_report(config, bench, problems, store, summary.hashes, env, summary.generation)
    assert summary.done == 12 and [len(call) for call in inner.calls] == [4, 4, 4]
    assert report["generation"] == {"calls": 3, "requests": 12, "sequences": 12, "merged_calls": 0,
                                    "mean_sequences_per_call": 4.0, "sequences_per_call": {"4": 3}}
    seeds = sorted(s["engine_seed"] for p in report["problems"] for s in p["samples"])
    assert seeds == sorted([0, 1, 2, 3] * 3)  # every sample keeps its own seed
    assert "generation: 3 backend call(s), 12 sequences, 4 per call" in to_markdown(report)


class SlowPool(FailingPool):
    """Checks take 0.2 s on their own threads; when each ran is kept."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[float, float]] = []
        self._threads = ThreadPoolExecutor(4)

    def submit(self, request: CheckRequest, timeout_s: float | None = None) -> Future[Verdict]:
        def check() -> Verdict:
            began = time.monotonic()
            time.sleep(0.2)
            self.spans.append((began, time.monotonic()))
            return Verdict(False, Reason.ERROR, [Message("error", "no", 3, 3)], time_s=0.2)

        return self._threads.submit(check)


class SlowRecording(Recording):
    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[float, float]] = []

    def generate_requests(self, requests: Sequence[Request], params: SamplingParams) -> list[list[Completion]]:
        began = time.monotonic()
        time.sleep(0.2)
        out = super().generate_requests(requests, params)
        self.spans.append((began, time.monotonic()))
        return out


def test_one_problems_checks_overlap_another_problems_generation(tmp_path: Path) -> None:
    bench = REGISTRY["minif2f-rocq"]
    problems = [rocq_problem(f"mathd_algebra_{i}", "valid", STATEMENT.replace("Theorem t", f"Theorem p{i}"))
                for i in range(2)]
    inner, pool = SlowRecording(), SlowPool()
    engine = ModelEngine(inner, ModelEngineConfig(k=1, rounds=1, max_tokens=16))
    config = EvalConfig("minif2f-rocq", "valid", n=2, engine="model", model="m", temperature=1.0, rounds=1,
                        max_tokens=16, budget_s=30, workers=2)
    with EvalStore(tmp_path / "e.sqlite") as store:
        run_eval(config, bench, problems, pool, store, "x", progress=None, engine=engine)  # type: ignore[arg-type]
    assert len(inner.spans) >= 2 and len(pool.spans) >= 4
    overlap = [(g, c) for g in inner.spans for c in pool.spans if g[0] < c[1] - 0.05 and c[0] < g[1] - 0.05]
    assert overlap, (inner.spans, pool.spans)
