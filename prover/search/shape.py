"""Features of a goal's shape (types, operators, hypothesis forms) that decide which tactics to try.

Features are plain strings so that the tactic table (``tactics.py``) can name them as data; a
learned policy may later replace both. They are read from the printed goal, so they are guesses:
a wrong one only costs time, since every tactic is checked by Coq and every proof by the pool.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from prover.itp.goals import Goal

_IDENT = re.compile(r"[A-Za-z_][\w']*")
_LITERAL = re.compile(r"(?<![\w.'])(\d+)(?![\w.'])")  # a number, not part of a name or a decimal
_DECL = re.compile(r"^([A-Za-z_][\w']*(?:\s*,\s*[A-Za-z_][\w']*)*)\s*:\s*(.*)$", re.DOTALL)
_BASE_TYPES = ("R", "Z", "nat", "C", "Q", "N", "positive", "bool")
_LIST_WORDS = {"seq", "map", "fold_right", "fold_left", "list_sum", "filter"}
# `n < 10`, `n <= 7`: a nat variable bounded by a literal (enumerable cases).
_UPPER_BOUND = re.compile(r"(?:^|[(\s])([A-Za-z_][\w']*) <=? \d+(?:$|[)\s])")
# Statement-level hints: a goal without variables still lives in a scope.
_SCOPE_HINTS = {"R_scope": "R", "Z_scope": "Z", "C_scope": "C", "Q_scope": "Q", "nat_scope": "nat"}


@dataclass(frozen=True)
class Hyp:
    name: str
    type: str


@dataclass
class Shape:
    """The features of a goal plus the names tactics templates may refer to."""

    features: set[str] = field(default_factory=set)
    vars_by_type: dict[str, list[str]] = field(default_factory=dict)
    hyps: list[Hyp] = field(default_factory=list)
    fun_defs: list[str] = field(default_factory=list)  # hypotheses `forall x, f x = …` (f not in rhs)
    foralls: list[str] = field(default_factory=list)  # other ∀-hypotheses
    definitions: list[str] = field(default_factory=list)  # the statement's own Definitions


def literals(text: str) -> list[int]:
    """The natural-number literals written in ``text``, in order, repeats included."""
    return [int(m.group(1)) for m in _LITERAL.finditer(text)]


def top_level(text: str, op: str) -> bool:
    """Whether ``op`` occurs in ``text`` outside parentheses and outside a binder's body."""
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(op, i):
            return True
        elif depth == 0 and (text.startswith("forall ", i) or text.startswith("exists ", i)) and i > 0:
            return False  # what follows is under a binder
        i += 1
    return False


def parse_hyps(goal: Goal) -> tuple[list[Hyp], dict[str, list[str]]]:
    hyps: list[Hyp] = []
    by_type: dict[str, list[str]] = {}
    for text in goal.hypotheses:
        match = _DECL.match(text)
        if not match:
            continue
        names = [n.strip() for n in match.group(1).split(",")]
        type_ = match.group(2).strip()
        if ":=" in type_:  # a local definition `x := v : T`
            type_ = type_.split(":")[-1].strip()
        simple = type_.replace("(", "").replace(")", "").strip()
        if simple in _BASE_TYPES or re.fullmatch(r"(?:\w+ -> )+\w+", simple):
            for name in names:
                by_type.setdefault(simple, []).append(name)
        else:
            hyps.extend(Hyp(name, type_) for name in names)
    return hyps, by_type


def _binds_variable(type_: str, variables: set[str]) -> bool:
    """`x = e` or `e = x` with x a variable: something `subst` can eliminate."""
    words = type_.split()
    if re.match(r"^[A-Za-z_][\w']* = ", type_) and words[0] in variables:
        return True
    return bool(re.search(r" = [A-Za-z_][\w']*$", type_)) and words[-1] in variables


def _fun_def(hyp: Hyp, functions: set[str]) -> bool:
    """`forall x y, f x y = rhs` with f not on the right and only variables as arguments: rewriting
    with it always terminates. (`forall x, f (x + 3) = …` is a fact about f to instantiate, not a
    definition.)"""
    match = re.match(
        r"^forall [^,]*, \(?([A-Za-z_][\w']*)(?: [A-Za-z_][\w']*)+\)? = (.*)$", hyp.type, re.DOTALL
    )
    if not match or match.group(1) not in functions:
        return False
    return match.group(1) not in _IDENT.findall(match.group(2))


@dataclass(frozen=True)
class GoalSyntax:
    """How a language writes what ``logic_features`` looks for (Rocq's ``forall``/``/\\``, Lean's
    ``∀``/``∧``), so one reading of connectives, quantifiers and relations serves both."""

    intro: tuple[str, ...]  # a conclusion starting with one of these is introduced
    forall: str
    exists: str
    arrow: str
    connectives: tuple[tuple[str, str], ...]  # (operator, feature suffix): and, or, iff
    neq: str
    eq: re.Pattern[str]  # an equation, not part of <=, >=, <>, …
    ineq: re.Pattern[str]
    ident: re.Pattern[str]
    top_level: Callable[[str, str], bool]


