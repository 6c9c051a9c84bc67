"""Tokens/s of each generation backend on a GPU, with the project's small model (run by
``bench/gpu_check.sh``, which checks the machine first). Prints a table and writes gpu_check.json.

Where Coq is installed, the model engine also runs a few miniF2F-rocq problems and the number of
proofs the pool checked is reported (a GPU machine without Coq reports ``null``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from prover.generate.base import Generator
from prover.train.model_init import init_model, project_corpus

REPO = Path(__file__).resolve().parents[1]
PROMPTS = ["Theorem t (n : nat) : n + 0 = n.\nProof.\n"] * 16


def measure(name: str, generator: Generator, n: int = 8, max_tokens: int = 128) -> dict[str, Any]:
    generator.generate(PROMPTS[:1], 1, 1.0, 0.95, 8, [], 0)  # warm-up: kernels, caches
    began = time.monotonic()
    out = generator.generate(PROMPTS, n, 1.0, 0.95, max_tokens, [], 0)
    spent = time.monotonic() - began
    tokens = sum(c.tokens for row in out for c in row)
    return {"backend": name, "samples": len(PROMPTS) * n, "tokens": tokens, "seconds": round(spent, 3),
            "tokens_per_s": round(tokens / spent, 1)}


def checked_proofs(generator: Generator) -> int | None:
    """Proofs the pool checked when the model engine ran on three problems; None without Coq."""
    if shutil.which("coqidetop") is None:
        return None
    from prover.evaluate.benchmarks import load_problems
    from prover.itp.base import Limits
    from prover.itp.rocq.backend import RocqBackend
    from prover.search.model_engine import ModelEngineConfig, prove_with_model
    from prover.search.runner import Problem
    from prover.verify.pool import VerifierPool

    problems = load_problems("minif2f-rocq", "valid", None, None, False)[:3]
    config = ModelEngineConfig(k=8, rounds=1, max_tokens=128, budget_s=120)
    with VerifierPool(RocqBackend(), workers=4, limits=Limits(timeout_s=20)) as pool:
        for p in problems:
            prove_with_model(Problem(p.name, p.statement), generator, pool, config, Path(tempfile.mkdtemp()))
        return pool.stats.checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("runs"))
    parser.add_argument("--vllm", type=int, default=0, help="1: measure vLLM too")
    args = parser.parse_args()
    model = init_model(Path(tempfile.mkdtemp()) / "small", project_corpus(REPO), n_positions=1024)
    rows: list[dict[str, Any]] = []
    from prover.generate.hf import TransformersGenerator

    hf = TransformersGenerator(str(model), device="cuda")
    rows.append(measure("transformers (cuda)", hf))
    checks = checked_proofs(hf)
    hf.close()
    if args.vllm:
        from prover.generate.vllm_backend import EngineOptions, VLLMGenerator

        vllm = VLLMGenerator(str(model), EngineOptions(gpu_memory_utilization=0.3, max_model_len=1024))
        rows.append(measure("vllm", vllm))
        vllm.close()
    print(f"{'backend':<22}{'samples':>8}{'tokens':>9}{'seconds':>9}{'tokens/s':>10}")
    for r in rows:
        print(f"{r['backend']:<22}{r['samples']:>8}{r['tokens']:>9}{r['seconds']:>9}{r['tokens_per_s']:>10}")
    print(f"proofs checked by the pool: {checks if checks is not None else 'n/a (no Coq on this machine)'}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps({"rows": rows, "checked": checks}, indent=2) + "\n")


if __name__ == "__main__":
    main()
