"""Features of a Lean goal as the REPL prints it, in the vocabulary of ``shape.py``.

Lean prints ``x y : ℝ``, ``h₀ : 0 < x``, ``⊢ ∀ (n : ℕ), n + 0 = n``; the tactic tables name features
such as ``R``, ``nat``, ``concl_eq``, ``intro``. This reader turns the first into the second, so the
Lean table (``lean_tactics.py``) and any learned policy see the same kind of ``Shape`` as on Rocq.
Like Rocq's reader it only guesses from text: a wrong feature costs a tactic's time, never a wrong
proof, since Lean runs every tactic and the verifier pool certifies every proof.
"""

from __future__ import annotations

import re

from prover.itp.goals import Goal
from prover.itp.lean.statement import outside_brackets
from prover.search.lean_tactics import SQUARE_HINTS, square_hints
from prover.search.shape import GoalSyntax, Hyp, Shape, add_context_features, logic_features, new_shape
from prover.search.tactics import Rule

# Lean's number types (as printed, and by their names) -> the shared feature names.
_TYPES = {
    "ℝ": "R", "Real": "R", "ℕ": "nat", "Nat": "nat", "ℤ": "Z", "Int": "Z", "ℚ": "Q", "Rat": "Q",
    "ℂ": "C", "Complex": "C", "Prop": "prop", "Bool": "bool",
}  # fmt: skip
# Square hints are made over the variables of the first of these kinds the goal has.
_HINT_KINDS = ("R", "Q", "Z", "nat")
# `x y : ℝ`, `h₀ : 0 < x`, `inst✝ : Fact p`: names separated by spaces, then ` : `.
_DECL = re.compile(r"^((?:[^\s:()]+ )*[^\s:()]+) : (.*)$", re.DOTALL)
# Identifiers with Lean's subscripts, primes and hygiene marks (`x₁`, `h'`, `n✝`), dotted names whole.
_WORD = re.compile(r"[\w'✝]+(?:\.[\w'✝]+)*")
_BINDERS = ("∀", "∃", "fun ", "λ")
# Names (or symbols) in the goal -> the feature they suggest.
_WORD_FEATURES = {
    "Real.sqrt": "sqrt", "√": "sqrt", "abs": "abs", "|": "abs", "Real.log": "transc", "Real.exp": "transc",
    "rexp": "transc", "Real.logb": "transc", "Real.rpow": "transc", "Real.sin": "trig", "Real.cos": "trig",
    "Real.tan": "trig", "Real.pi": "trig", "π": "trig", "%": "mod", "Nat.ModEq": "mod", "≡": "mod",
    "Int.emod": "mod", "Nat.gcd": "gcd", "Nat.lcm": "gcd", "Int.gcd": "gcd", "gcd": "gcd", "lcm": "gcd",
    "Nat.Prime": "prime", "Prime": "prime", "Even": "parity", "Odd": "parity", "Nat.factorial": "fact",
    "!": "fact", "⌊": "floor", "⌈": "floor", "Int.floor": "floor", "Int.ceil": "floor", "∑": "sum",
    "∏": "sum", "Finset.sum": "sum", "Finset.prod": "sum", "Complex.I": "C", "Complex.abs": "C",
}  # fmt: skip


def lean_top_level(text: str, op: str) -> bool:
    """Whether ``op`` occurs in ``text`` outside brackets and outside a binder's body."""
    for i in outside_brackets(text):
        if text.startswith(op, i):
            return True
        if i > 0 and text.startswith(_BINDERS, i):
            return False  # what follows is under the binder
    return False


LEAN_GOAL_SYNTAX = GoalSyntax(("∀", "¬"), "∀", "∃", "→", (("∧", "and"), ("∨", "or"), ("↔", "iff")), "≠",
                     re.compile(r"(?<![<>≤≥≠:])=(?![=>])"), re.compile(r"[<>≤≥≠]"), _WORD, lean_top_level)


def _kind(type_: str) -> str | None:
    """The shared name of a variable's type: ``R`` for ``ℝ``, ``nat -> nat`` for ``ℕ → ℕ``; None
    for anything else (the declaration is then a hypothesis)."""
    parts = [p.strip() for p in type_.strip("() ").split("→")]
    kinds = [_TYPES.get(p) for p in parts]
    if any(k is None for k in kinds):
        return None
    return " -> ".join(k for k in kinds if k is not None)


def parse_lean_hyps(goal: Goal) -> tuple[list[Hyp], dict[str, list[str]]]:
    """Hypotheses and variables by kind; a ``case tag`` line is neither."""
    hyps: list[Hyp] = []
    by_type: dict[str, list[str]] = {}
    for text in goal.hypotheses:
        match = _DECL.match(text)
        if not match:
            continue
        names = match.group(1).split()
        type_ = match.group(2).split(" := ")[0].strip()  # a let-bound `x : ℕ := 5` has type ℕ
        kind = _kind(type_)
        if kind is not None:
            for name in names:
                by_type.setdefault(kind, []).append(name)
        else:
            hyps.extend(Hyp(name, type_) for name in names)
    return hyps, by_type


def _binds_variable(type_: str, variables: set[str]) -> bool:
    """`x = e` or `e = x` with x a variable: something `subst` can eliminate."""
    sides = [s.strip() for s in type_.split(" = ")]
    return len(sides) == 2 and any(s in variables for s in sides)


def lean_shape_of(
    goal: Goal, statement_features: frozenset[str] = frozenset(), definitions: tuple[str, ...] = ()
) -> Shape:
    hyps, by_type = parse_lean_hyps(goal)
    shape = new_shape(hyps, by_type, statement_features, definitions)
    f = shape.features
    concl = goal.conclusion
    everything = " ".join([concl, *(h.type for h in hyps)])
    words = set(_WORD.findall(everything))
    for symbol, kind in _TYPES.items():
        # `(2 : ℝ) ^ 2 = 4` has no variable, `∀ (a : ℝ), …` binds its own; `Nat` alone is not a hint
        if len(symbol) == 1 and symbol in everything:
            f.add(kind)
    for name, feature in _WORD_FEATURES.items():
        if name in words or (not name[0].isalpha() and name in everything):
            f.add(feature)
    if "/" in everything:
        f.add("div")
    if any("/" in h.type for h in hyps):
        f.add("hyp_div")
    if "^" in everything:
        f.add("pow")
    variables = {n for names in by_type.values() for n in names}
    f |= logic_features(LEAN_GOAL_SYNTAX, concl, hyps, words, variables)
    if any(lean_top_level(h.type, "≠") for h in hyps):
        f.add("hyp_neq")
    for hyp in hyps:
        if hyp.type.startswith("∀"):
            shape.foralls.append(hyp.name)
        elif _binds_variable(hyp.type, variables):
            f.add("hyp_var_eq")
    add_context_features(shape, definitions)
    return shape


def lean_statement_features(statement: str) -> frozenset[str]:
    """Nothing yet: a Lean goal prints its types (``ℝ``), where a Rocq goal may lean on a scope."""
    return frozenset()


def lean_statement_definitions(statement: str) -> tuple[str, ...]:
    """None: no Lean row unfolds the statement's definitions (Rocq's ``{defs}`` rows do)."""
    return ()


def lean_arguments(shape: Shape, goal: Goal) -> list[tuple[Rule, str]]:
    """Tactics with arguments from the goal's terms: ``nlinarith`` with squares of the variables."""
    if not SQUARE_HINTS.applies(shape.features):
        return []
    kind = next((k for k in _HINT_KINDS if shape.vars_by_type.get(k)), None)
    return [] if kind is None else square_hints(shape.vars_by_type[kind])
