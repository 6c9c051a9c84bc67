"""The unbiased pass@k estimator (Chen et al. 2021, "Evaluating Large Language Models Trained on
Code"): from n samples of which c are correct, pass@k = 1 - C(n-c, k) / C(n, k), computed as the
product  1 - prod_{i=n-c+1}^{n} (1 - k/i),  which never forms the huge binomials."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def pass_at_k(n: int, c: int, k: int) -> float:
    """The probability that at least one of k samples drawn without replacement from n (c correct)
    is correct. Raises ``ValueError`` unless 0 <= c <= n and 1 <= k <= n."""
    if k < 1:
        raise ValueError(f"k must be at least 1 (got {k})")
    if n < k:
        raise ValueError(f"pass@{k} needs at least k samples per problem (got n={n})")
    if not 0 <= c <= n:
        raise ValueError(f"the number of correct samples must be between 0 and n={n} (got {c})")
    if n - c < k:  # every draw of k includes a correct sample
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """The average of pass@k over problems, each given as (n, c). 0.0 for no problems."""
    values = [pass_at_k(n, c, k) for n, c in counts]
    return math.fsum(values) / len(values) if values else 0.0


@dataclass(frozen=True)
class PassAtK:
    """pass@k averaged over problems: the mean over seeds and, with two or more seeds, the sample
    standard deviation across seeds (None with one seed)."""

    k: int
    mean: float
    std: float | None
    per_seed: tuple[float, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "k": self.k,
            "mean": round(self.mean, 6),
            "std": None if self.std is None else round(self.std, 6),
            "per_seed": [round(v, 6) for v in self.per_seed],
        }

    def __str__(self) -> str:
        return f"{self.mean:.4f}" if self.std is None else f"{self.mean:.4f} ± {self.std:.4f}"


def over_seeds(per_seed_counts: Sequence[Sequence[tuple[int, int]]], k: int) -> PassAtK:
    """pass@k for each seed's run (a list of (n, c) per problem), then mean ± std over seeds."""
    if not per_seed_counts:
        raise ValueError("no runs to average")
    values = tuple(mean_pass_at_k(counts, k) for counts in per_seed_counts)
    mean = math.fsum(values) / len(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return PassAtK(k, mean, std, values)
