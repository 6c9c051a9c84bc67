"""The vLLM backend runs only where a CUDA GPU and vllm exist; elsewhere it must fail clearly."""

from __future__ import annotations

import importlib.util

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
    from prover.generate.vllm_backend import VLLMGenerator
    from prover.train.model_init import init_model, project_corpus
    from tests.generate_support import REPO

    model = init_model(tmp_path_factory.mktemp("tiny") / "m", project_corpus(REPO), n_positions=512)
    gen = VLLMGenerator(str(model), gpu_memory_utilization=0.3, max_model_len=512)
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
