"""The model engine: sampled proofs verified in the pool, revised from the checker's errors
(conjecture correction), repaired by tool correction in the hybrid engine; `prover prove --engine
model` end to end with the small model this project makes itself.

The revision and hybrid tests drive the engine with a scripted generator: a real ``Generator`` whose
text is fixed in advance, standing in for the model's text only. The prompts, the extractor, the
verifier pool and tool correction are the real ones."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from prover.generate.base import Completion
from prover.generate.openai_compat import OpenAIGenerator
from prover.itp.base import CheckRequest, Limits
from prover.itp.rocq.backend import RocqBackend
from prover.search.model_engine import ModelEngineConfig, prove_with_model
from prover.search.runner import Problem
from prover.train.model_init import init_model, project_corpus
from prover.verify.pool import VerifierPool
from tests.generate_support import loopback

pytestmark = pytest.mark.rocq

REPO = Path(__file__).resolve().parents[1]
STATEMENT = (
    "Require Import Reals Lra Lia.\nOpen Scope R_scope.\n\n"
    "Theorem lin (x y : R) (h0 : x + y = 10) (h1 : x - y = 2) : x = 6.\nProof.\nAdmitted.\n"
)
PROBLEM = Problem("lin", STATEMENT)


class ScriptedGenerator:
    """A ``Generator`` replaying fixed completions: call i answers every prompt with ``script[i]``
    (the last entry repeats); the prompts it received are kept in ``calls``."""

    def __init__(self, script: Sequence[str]) -> None:
        self.script = list(script)
        self.calls: list[list[str]] = []

    def identity(self) -> str:
        return "scripted"

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_tokens: int,
                 stop: Sequence[str], seed: int | None) -> list[list[Completion]]:
        text = self.script[min(len(self.calls), len(self.script) - 1)]
        self.calls.append(list(prompts))
        return [[Completion(text, len(text.split()), None, "stop") for _ in range(n)] for _ in prompts]

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def pool() -> Iterator[VerifierPool]:
    with VerifierPool(RocqBackend(), workers=1, limits=Limits(timeout_s=30)) as p:
        yield p


def test_a_revision_round_turns_a_failing_proof_into_a_verified_one(pool: VerifierPool, tmp_path: Path) -> None:
    generator = ScriptedGenerator(["  lia.\nQed.\n", "  lra.\nQed.\n"])  # lia knows nothing of the reals
    config = ModelEngineConfig(k=2, rounds=2, budget_s=120)
    result = prove_with_model(PROBLEM, generator, pool, config, tmp_path)
    assert result.proved and result.technique == "revision", result.to_json()
    first, revised = result.attempts[0], result.attempts[2]
    assert first.kind == "prover" and first.reason == "error" and first.messages
    assert result.attempts[1].checked == result.attempts[3].checked == "duplicate"  # checked once
    assert revised.kind == "corrector" and revised.revision_of == 0 and revised.checked == "pool"
    assert result.revisions == 2 and result.corrections == 0 and len(generator.calls) == 2
    # the checker's error, marked inline and listed, reached the model in the revision prompt
    prompt = generator.calls[1][0]
    error = next(m for m in first.messages if m.severity == "error")
    assert " ".join(error.text.split())[:60] in prompt and "(* ERROR: " in prompt and "lia." in prompt
    assert result.prompts[revised.prompt or 0] == prompt
    assert result.proof is not None and "lra." in result.proof
    assert pool.check(CheckRequest(result.proof, STATEMENT)).verified
    data = result.to_json()
    assert data["attempts"][0]["errors"] and data["reasons"] == {"error": 2}


def test_hybrid_repairs_a_wrong_automation_step_without_a_revision(pool: VerifierPool, tmp_path: Path) -> None:
    generator = ScriptedGenerator(["  ring.\nQed.\n"])  # ring cannot use the hypotheses
    config = ModelEngineConfig(k=1, rounds=2, tool_correction=True, budget_s=120)
    result = prove_with_model(PROBLEM, generator, pool, config, tmp_path)
    assert result.proved and result.technique == "tool correction", result.to_json()
    assert result.revisions == 0 and result.corrections == 1 and len(generator.calls) == 1
    repaired = result.attempts[-1]
    assert repaired.kind == "tool_correction" and repaired.revision_of == 0 and "ring." in repaired.notes[0]
    assert result.proof is not None and "ring." not in result.proof
    assert pool.check(CheckRequest(result.proof, STATEMENT)).verified


def prover(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prover", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_prove_engine_model_end_to_end_with_the_small_model(tmp_path: Path) -> None:
    model = init_model(tmp_path / "model", project_corpus(REPO), vocab_size=400, n_layer=2, n_embd=32,
                       n_head=2, n_positions=2048)
    (tmp_path / "s.v").write_text(STATEMENT)
    # Short samples: random text of 40 tokens nearly always holds a control character, which the
    # extractor's static check refuses before the pool; 8 tokens usually get to the pool.
    (tmp_path / "prover.toml").write_text("[pool]\nworkers = 1\n\n[generate]\nmax_tokens = 8\nthreads = 1\n")
    done = prover("prove", "s.v", "--engine", "model", "--model", str(model), "-k", "4", "--rounds", "1",
                  "--seed", "0", "--json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # untrained: random text proves nothing
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"proved", "proof", "attempts", "revisions", "corrections", "time_s", "engine", "k"} <= result.keys()
    assert not result["proved"] and result["proof"] is None and result["engine"] == "model" and result["k"] == 4
    attempts = result["attempts"]
    assert [a["kind"] for a in attempts[:4]] == ["prover"] * 4 and result["rounds"] == 2
    assert result["revisions"] == len(attempts) - 4 >= 1 and result["corrections"] == 0
    for a in attempts:  # every candidate was judged: by the pool, or by the extractor's static check
        assert a["checked"] in ("pool", "static", "duplicate") and a["reason"] and not a["verified"]
        assert a["candidate"].startswith("Require Import Reals Lra Lia.")
    assert any(a["checked"] == "pool" for a in attempts)
    assert "round 0" in done.stderr  # attempts stream to stderr


def test_prove_engine_model_with_a_freshly_made_model_and_long_prompts(tmp_path: Path) -> None:
    """``prover model init`` makes 1024 positions; the default 512 tokens of an answer after the
    revision prompt do not fit. That used to end in ``internal error: IndexError``: the prompt is cut
    from the left to fit the context instead."""
    made = prover("model", "init", "--out", "m", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    (tmp_path / "s.v").write_text(STATEMENT)
    (tmp_path / "prover.toml").write_text("[pool]\nworkers = 1\n\n[generate]\nthreads = 1\n")
    done = prover("prove", "s.v", "--engine", "model", "--model", "m", "-k", "2", "--rounds", "1", "--seed", "0",
                  "--json", "--quiet", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["rounds"] == 2 and result["revisions"] >= 1 and result["error"] is None
    assert all(0 < a["tokens"] <= 512 for a in result["attempts"])


def test_prove_engine_model_without_a_model_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "s.v").write_text(STATEMENT)
    done = prover("prove", "s.v", "--engine", "model", cwd=tmp_path)
    assert done.returncode == 2 and "needs --model" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_the_eval_engine_runs_the_model_engine(pool: VerifierPool, tmp_path: Path) -> None:
    from prover.evaluate.benchmarks import BenchProblem
    from prover.evaluate.engines import ModelEngine

    engine = ModelEngine(ScriptedGenerator(["  lra.\nQed.\n"]), ModelEngineConfig(k=2, rounds=0))
    problem = BenchProblem("lin", "lin", "valid", "rocq", "", STATEMENT, "algebra")
    outcome = engine.attempt(problem, pool, 60.0, 7, tmp_path)
    assert outcome.proved and outcome.technique == "sampled" and outcome.detail["attempts"] == 2


def test_prover_eval_with_the_model_engine_end_to_end(tmp_path: Path) -> None:
    """``prover eval --engine model``: the generator is built from --model, every sample is one sampled
    proof plus its revisions, recorded with its tokens; an untrained model solves nothing."""
    model = init_model(tmp_path / "model", project_corpus(REPO), vocab_size=400, n_layer=2, n_embd=32,
                       n_head=2, n_positions=2048)
    (tmp_path / "prover.toml").write_text("[pool]\nworkers = 1\n\n[generate]\nmax_tokens = 8\nthreads = 1\n")
    done = prover("eval", "--benchmark", "minif2f-rocq", "--split", "valid", "--limit", "2", "-n", "2",
                  "-k", "1,2", "--engine", "model", "--model", str(model), "--rounds", "1", "--budget", "60",
                  "--db", "e.sqlite", "--json-out", "r.json", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["config"]["engine"] == "model" and report["solved"] == 0 and report["total"] == 2
    samples = [s for p in report["problems"] for s in p["samples"]]
    assert len(samples) == 4 and all(s["tokens"] > 0 and not s["proved"] for s in samples)
    # a problem's two samples are one generation call per round (round 0: always the same prompt)
    generation = report["generation"]
    assert generation["sequences"] == sum(s["detail"]["attempts"] for s in samples)
    assert generation["sequences_per_call"].get("2", 0) >= 2 and generation["calls"] < generation["sequences"]


def test_an_answer_cut_off_while_thinking_is_never_sent_to_the_verifier(pool: VerifierPool, tmp_path: Path) -> None:
    generator = ScriptedGenerator(["<think>The hypotheses are linear over the reals, so maybe lra or"])
    result = prove_with_model(PROBLEM, generator, pool, ModelEngineConfig(k=2, rounds=0, budget_s=60), tmp_path)
    assert not result.proved and result.attempts
    assert all(a.checked == "static" and a.reason == "incomplete" for a in result.attempts), result.to_json()
    assert "<think>" in (result.to_json()["attempts"][0].get("detail") or "")


class _ChatServer(BaseHTTPRequestHandler):
    """A chat-completions server whose model always answers the tactics that prove ``lin``; the
    request bodies are kept."""

    bodies: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append({"path": self.path, **body})
        choices = [{"index": i, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "\n  lra.\nQed.\n```"}} for i in range(body["n"])]
        data = json.dumps({"choices": choices, "usage": {"completion_tokens": 4 * body["n"]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_a_chat_completions_server_gets_the_prompts_turns(pool: VerifierPool, tmp_path: Path) -> None:
    # No tokenizer on this side: before the engine sent the prompt's turns, prompt_format "chat"
    # stopped at the first render ("needs a tokenizer with a chat template").
    _ChatServer.bodies = []
    with loopback(_ChatServer) as url:
        client = OpenAIGenerator(url, "m", max_retries=0, timeout_s=10, api="chat")
        try:
            config = ModelEngineConfig(k=2, rounds=0, budget_s=60, prompt_format="chat")
            result = prove_with_model(PROBLEM, client, pool, config, tmp_path)
        finally:
            client.close()
    assert result.proved, result.to_json()
    (body,) = _ChatServer.bodies
    assert body["path"] == "/v1/chat/completions" and body["n"] == 2
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant"] and body["continue_final_message"] is True
    assert body["messages"][-1]["content"].startswith("```coq\n") and "Theorem lin" in body["messages"][1]["content"]