def logic_features(syntax: GoalSyntax, concl: str, hyps: Sequence[Hyp], words: set[str],
                   variables: set[str]) -> set[str]:
    """The features of a goal's logical form: what to introduce, split, destruct or witness, which
    relation the conclusion states, whether it mentions variables at all."""
    f: set[str] = set()
    top = syntax.top_level
    if concl.startswith(syntax.intro) or top(concl, syntax.arrow):
        f.add("intro")
    for op, name in syntax.connectives:
        if top(concl, op):
            f.add(f"concl_{name}")
        if any(top(h.type, op) for h in hyps if not h.type.startswith(syntax.forall)):
            f.add(f"hyp_{name}")
    if concl.startswith(syntax.exists):
        f.add("concl_ex")
    if any(h.type.startswith(syntax.exists) for h in hyps):
        f.add("hyp_ex")
    if syntax.eq.search(concl) and not top(concl, syntax.arrow):
        f.add("concl_eq")
    if top(concl, syntax.neq):
        f.add("concl_neq")
    if syntax.ineq.search(concl):
        f.add("concl_ineq")
    if not words & variables:
        f.add("closed")
    if not set(syntax.ident.findall(concl)) & variables:
        f.add("concl_closed")
    return f


ROCQ_GOAL_SYNTAX = GoalSyntax(
    ("forall ", "~"), "forall", "exists", "->", (("/\\", "and"), ("\\/", "or"), ("<->", "iff")), "<>",
    re.compile(r"(?<![<>])=(?!=)"), re.compile(r"<>|<|>|<=|>="), _IDENT, top_level,
)


def new_shape(hyps: list[Hyp], by_type: dict[str, list[str]], statement_features: frozenset[str],
              definitions: tuple[str, ...]) -> Shape:
    """A goal's shape begun from its sorted hypotheses: the statement's features and one feature per
    variable type (``R``, ``nat``; ``fun`` and ``fun_R`` for a function into R)."""
    shape = Shape(set(statement_features), by_type, hyps, definitions=list(definitions))
    for type_ in by_type:
        if "->" in type_:
            shape.features.update(("fun", f"fun_{type_.split()[-1]}"))
        else:
            shape.features.add(type_)
    return shape


def shape_of(
    goal: Goal, statement_features: frozenset[str] = frozenset(), definitions: tuple[str, ...] = ()
) -> Shape:
    hyps, by_type = parse_hyps(goal)
    shape = new_shape(hyps, by_type, statement_features, definitions)
    f = shape.features
    concl = goal.conclusion
    everything = " ".join([concl, *(h.type for h in hyps)])
    words = set(_IDENT.findall(everything))
    for word, feature in (
        ("sqrt", "sqrt"), ("Rabs", "abs"), ("Z.abs", "abs"), ("Rpower", "transc"), ("ln", "transc"),
        ("exp", "transc"), ("sin", "trig"), ("cos", "trig"), ("tan", "trig"), ("INR", "R"), ("IZR", "R"),
        ("Ci", "C"), ("Re", "C"), ("Im", "C"), ("modulo", "mod"), ("mod", "mod"), ("div", "div_int"),
        ("Z.div", "div_int"), ("sum_f_R0", "sum"), ("fold_left", "sum"), ("fold_right", "sum"),
        ("gcd", "gcd"), ("lcm", "gcd"), ("prime", "prime"), ("Zeven", "parity"), ("Nat.even", "parity"),
        ("Nat.odd", "parity"), ("even", "parity"), ("odd", "parity"), ("fact", "fact"), ("up", "floor"),
        ("Int_part", "floor"), ("floor", "floor"), ("IZR", "IZR"), ("INR", "INR"),
    ):
        if word in words or word in everything:
            f.add(feature)
    if "/" in everything:
        f.add("div")
    if any("/" in h.type for h in hyps):
        f.add("hyp_div")
    if "of_num_uint" in everything:  # a nat literal too big for unary: Coq keeps it symbolic
        f.add("big_nat")
    if words & _LIST_WORDS:
        f.add("list")
    if "list_sum" in words:
        f.add("list_sum")
    if "^" in everything or "pow" in words:
        f.add("pow")
    if "Z.rem" in everything or "Z.modulo" in everything:
        f.add("mod")
    variables = {n for names in by_type.values() for n in names}
    f |= logic_features(ROCQ_GOAL_SYNTAX, concl, hyps, words, variables)
    nat_vars = set(by_type.get("nat", []))
    if any(m.group(1) in nat_vars for h in hyps for m in _UPPER_BOUND.finditer(h.type)):
        f.add("hyp_bound")
    if any(top_level(h.type, "<>") for h in hyps):
        f.add("hyp_neq")
    functions = {n for t, names in by_type.items() if "->" in t for n in names}
    for hyp in hyps:
        if hyp.type.startswith("forall"):
            if _fun_def(hyp, functions):
                shape.fun_defs.append(hyp.name)
            else:
                shape.foralls.append(hyp.name)
        elif _binds_variable(hyp.type, variables):
            f.add("hyp_var_eq")
    add_context_features(shape, definitions)
    return shape


def add_context_features(shape: Shape, definitions: Sequence[str]) -> None:
    """What a goal's context offers once its hypotheses are sorted: definitions of functions,
    other ∀-facts, the statement's own Definitions, or nothing at all."""
    for present, feature in ((shape.fun_defs, "fun_def"), (shape.foralls, "hyp_forall"),
                             (definitions, "definitions"), (not shape.hyps, "no_hyps")):
        if present:
            shape.features.add(feature)


def statement_features(statement: str) -> frozenset[str]:
    found = {feature for hint, feature in _SCOPE_HINTS.items() if f"Open Scope {hint}" in statement}
    if "Coquelicot" in statement:
        found.add("coquelicot")
    return frozenset(found)


def statement_definitions(statement: str) -> tuple[str, ...]:
    return tuple(re.findall(r"^\s*(?:Definition|Fixpoint)\s+([A-Za-z_][\w']*)", statement, re.MULTILINE))
