"""The steps of "does training help": prove the training problems with the portfolio, turn the proofs
into prover examples, make a small model, and measure a model alone with the model engine.

``bench/learning.py`` runs them in order (untrained model, training, trained model, same k and seed);
the self-play loop calls the same steps. Every proof and every example's completion is verified by
the pool: an example is kept only when the text the model is taught, read back by the extractor,
verifies.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.generate.base import cut_at_stop
from prover.generate.extract import extract_proof
from prover.generate.prompts import load_templates, prover_prompt
from prover.itp.base import CheckRequest
from prover.search.runner import Problem
from prover.train.examples import Example, prover_example
from prover.verify.pool import CheckPool


def load_problems(path: Path, split: str | None = None) -> list[Problem]:
    """Problems from a JSONL file of ``{name, statement, split?}`` lines (``data/rocq-seeds``), those of
    ``split`` only when given. Raises ``ValueError`` naming the line."""
    problems = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            name, statement = row["name"], row["statement"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a problem line ({exc})") from None
        if not isinstance(name, str) or not isinstance(statement, str):
            raise ValueError(f"{path}:{number}: name and statement must be text")
        if split is None or row.get("split") == split:
            problems.append(Problem(name, statement))
    return problems


@dataclass
class PortfolioExamples:
    examples: list[Example]
    proofs: dict[str, str]  # problem name -> the portfolio's verified proof
    unproved: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)  # proved, but no example: why
    time_s: float = 0.0


def portfolio_examples(
    problems: Sequence[Problem],
    pool: CheckPool,
    budget_s: float = 20.0,
    workers: int = 2,
    templates: str = "default",
    tokenizer: Any | None = None,
    prompt_format: str = "auto",
    language: str = "rocq",
    progress: bool = False,
) -> PortfolioExamples:
    """Prove ``problems`` with the portfolio engine and make a prover example of each proof. The
    completion after the prompt's stub (cut at the stop string, as the generator cuts it) is read back
    by the extractor and checked in the pool; examples whose candidate does not verify (a proof that
    needs an import the portfolio added to the header) are dropped, with the reason."""
    from prover.search.portfolio import SearchConfig
    from prover.search.runner import prove_all

    started = time.monotonic()
    statements = {p.name: p.statement for p in problems}
    out = PortfolioExamples([], {})
    for result in prove_all(problems, pool, SearchConfig(budget_s=budget_s), workers):
        if result.proved and result.proof is not None:
            out.proofs[result.name] = result.proof
        else:
            out.unproved.append(result.name)
        if progress:
            print(f"portfolio {result.name}: {'proved' if result.proved else 'not proved'}", file=sys.stderr)
    made: dict[str, Example] = {}
    for name, proof in out.proofs.items():
        try:
            made[name] = prover_example(
                language, statements[name], proof, templates, tokenizer, prompt_format
            )
        except ValueError as exc:
            out.dropped[name] = str(exc)
    table = load_templates(templates)
    futures = {}
    for name, example in made.items():
        prompt = prover_prompt(table, language, statements[name])
        extraction = extract_proof(
            language, statements[name], prompt.answer(cut_at_stop(example.completion, prompt.stop)[0])
        )
        if extraction.text is None:
            out.dropped[name] = f"the extractor refuses the completion: {extraction.refusal}"
            continue
        futures[name] = pool.submit(CheckRequest(extraction.text, statements[name]))
    for name, future in futures.items():
        verdict = future.result()
        if verdict.verified:
            out.examples.append(made[name])
        else:
            out.dropped[name] = f"the completion's candidate does not verify: {verdict.reason}"
    out.time_s = time.monotonic() - started
    return out


@dataclass
class ModelPass:
    """How many ``problems`` a model proved alone (model engine, no revisions, no tool correction)."""

    proved: int
    total: int
    results: list[dict[str, Any]]  # per problem: name, proved, proof, attempts, reasons
    time_s: float

    @property
    def rate(self) -> float:
        return self.proved / self.total if self.total else 0.0


def model_pass(
    model_dir: Path | str,
    problems: Sequence[Problem],
    pool: CheckPool,
    k: int = 8,
    seed: int = 0,
    max_tokens: int = 128,
    temperature: float = 1.0,
    templates: str = "default",
    prompt_format: str = "auto",
    threads: int | None = None,
    device: str = "auto",
    language: str = "rocq",
    progress: bool = False,
) -> ModelPass:
    """Sample ``k`` whole proofs of each problem from the model at ``model_dir`` (seeded, one round:
    ``ModelEngineConfig(k=k, rounds=0, tool_correction=False, seed=seed)``) and count those the pool
    verified."""
    from prover.generate.hf import TransformersGenerator
    from prover.search.model_engine import ModelEngineConfig, prove_with_model

    started = time.monotonic()
    config = ModelEngineConfig(
        k=k,
        rounds=0,
        tool_correction=False,
        seed=seed,
        max_tokens=max_tokens,
        temperature=temperature,
        templates=templates,
        prompt_format=prompt_format,
    )
    generator = TransformersGenerator(str(model_dir), device=device, threads=threads)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="prover-learning-") as scratch:
            for problem in problems:
                result = prove_with_model(
                    problem, generator, pool, config, Path(scratch) / problem.name, language
                )
                data = result.to_json()
                rows.append(
                    {
                        "name": problem.name,
                        "proved": result.proved,
                        "proof": result.proof,
                        "attempts": len(result.attempts),
                        "reasons": data["reasons"],
                        "completions": [a.completion for a in result.attempts],
                    }
                )
                if progress:
                    print(
                        f"model {problem.name}: {'proved' if result.proved else 'not proved'}",
                        file=sys.stderr,
                    )
    finally:
        generator.close()
    return ModelPass(sum(r["proved"] for r in rows), len(rows), rows, time.monotonic() - started)


def tokenizer_corpus(root: Path, found: PortfolioExamples) -> list[str]:
    """What the small model's tokenizer learns from: the project's proofs (``project_corpus``), the
    training proofs, and the training examples' texts (so the prompt's wording gets whole tokens)."""
    from prover.train.model_init import project_corpus

    examples = [e.prompt + e.completion for e in found.examples]
    return [*project_corpus(root), *found.proofs.values(), *examples]
