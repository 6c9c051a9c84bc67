"""The transformers backend on the CPU with the small model: n samples per prompt, seeds, stop
strings, token counts and log-probabilities, and loading through the real ``from_pretrained``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from prover.generate.base import Completion, GenerationError
from prover.generate.hf import TransformersGenerator
from tests.generate_support import tiny_generator, tiny_model

__all__ = ["tiny_generator", "tiny_model"]  # fixtures, used by name

PROMPTS = ["Theorem t (n : nat) : n + 0 = n.\nProof.\n", "Require Import Arith.\nLemma"]


def sample(gen: TransformersGenerator, prompts: list[str], n: int = 3, seed: int | None = 7,
           stop: list[str] | None = None, max_tokens: int = 24, temperature: float = 1.0) -> list[list[Completion]]:
    return gen.generate(prompts, n=n, temperature=temperature, top_p=0.95, max_tokens=max_tokens,
                        stop=stop or [], seed=seed)


def test_small_model_loads_through_from_pretrained(tiny_model: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert tokenizer.eos_token == "<|endoftext|>" and tokenizer.pad_token == "<|pad|>"
    assert model.config.eos_token_id == tokenizer.eos_token_id
    assert model.config.n_layer == 2
    # byte-level: any text round-trips, Lean's Unicode included
    text = "theorem t : ∀ n : ℕ, n + 0 = n := by simp"
    assert tokenizer.decode(tokenizer(text).input_ids) == text


def test_n_samples_per_prompt_with_counts(tiny_generator: TransformersGenerator) -> None:
    out = sample(tiny_generator, PROMPTS, n=3)
    assert [len(c) for c in out] == [3, 3]
    for completions in out:
        for c in completions:
            assert 1 <= c.tokens <= 24
            assert c.token_logprobs is not None and len(c.token_logprobs) == c.tokens
            assert c.logprob is not None and math.isclose(c.logprob, sum(c.token_logprobs), rel_tol=1e-6)
            assert c.logprob < 0
            assert c.finish_reason in ("stop", "length")
            assert (c.finish_reason == "length") == (c.tokens == 24) or c.finish_reason == "stop"
    assert len({c.text for c in out[0]}) > 1  # sampled, not copies


def test_seed_reproducible_per_prompt(tiny_generator: TransformersGenerator) -> None:
    first = sample(tiny_generator, PROMPTS, seed=11)
    again = sample(tiny_generator, PROMPTS, seed=11)
    assert first == again
    # the same prompt gets the same samples wherever it sits in the batch (the cache relies on it)
    alone = sample(tiny_generator, [PROMPTS[1]], seed=11)
    assert_same_samples(alone[0], first[1])
    other = sample(tiny_generator, PROMPTS, seed=12)
    assert other[0] != first[0]


def assert_same_samples(a: list[Completion], b: list[Completion]) -> None:
    """The same texts, token counts and finish reasons; log-probabilities equal up to float rounding
    (padding and batch size change the order of additions in the matmuls: see ``hf``)."""
    assert [(c.text, c.tokens, c.finish_reason) for c in a] == [(c.text, c.tokens, c.finish_reason) for c in b]
    for x, y in zip(a, b, strict=True):
        assert x.token_logprobs is not None and y.token_logprobs is not None
        assert max((abs(p - q) for p, q in zip(x.token_logprobs, y.token_logprobs, strict=True)),
                   default=0.0) < 1e-4


def test_seeded_requests_batch_together_and_stay_reproducible(
    tiny_generator: TransformersGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests with different prompts, n and seeds share forward batches (left-padded, at most
    max_batch = 8 sequences each), and each gets what it gets alone: the contract the cache and the
    eval's per-sample seeds rely on."""
    from prover.generate.batching import Request, SamplingParams

    params = SamplingParams(1.0, 0.95, 16)
    requests = [Request(PROMPTS[0], 2, 5), Request(PROMPTS[1], 3, 11), Request(PROMPTS[0] * 3, 4, 9),
                Request(PROMPTS[1], 3, 12)]
    seen = spy_on_generate(tiny_generator, monkeypatch)
    together = tiny_generator.generate_requests(requests, params)
    assert [kwargs["input_ids"].shape[0] for kwargs, _ in seen] == [8, 4]  # 12 sequences, not 4 calls
    # each chunk repeats prompts: their keys and values were computed once and handed to generate
    assert all(("cache" in kwargs) != ("past_key_values" in kwargs) for kwargs, _ in seen)
    assert [len(cs) for cs in together] == [2, 3, 4, 3]
    for request, completions in zip(requests, together, strict=True):
        [alone] = tiny_generator.generate_requests([request], params)
        assert_same_samples(alone, completions)
    assert [c.text for c in together[1]] != [c.text for c in together[3]]  # another seed, other samples
    # the old signature is the same path: one seed for every prompt
    assert_same_samples(sample(tiny_generator, [PROMPTS[1]], n=3, seed=11, max_tokens=16)[0], together[1])


