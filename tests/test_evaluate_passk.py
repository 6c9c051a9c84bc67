"""The unbiased pass@k estimator on hand-computed cases."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from prover.evaluate.passk import mean_pass_at_k, over_seeds, pass_at_k


def exact(n: int, c: int, k: int) -> float:
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 0, 1, 0.0),  # n = k, nothing correct
        (1, 1, 1, 1.0),  # n = k, all correct
        (5, 1, 5, 1.0),  # n = k: any correct sample is always drawn
        (5, 0, 5, 0.0),
        (5, 0, 1, 0.0),  # c = 0
        (5, 5, 1, 1.0),  # c = n
        (5, 5, 3, 1.0),
        (5, 2, 1, 0.4),  # c / n for k = 1
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (4, 1, 3, 0.75),  # 1 - C(3,3)/C(4,3) = 1 - 1/4
        (10, 3, 4, 5 / 6),  # 1 - C(7,4)/C(10,4) = 1 - 35/210
        (200, 1, 1, 0.005),
    ],
)
def test_hand_computed(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_stable_for_large_n() -> None:
    """The product form agrees with exact rational arithmetic where the binomials are huge."""
    for n, c, k in [(1000, 500, 100), (1024, 3, 512), (5000, 1, 4999), (300, 150, 1)]:
        assert pass_at_k(n, c, k) == pytest.approx(exact(n, c, k), rel=1e-9)


def test_monotone_in_k() -> None:
    values = [pass_at_k(16, 3, k) for k in range(1, 17)]
    assert values == sorted(values) and values[-1] == 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(1, 0, 2), (4, 1, 5), (3, 0, 0), (3, 4, 1), (3, -1, 1)])
def test_refuses_impossible_inputs(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_average_over_problems_and_seeds() -> None:
    assert mean_pass_at_k([(5, 2), (5, 0)], 1) == pytest.approx(0.2)
    assert mean_pass_at_k([(5, 2), (5, 0)], 2) == pytest.approx(0.35)
    assert mean_pass_at_k([], 1) == 0.0
    one = over_seeds([[(1, 1), (1, 0)]], 1)
    assert one.mean == 0.5 and one.std is None
    two = over_seeds([[(1, 1), (1, 0)], [(1, 1), (1, 1)]], 1)
    assert two.mean == pytest.approx(0.75)
    assert two.std == pytest.approx(math.sqrt(0.125))  # sample std of 0.5 and 1.0
    assert two.per_seed == (0.5, 1.0)
    assert str(two) == "0.7500 ± 0.3536"
    with pytest.raises(ValueError):
        over_seeds([], 1)
