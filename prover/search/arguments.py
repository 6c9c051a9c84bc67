"""Tactics that carry arguments made from the goal's own terms: what a fixed table cannot write.

Most miniF2F inequalities that ``nra`` misses need a hint (``pose proof (pow2_ge_0 (a - b))``, that
is 0 <= (a - b)^2), most existence goals need a witness, and facts about a function need
instantiating at the terms the goal mentions. These candidates are generated per goal and ranked
with the table's rows, by the table's priorities (``--engine portfolio``) or by a learned policy
(``--engine step``).

Every candidate is only a guess: Coq runs it, and the pool certifies any proof it ends in.
"""

from __future__ import annotations

import itertools
import re

from prover.itp.goals import Goal
from prover.search.arithmetic import ARITHMETIC_PRIORITY, arithmetic_candidates
from prover.search.shape import Shape, literals, top_level
from prover.search.tactics import Rule

# `f 84`, `f (n + 5)`: the arguments a function is applied to in the goal.
_APPLIED = re.compile(r"(?<![\w'.])([A-Za-z_][\w']*) (\d+|\([^()]*\)|[A-Za-z_][\w']*)")
_WITNESSES = (0, 1, 2, 3, -1, 4, 5, 6, 7, 8, 9, 10, -2, 12)
_MAX_VARS = 4
_MAX_CONSTANTS = 3
# Each rule's base priority (a candidate's position among its kind adds 0.05); one table that
# tools reading stored candidates (bench/ranker_folds.py) share with the search.
PRIORITY = {"hint_sq": 2.0, "hint_sq_all": 1.9, "witness": 3.0, "witness_var": 3.2, "instance": 2.3,
            "rewrite_hyp": 1.8, "rewrite_hyp_back": 1.9, **ARITHMETIC_PRIORITY}


def _numbers(text: str) -> list[int]:
    """The distinct literals of ``text`` up to 1000, first occurrence first."""
    return list(dict.fromkeys(v for v in literals(text) if v <= 1000))


def _square_hints(shape: Shape, goal: Goal) -> list[Rule]:
    """``nra``/``nia`` with squares of differences and sums of variables, or of a variable minus a
    constant of the goal, added as hypotheses (the sum-of-squares certificate they need)."""
    if "R" in shape.features:
        kind, square, closer = "R", "pow2_ge_0", "nra"
    elif "Z" in shape.features and "nat" not in shape.features:
        kind, square, closer = "Z", "Z.square_nonneg", "nia"
    else:
        return []
    if "concl_ineq" not in shape.features and "concl_eq" not in shape.features:
        return []
    names = shape.vars_by_type.get(kind, [])[:_MAX_VARS]
    if not names:
        return []
    terms: list[str] = []
    for x, y in itertools.combinations(names, 2):
        terms += [f"{x} - {y}", f"{x} + {y}"]
    constants = [c for c in _numbers(goal.conclusion) if c > 0][:_MAX_CONSTANTS] or [1]
    for x in names:
        terms += [f"{x} - {c}" for c in constants]
        terms.append(f"{x} * {x} - 1" if kind == "R" else f"{x} * {x} - {x}")
    rules: list[Rule] = []
    for i, term in enumerate(terms):
        rules.append(Rule("hint_sq", "close", f"pose proof ({square} ({term})); {closer}.",
                          PRIORITY["hint_sq"] + 0.05 * i, timeout_s=6))
    differences = [t for t in terms if " - " in t and "*" not in t][:6]
    if len(differences) > 1:
        poses = " ".join(f"pose proof ({square} ({t}));" for t in differences)
        rules.append(Rule("hint_sq_all", "close", f"{poses} {closer}.", PRIORITY["hint_sq_all"], timeout_s=8))
    return rules


def _witnesses(shape: Shape, goal: Goal) -> list[Rule]:
    if "concl_ex" not in shape.features:
        return []
    values = list(_WITNESSES)
    for value in _numbers(goal.conclusion) + [v for h in shape.hyps for v in _numbers(h.type)]:
        if value not in values:
            values.append(value)
    if "nat" in shape.features and "Z" not in shape.features and "R" not in shape.features:
        values = [v for v in values if v >= 0]
    rules = []
    for i, value in enumerate(values[:20]):
        text = f"({value})" if value < 0 else str(value)
        if value in (0, 1):
            continue  # the table's exists_0 / exists_1
        rules.append(Rule("witness", "pre", f"exists {text}.", PRIORITY["witness"] + 0.05 * i, timeout_s=2))
    # Witnesses built from the variables: `exists (n + 1)` for "some m > n".
    names = [v for kind in ("nat", "Z", "R") for v in shape.vars_by_type.get(kind, [])][:3]
    for i, term in enumerate(t for v in names for t in (v, f"({v} + 1)", f"(2 * {v})")):
        rules.append(Rule("witness_var", "pre", f"exists {term}.", PRIORITY["witness_var"] + 0.05 * i,
                          timeout_s=2))
    return rules


def _instances(shape: Shape, goal: Goal) -> list[Rule]:
    """∀-hypotheses instantiated at the arguments the goal applies functions to, and at its
    constants (``h 84`` for a goal about ``f 84``)."""
    if not shape.foralls:
        return []
    functions = {n for t, names in shape.vars_by_type.items() if "->" in t for n in names}
    arguments: list[str] = []
    for match in _APPLIED.finditer(goal.conclusion):
        if match.group(1) in functions and match.group(2) not in arguments:
            arguments.append(match.group(2))
    for value in _numbers(goal.conclusion):
        if str(value) not in arguments:
            arguments.append(str(value))
    rules = []
    for h in shape.foralls[:3]:
        for i, argument in enumerate(arguments[:6]):
            rules.append(Rule("instance", "pre", f"pose proof ({h} {argument}).",
                              PRIORITY["instance"] + 0.05 * i, timeout_s=2))
    return rules


def _rewrites(shape: Shape) -> list[Rule]:
    """Rewriting with equation hypotheses, both ways (what ``subst`` cannot: neither side a
    variable)."""
    rules = []
    for hyp in shape.hyps:
        if hyp.type.startswith(("forall", "exists")) or not top_level(hyp.type, " = "):
            continue
        rules.append(Rule("rewrite_hyp", "pre", f"rewrite {hyp.name} in *.", PRIORITY["rewrite_hyp"],
                          timeout_s=2))
        rules.append(Rule("rewrite_hyp_back", "pre", f"rewrite <- {hyp.name} in *.",
                          PRIORITY["rewrite_hyp_back"], timeout_s=2))
    return rules[:8]


def argument_candidates(shape: Shape, goal: Goal) -> list[tuple[Rule, str]]:
    """(rule, tactic) pairs for ``goal``; each rule is made for this goal and its tactic is final."""
    rules = [*_square_hints(shape, goal), *_witnesses(shape, goal), *_instances(shape, goal),
             *_rewrites(shape), *arithmetic_candidates(shape, goal)]
    return [(rule, rule.tactic) for rule in rules]