def test_stop_strings_cut_text_and_tokens(tiny_generator: TransformersGenerator) -> None:
    free = sample(tiny_generator, [PROMPTS[0]], n=1, seed=5, max_tokens=30)[0][0]
    assert len(free.text) > 8
    stop = free.text[len(free.text) // 2 : len(free.text) // 2 + 2]
    cut = free.text[: free.text.find(stop)]
    stopped = sample(tiny_generator, [PROMPTS[0]], n=1, seed=5, max_tokens=30, stop=[stop])[0][0]
    assert stopped.text == cut
    assert stopped.finish_reason == "stop"
    assert stopped.tokens <= free.tokens
    assert stopped.token_logprobs == free.token_logprobs[: stopped.tokens]


def test_greedy_gives_n_copies(tiny_generator: TransformersGenerator) -> None:
    out = sample(tiny_generator, PROMPTS, n=2, seed=None, temperature=0.0, max_tokens=8)
    for completions in out:
        assert completions[0] == completions[1]


def test_unseeded_batches_prompts(tiny_generator: TransformersGenerator) -> None:
    out = sample(tiny_generator, PROMPTS * 3, n=2, seed=None, max_tokens=6)
    assert [len(c) for c in out] == [2] * 6


def test_identity_names_model_and_weights(tiny_generator: TransformersGenerator, tiny_model: Path) -> None:
    identity = tiny_generator.identity()
    assert identity.startswith(f"transformers:{tiny_model}@") and ":cpu:float32" in identity


def test_bad_parameters_and_missing_model(tiny_generator: TransformersGenerator, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="top_p"):
        tiny_generator.generate(PROMPTS, 1, 1.0, 0.0, 4, [], 1)
    with pytest.raises(GenerationError, match="cannot load model"):
        TransformersGenerator(str(tmp_path / "nothing"), device="cpu", threads=1)


def test_make_generator_from_settings(tiny_model: Path, tmp_path: Path) -> None:
    from prover.generate import make_generator
    from prover.generate.base import GenerationConfig
    from prover.generate.cache import CachedGenerator

    config = GenerationConfig(model=str(tiny_model), device="cpu", threads=1, cache_path=str(tmp_path / "c.db"))
    gen = make_generator(config)
    assert isinstance(gen, CachedGenerator) and gen.identity().startswith("transformers:")
    gen.close()
    with pytest.raises(ValueError, match="unknown generation backend"):
        make_generator(GenerationConfig(backend="nope", model="x"))
    with pytest.raises(ValueError, match="no model given"):
        make_generator(GenerationConfig())


def spy_on_generate(gen: TransformersGenerator, monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, Any], Any]]:
    """Every ``model.generate`` call's keyword arguments and result, as the backend makes them."""
    seen: list[tuple[dict[str, Any], Any]] = []
    real = gen.model.generate

    def spy(**kwargs: Any) -> Any:
        out = real(**kwargs)
        seen.append((kwargs, out))
        return out

    monkeypatch.setattr(gen.model, "generate", spy)
    return seen


