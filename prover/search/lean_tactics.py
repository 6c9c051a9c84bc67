"""The Lean tactic table: Mathlib's automation as rows of the same ``Rule`` data as Rocq's table.

The rows name goal features with the vocabulary of ``shape.py`` (``R``, ``nat``, ``Z``,
``concl_eq``, ``concl_ineq``, ``concl_and``, ``intro``, ``div`` …), so that a reader of Lean's
printed goals (``ℝ``, ``ℕ``, ``∀``, ``∧``, ``≤``) that emits the same names serves this table
unchanged. Every tactic is only a guess: Lean runs it, and the verifier pool certifies any proof
it ends in.

Not here: ``polyrith``. It sends the goal to an outside service (Sage's web API) while elaborating,
which a sandbox without network cannot reach and a checker must not depend on; the Lean guard
refuses it (``code execution``), so a row for it could never run.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from prover.search.tactics import Rule

LEAN_TABLE: tuple[Rule, ...] = (
    # -- preprocessing ----------------------------------------------------------------------------
    Rule("intros", "norm", "intros", 0, when=("intro",), timeout_s=2),
    Rule("constructor", "pre", "constructor", 0.5, any_of=("concl_and", "concl_iff"), timeout_s=2),
    Rule("norm_num_at", "pre", "norm_num at *", 1.0, timeout_s=4),
    Rule("field_simp", "pre", "field_simp", 1.2, when=("div",), timeout_s=4),
    Rule("ring_nf", "pre", "ring_nf", 1.4, any_of=("concl_eq", "concl_ineq"), timeout_s=3),
    Rule("simp_at", "pre", "simp at *", 1.5, timeout_s=4),
    # -- closers ----------------------------------------------------------------------------------
    Rule("rfl", "close", "rfl", 0.1, when=("concl_eq",), timeout_s=2),
    Rule("norm_num", "close", "norm_num", 0.2, timeout_s=3),
    # omega decides linear arithmetic over ℕ and ℤ only.
    Rule("omega", "close", "omega", 0.3, unless=("R", "Q", "C"), timeout_s=3),
    Rule("positivity", "close", "positivity", 0.35, when=("concl_ineq",), timeout_s=2),
    Rule("linarith", "close", "linarith", 0.4, unless=("C",), timeout_s=3),
    Rule("ring", "close", "ring", 0.45, when=("concl_eq",), timeout_s=3),
    Rule("simp", "close", "simp", 0.5, timeout_s=3),
    # decide evaluates in the kernel: only closed goals, never real numbers (not decidable).
    Rule("decide", "close", "decide", 0.6, when=("closed",), unless=("R", "C"), timeout_s=3),
    Rule(
        "nlinarith", "close", "nlinarith", 1.0, any_of=("concl_ineq", "concl_eq"), unless=("C",), timeout_s=6
    ),
    Rule("aesop", "close", "aesop", 2.0, timeout_s=5),
)

# nlinarith with squares as hints (the sum-of-squares certificate it would not find alone); the
# hints name the goal's variables, so the tactics are made per goal, as ``arguments.py`` does.
SQUARE_HINTS = Rule(
    "nlinarith_squares",
    "close",
    "nlinarith [{hints}]",
    1.2,
    any_of=("concl_ineq", "concl_eq"),
    unless=("C",),
    timeout_s=8,
)
_MAX_VARS = 4


def square_hints(variables: Sequence[str]) -> list[tuple[Rule, str]]:
    """``nlinarith [sq_nonneg (x - y), sq_nonneg (x + y), …]`` over the first few variables: one
    tactic with every pair, and, for a single variable, its square and its distance to ±1."""
    names = list(dict.fromkeys(variables))[:_MAX_VARS]
    if not names:
        return []
    if len(names) == 1:
        terms = [names[0], f"{names[0]} - 1", f"{names[0]} + 1"]
    else:
        pairs = list(itertools.combinations(names, 2))
        terms = [f"{x} - {y}" for x, y in pairs] + [f"{x} + {y}" for x, y in pairs]
    hints = ", ".join(f"sq_nonneg ({t})" for t in terms)
    return [(SQUARE_HINTS, SQUARE_HINTS.tactic.replace("{hints}", hints))]
