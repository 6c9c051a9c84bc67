"""The completion cache: reproducible requests are served from SQLite on a rerun, others never."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prover.generate.base import Completion
from prover.generate.cache import CachedGenerator, CompletionCache, cache_key, cacheable
from prover.generate.hf import TransformersGenerator
from tests.generate_support import tiny_generator, tiny_model

__all__ = ["tiny_generator", "tiny_model"]


class Counting:
    """A stand-in backend that records what it was asked to generate."""

    def __init__(self, identity: str = "stand-in:v1") -> None:
        self.name = identity
        self.asked: list[list[str]] = []

    def identity(self) -> str:
        return self.name

    def close(self) -> None:
        pass

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_tokens: int,
                 stop: Sequence[str], seed: int | None) -> list[list[Completion]]:
        self.asked.append(list(prompts))
        return [[Completion(f"{p}/{i}/{seed}", 3, -1.5, "stop") for i in range(n)] for p in prompts]


def test_second_call_served_from_cache(tmp_path: Path) -> None:
    inner = Counting()
    gen = CachedGenerator(inner, CompletionCache(tmp_path / "c.sqlite"))
    first = gen.generate(["a", "b"], 2, 0.8, 0.95, 10, ["Qed."], 1)
    again = gen.generate(["b", "a", "c"], 2, 0.8, 0.95, 10, ["Qed."], 1)
    assert inner.asked == [["a", "b"], ["c"]]  # only the new prompt was generated
    assert again[:2] == [first[1], first[0]]
    assert gen.stats.hits == 2 and gen.stats.misses == 3
    gen.close()
    # a rerun in a new process reads the same file
    inner2 = Counting()
    rerun = CachedGenerator(inner2, CompletionCache(tmp_path / "c.sqlite"))
    assert rerun.generate(["a"], 2, 0.8, 0.95, 10, ["Qed."], 1) == [first[0]]
    assert inner2.asked == []


def test_unseeded_sampling_is_never_cached() -> None:
    inner = Counting()
    gen = CachedGenerator(inner, CompletionCache())
    gen.generate(["a"], 2, 0.8, 0.95, 10, [], None)
    gen.generate(["a"], 2, 0.8, 0.95, 10, [], None)
    assert inner.asked == [["a"], ["a"]] and len(gen.cache) == 0
    assert gen.stats.uncacheable == 2
    assert cacheable(0.0, None) and cacheable(0.7, 3) and not cacheable(0.7, None)


def test_key_covers_every_parameter_and_the_backend() -> None:
    base = ("id", "p", 2, 0.8, 0.95, 10, ["Qed."], 1)
    keys = {cache_key(*base)}
    for i, other in enumerate(("id2", "q", 3, 0.9, 0.9, 11, ["x"], 2)):
        changed = list(base)
        changed[i] = other
        keys.add(cache_key(*changed))  # type: ignore[arg-type]
    assert len(keys) == 9
    # greedy ignores top_p and the seed
    assert cache_key("id", "p", 1, 0.0, 0.5, 10, [], 3) == cache_key("id", "p", 1, 0.0, 1.0, 10, [], None)


def test_retrained_model_misses(tmp_path: Path) -> None:
    cache = CompletionCache(tmp_path / "c.sqlite")
    old = Counting("m@v1")
    CachedGenerator(old, cache).generate(["a"], 1, 0.0, 1.0, 5, [], None)
    new = Counting("m@v2")
    CachedGenerator(new, cache).generate(["a"], 1, 0.0, 1.0, 5, [], None)
    assert new.asked == [["a"]]


def test_cache_over_the_small_model(tiny_generator: TransformersGenerator) -> None:
    gen = CachedGenerator(tiny_generator, CompletionCache())
    first = gen.generate(["Lemma x : True.\n"], 2, 1.0, 0.95, 8, [], 4)
    second = gen.generate(["Lemma x : True.\n"], 2, 1.0, 0.95, 8, [], 4)
    assert first == second and gen.stats.hits == 1
    assert second[0][0].token_logprobs is not None  # everything survives the round trip


def test_requests_with_their_own_seeds_miss_only_what_is_new() -> None:
    """Requests of one batch keep their own seeds: hits are served, the misses and the unseeded go
    to the backend together (one call per seed through the plain-``generate`` fallback)."""
    from prover.generate.batching import Request, SamplingParams

    inner = Counting()
    gen = CachedGenerator(inner, CompletionCache())
    params = SamplingParams(0.8, 0.95, 10, ("Qed.",))
    gen.generate_requests([Request("a", 1, 1), Request("a", 1, 2)], params)
    out = gen.generate_requests([Request("a", 1, 2), Request("b", 1, 2), Request("a", 1, 3), Request("c", 1, None),
                                 Request("b", 1, 2)], params)
    assert inner.asked == [["a"], ["a"], ["b"], ["a"], ["c"]]  # a/2 served; b/2 generated once
    assert [cs[0].text for cs in out] == ["a/0/2", "b/0/2", "a/0/3", "c/0/None", "b/0/2"]
    assert gen.stats.hits == 1 and gen.stats.misses == 5 and gen.stats.uncacheable == 1