def test_logprobs_keep_one_float_per_token_not_the_vocabulary(
    tiny_generator: TransformersGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """output_scores/output_logits over a 100k vocabulary × 8k steps would be tens of GB: only the
    chosen tokens' log-probabilities may outlive their step."""
    from prover.generate.hf import ChosenLogprobs

    seen = spy_on_generate(tiny_generator, monkeypatch)
    out = sample(tiny_generator, PROMPTS, n=3, seed=None, max_tokens=20)
    assert seen
    vocab = tiny_generator.model.config.vocab_size
    for kwargs, res in seen:
        assert not kwargs.get("output_logits") and not kwargs.get("output_scores")
        assert getattr(res, "logits", None) is None and getattr(res, "scores", None) is None
        recorder = kwargs["logits_processor"][0]  # then the row sampler
        assert isinstance(recorder, ChosenLogprobs) and recorder.pending is None
        rows = res.sequences.shape[0]
        assert recorder.columns and all(c.shape == (rows,) and c.numel() < vocab for c in recorder.columns)
    assert all(c.token_logprobs is not None and len(c.token_logprobs) == c.tokens for cs in out for c in cs)


def test_recorded_logprobs_are_the_model_distribution(
    tiny_generator: TransformersGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each token's log-probability equals a teacher-forced forward pass over prompt + completion
    (the raw distribution: temperature and top-p do not change it)."""
    import torch

    seen = spy_on_generate(tiny_generator, monkeypatch)
    for temperature in (0.0, 0.7):
        [[c]] = sample(tiny_generator, [PROMPTS[0]], n=1, seed=3, max_tokens=12, temperature=temperature)
        kwargs, res = seen[-1]
        width = kwargs["input_ids"].shape[1]
        ids = res.sequences[0, : width + c.tokens]
        with torch.inference_mode():
            logits = tiny_generator.model(ids.unsqueeze(0)).logits[0].float()
        expected = torch.log_softmax(logits, dim=-1)[width - 1 : -1].gather(1, ids[width:].unsqueeze(1))
        assert c.token_logprobs is not None
        assert torch.allclose(torch.tensor(c.token_logprobs), expected.squeeze(1), atol=1e-4)


def test_a_prompt_longer_than_the_context_is_cut_from_the_left(tiny_generator: TransformersGenerator) -> None:
    """The small model takes 512 positions: a prompt past them (or one that leaves less room than
    max_tokens) keeps its last tokens and the completion fits what is left — never IndexError."""
    from prover.generate.hf import fit_prompt

    context = tiny_generator.context
    assert context == 512
    tok = tiny_generator.tokenizer
    long_prompt = "(* the checker said: *)\n" + PROMPTS[0] * 200
    assert len(tok(long_prompt)["input_ids"]) > 2 * context
    before = tiny_generator.truncated_prompts
    cases = [(long_prompt, 24), (long_prompt, 600), (PROMPTS[0] * 25, 200)]
    for prompt, max_tokens in cases:
        [[c]] = sample(tiny_generator, [prompt], n=1, seed=1, max_tokens=max_tokens)
        room = context - min(len(tok(prompt)["input_ids"]), max(context - max_tokens, context // 2))
        assert 1 <= c.tokens <= min(max_tokens, room)
        assert c.finish_reason in ("stop", "length")
    assert tiny_generator.truncated_prompts - before == len(cases)
    # unseeded batches mix a short and a cut prompt
    out = sample(tiny_generator, [PROMPTS[1], long_prompt], n=2, seed=None, max_tokens=16)
    assert [len(cs) for cs in out] == [2, 2]
    # the rule itself: the last tokens, a leading BOS kept, at least half the context
    ids = list(range(100, 1100))
    assert fit_prompt(ids, 24, 512, None) == ids[-488:]
    assert fit_prompt([7, *ids], 24, 512, 7) == [7, *ids[-487:]]
    assert fit_prompt(ids, 600, 512, None) == ids[-256:]
    assert fit_prompt(ids[:400], 24, 512, None) == ids[:400]
    assert fit_prompt(ids, 24, None, None) == ids


def test_each_row_keeps_the_room_its_own_prompt_leaves(tiny_generator: TransformersGenerator) -> None:
    """A cut prompt (256 tokens left of 512, so 256 of room) beside a short one in one batch: the
    short prompt's samples are not cut to the long one's room, and are what it gets alone."""
    from prover.generate.batching import Request, SamplingParams

    params = SamplingParams(1.0, 1.0, 300)
    long_prompt = PROMPTS[0] * 200
    short, cut = tiny_generator.generate_requests([Request(PROMPTS[1], 2, 4), Request(long_prompt, 2, 4)],
                                                  params)
    assert all(c.tokens <= 256 for c in cut)
    [alone] = tiny_generator.generate_requests([Request(PROMPTS[1], 2, 4)], params)
    assert_same_samples(alone, short)


def test_row_sampler_draws_each_row_from_its_own_stream_within_top_p() -> None:
    """top-p 0.6 over (0.5, 0.3, 0.2) keeps the two most likely tokens; a row's pick depends only on
    its scores and its generator, not on the rows beside it."""
    import torch

    from prover.generate.hf_sampling import RowSampler

    scores = torch.log(torch.tensor([[0.2, 0.5, 0.3]]))

    def picks(top_p: float, rows: int, seed: int = 0) -> list[list[int]]:
        sampler = RowSampler.seeded(torch, [seed + i for i in range(rows)], 200, "cpu", 1.0, top_p)
        out = [sampler(None, scores.repeat(rows, 1)) for _ in range(200)]
        assert all(torch.isinf(o).sum(dim=1).tolist() == [2] * rows for o in out)  # one token left per row
        return [[int(o[i].argmax()) for o in out] for i in range(rows)]

    assert set(picks(0.6, 1)[0]) == {1, 2} and set(picks(1.0, 1)[0]) == {0, 1, 2}
    assert picks(1.0, 3)[0] == picks(1.0, 1)[0]  # row 0 alone and beside two others
