"""The vLLM backend runs only where a CUDA GPU and vllm exist; elsewhere it must fail clearly."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

HAVE_VLLM = importlib.util.find_spec("vllm") is not None


def _have_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@pytest.mark.skipif(not (HAVE_VLLM and _have_cuda()), reason="needs a GPU and vllm")
def test_vllm_samples_the_small_model(tmp_path_factory: pytest.TempPathFactory) -> None:
    from prover.generate.vllm_backend import EngineOptions, VLLMGenerator
    from prover.train.model_init import init_model, project_corpus
    from tests.generate_support import REPO

    model = init_model(tmp_path_factory.mktemp("tiny") / "m", project_corpus(REPO), n_positions=512)
    gen = VLLMGenerator(str(model), EngineOptions(gpu_memory_utilization=0.3, max_model_len=512))
    out = gen.generate(["Theorem t : True.\nProof.\n"] * 2, 4, 1.0, 0.95, 16, ["Qed."], 1)
    again = gen.generate(["Theorem t : True.\nProof.\n"], 4, 1.0, 0.95, 16, ["Qed."], 1)
    assert [len(c) for c in out] == [4, 4]
    assert [c.text for c in again[0]] == [c.text for c in out[0]]
    assert all(c.tokens >= 1 and c.logprob is not None for c in out[0])


@pytest.mark.skipif(HAVE_VLLM, reason="vllm is installed here")
def test_missing_vllm_says_how_to_install() -> None:
    from prover.generate.vllm_backend import VLLMGenerator

    with pytest.raises(RuntimeError, match=r"vllm is not installed: pip install 'prover-itp\[gpu\]' \(in a "
                       r"checkout: pip install -e '\.\[gpu\]'\)"):
        VLLMGenerator("any")


def test_all_requests_go_to_vllm_in_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in ``vllm`` module: one ``LLM.generate`` call gets every prompt, each with its own
    SamplingParams (n and seed), and its outputs come back in request order."""
    from types import SimpleNamespace

    from prover.generate import vllm_backend
    from prover.generate.batching import Request, SamplingParams

    calls: list[tuple[list[str], list[Any]]] = []

    class FakeLLM:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

        def generate(self, prompts: list[str], params: list[Any], use_tqdm: bool = False) -> list[Any]:
            calls.append((prompts, params))
            def output(text: str) -> Any:
                return SimpleNamespace(text=text, token_ids=[1, 2], logprobs=None, cumulative_logprob=-1.0,
                                       finish_reason="stop")

            return [SimpleNamespace(outputs=[output(f"{p}|{sp.seed}|{j}") for j in range(sp.n)])
                    for p, sp in zip(prompts, params, strict=True)]

    fake = SimpleNamespace(LLM=FakeLLM, SamplingParams=lambda **kw: SimpleNamespace(**kw))
    monkeypatch.setattr(vllm_backend, "require_vllm", lambda: fake)
    gen = vllm_backend.VLLMGenerator("m", logprobs=False)
    out = gen.generate_requests([Request("a", 2, 1), Request("b", 1, 7)], SamplingParams(0.8, 0.9, 16, ("Qed.",)))
    [(prompts, params)] = calls
    assert prompts == ["a", "b"] and [(sp.n, sp.seed, sp.stop, sp.max_tokens) for sp in params] == [
        (2, 1, ["Qed."], 16), (1, 7, ["Qed."], 16)]
    assert [[c.text for c in cs] for cs in out] == [["a|1|0", "a|1|1"], ["b|7|0"]]
    assert gen.generate(["c"], 1, 0.0, 0.9, 4, [], None)[0][0].text == "c|None|0"


def _fake_vllm(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[dict[str, Any]], list[str]]:
    from types import SimpleNamespace

    from prover.generate import vllm_backend

    made: list[dict[str, Any]] = []
    released: list[str] = []

    class FakeLLM:
        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)

    parallel = SimpleNamespace(destroy_model_parallel=lambda: released.append("model_parallel"),
                               destroy_distributed_environment=lambda: released.append("distributed"))
    fake = SimpleNamespace(LLM=FakeLLM, SamplingParams=lambda **kw: SimpleNamespace(**kw),
                           distributed=SimpleNamespace(parallel_state=parallel))
    monkeypatch.setattr(vllm_backend, "require_vllm", lambda: fake)
    return fake, made, released


def test_engine_settings_from_the_settings_file_reach_vllm(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    from prover.config import load_settings
    from prover.generate import make_generator

    _, made, released = _fake_vllm(monkeypatch)
    toml = tmp_path / "gpu.toml"
    toml.write_text('[generate]\nbackend = "vllm"\nmodel = "org/prover-7b"\ndtype = "bfloat16"\n'
                    'tensor_parallel_size = 2\nmax_model_len = 16384\nmax_num_seqs = 64\nquantization = "awq"\n'
                    'enable_prefix_caching = false\ntrust_remote_code = true\nrevision = "v2"\n')
    generator = make_generator(load_settings(toml).generate)
    assert made == [{"model": "org/prover-7b", "dtype": "bfloat16", "gpu_memory_utilization": 0.85,
                     "max_model_len": 16384, "tensor_parallel_size": 2, "max_num_seqs": 64,
                     "quantization": "awq", "enable_prefix_caching": False, "trust_remote_code": True,
                     "revision": "v2", "seed": 0}]
    assert "v2" in generator.identity() and "awq" in generator.identity()
    generator.close()
    generator.close()  # idempotent: the GPU is released once
    assert released == ["model_parallel", "distributed"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[generate]\ntensor_parallel_size = "two"\n')
    with pytest.raises(ValueError, match="tensor_parallel_size"):
        load_settings(bad)


def test_the_identity_follows_the_hub_commit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A re-pushed hub model under the same name is another model: the identity (and so the
    completion cache) carries the commit vLLM loaded, read offline from the Hugging Face cache."""
    import huggingface_hub.constants

    from prover.generate.vllm_backend import VLLMGenerator

    _fake_vllm(monkeypatch)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--org--prover-7b"

    def push(commit: str) -> str:
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(commit)
        (repo / "snapshots" / commit).mkdir(parents=True)
        (repo / "snapshots" / commit / "config.json").write_text("{}")
        return VLLMGenerator("org/prover-7b").identity()

    first, second = push("1111aaaa"), push("2222bbbb")
    assert "@1111aaaa:" in first and "@2222bbbb:" in second
