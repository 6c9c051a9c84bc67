"""The symbolic conjecturer: new Rocq statements made from a proved one by rewriting its text.

The tiny CPU model rarely writes a usable conjecture, so self-play also needs conjectures that cost
nothing to make: perturb a constant, specialise or generalise a variable, drop or add a hypothesis,
weaken the conclusion, conjoin two seeds' conclusions. Many variants are false, trivial or vacuous;
the filter and the prover decide, this module only promises well-formed statement files under the
seed's header with a fresh theorem name. It works on the statement's structure as
``prover.itp.rocq.statement`` read it once (binder groups, a leading ``forall``, top-level ``->``
premises, the conclusion), which fits the arithmetic statements of rocq-demo and miniF2F; a
statement it cannot read yields fewer (or no) variants.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from prover.itp.rocq.statement import (
    BINDERS,
    IDENT,
    NUMERIC,
    RELATIONS,
    TOKEN,
    Group,
    RocqStatement,
    Shape,
    flat,
    read,
    top,
)
from prover.selfplay.filter import conjecture_file, declares_refusal, normal_form

KINDS = ("constant", "specialise", "generalise", "drop_hypothesis", "add_hypothesis", "weaken_conclusion",
         "compose")
_SMALL_VALUES = {"nat": (0, 1, 2, 3), "N": (0, 1, 2, 3), "Z": (-1, 0, 1, 2), "R": (-1, 0, 1, 2)}
_CONNECTIVES = frozenset({"\\/", "<->", "->", ","})
_LITERAL = re.compile(r"(?<![\w'.#])\d+(?![\w'#]|\.\d)")


@dataclass(frozen=True)
class Mutation:
    statement: str  # a whole statement file: the seed's header, the new theorem, a placeholder proof
    kind: str  # one of KINDS
    name: str  # the new theorem's name
    parsed: RocqStatement = field(repr=False, compare=False)  # ``statement`` read, once


def _literal(value: int, type_: str, scope: str) -> str:
    text = f"({value})" if value < 0 else str(value)
    return text if type_ == scope else f"{text}%{type_}"


def _typed(prop: str, type_: str, scope: str) -> str:
    return prop if type_ == scope else f"({prop})%{type_}"


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w'.]){re.escape(name)}(?![\w'])")


def _fresh(shape: Shape, stem: str) -> str:
    """``stem``, or ``stem`` with the first number that makes it a name the statement does not use."""
    used = set(IDENT.findall(shape.declaration("_")))
    candidates = itertools.chain([stem], (f"{stem}{i}" for i in itertools.count()))
    return next(n for n in candidates if n not in used)


# -- the mutations -----------------------------------------------------------------------------------


def _constant(shape: Shape) -> list[Shape]:
    found = []
    for key, text in shape.slots():
        for match in _LITERAL.finditer(text):
            value = int(match.group())
            nearby = [value + 1, value - 1, 2 * value if 2 <= value <= 10_000 else value, value + 2]
            for new in dict.fromkeys(v for v in nearby if v >= 0 and v != value):
                found.append(shape.with_slot(key, text[: match.start()] + str(new) + text[match.end() :]))
    return found


def _bound_once(shape: Shape, name: str) -> bool:
    """Whether ``name`` is bound exactly once (substituting it cannot hit another binding)."""
    binding = re.compile(rf"\b(?:{'|'.join(BINDERS)})\b[^,]*(?<![\w'.]){re.escape(name)}(?![\w'])")
    groups = sum(name in g.names for g in (*shape.binders, *shape.foralls))
    inner = [*shape.premises, shape.conclusion, *(g.type or "" for g in (*shape.binders, *shape.foralls))]
    return groups == 1 and not any(binding.search(text) for text in inner)


def _substitute(shape: Shape, name: str, value: str) -> Shape:
    word = _word(name)

    def sub(text: str) -> str:
        return word.sub(value, text)

    def groups(gs: tuple[Group, ...]) -> tuple[Group, ...]:
        kept = (replace(g, names=tuple(n for n in g.names if n != name)) for g in gs)
        return tuple(replace(g, type=None if g.type is None else sub(g.type)) for g in kept if g.names)

    return replace(
        shape,
        binders=groups(shape.binders),
        foralls=groups(shape.foralls),
        premises=tuple(sub(p) for p in shape.premises),
        conclusion=sub(shape.conclusion),
    )


def _specialise(shape: Shape) -> list[Shape]:
    found = []
    for name, type_, _ in shape.variables():
        if _bound_once(shape, name):
            for value in _SMALL_VALUES[type_]:
                found.append(_substitute(shape, name, _literal(value, type_, shape.scope)))
    return found


def _generalise(shape: Shape) -> list[Shape]:
    """A literal ``c`` on one side of the conclusion's inequality becomes a variable ``k`` bounded
    by ``c`` in the direction that keeps the statement true when the side grows with ``c``."""
    relations = top(shape.conclusion, RELATIONS)
    if len(relations) != 1 or relations[0].group() in ("=", "<>") or top(shape.conclusion, _CONNECTIVES):
        return []
    relation = relations[0]
    mentioned = [t for n, t, _ in shape.variables() if _word(n).search(shape.conclusion)]
    type_ = mentioned[0] if mentioned else shape.scope
    if type_ not in NUMERIC:
        return []
    k, hk = _fresh(shape, "k"), _fresh(shape, "hk")
    found = []
    for match in _LITERAL.finditer(shape.conclusion):
        on_left = match.start() < relation.start()
        small = on_left == (relation.group() in ("<", "<="))
        c = match.group()
        if (small and c == "0") or shape.conclusion[: match.start()].rstrip().endswith("^"):
            continue  # `x ^ 2`: the exponent is a nat whatever the base is
        bound = f"{k} <= {c}" if small else f"{c} <= {k}"
        text = shape.conclusion[: match.start()] + k + shape.conclusion[match.end() :]
        extra = (Group((k,), type_), Group((hk,), _typed(bound, type_, shape.scope)))
        found.append(replace(shape, binders=(*shape.binders, *extra), conclusion=text))
    return found


def _drop_hypothesis(shape: Shape) -> list[Shape]:
    b, p = shape.binders, shape.premises
    found = [replace(shape, binders=b[:i] + b[i + 1 :]) for i, g in enumerate(b) if g.hypothesis]
    return found + [replace(shape, premises=p[:i] + p[i + 1 :]) for i in range(len(p))]


def _add_hypothesis(shape: Shape) -> list[Shape]:
    found = []
    have = {flat(text) for _, text in shape.slots()}
    name = _fresh(shape, "hc")
    for var, type_, in_binders in shape.variables():
        for template in ("0 < {}", "1 < {}"):
            prop = _typed(template.format(var), type_, shape.scope)
            if prop in have or template.format(var) in have:
                continue
            if in_binders:
                found.append(replace(shape, binders=(*shape.binders, Group((name,), prop))))
            else:
                found.append(replace(shape, premises=(prop, *shape.premises)))
    return found


def _weaken_conclusion(shape: Shape) -> list[Shape]:
    conclusion = shape.conclusion
    if top(conclusion, _CONNECTIVES) or conclusion.split(" ", 1)[0] in BINDERS:
        return []
    found = []
    conjuncts = top(conclusion, {"/\\"})
    if conjuncts:
        cuts = [0, *(m.start() for m in conjuncts), len(conclusion)]
        starts = [0, *(m.end() for m in conjuncts)]
        for start, end in zip(starts, cuts[1:], strict=True):
            found.append(replace(shape, conclusion=conclusion[start:end].strip()))
    if {"true", "false"} & set(TOKEN.findall(conclusion)):
        return found  # an equation between booleans has no order
    # An equation becomes an inequality only between numbers of one known type, under its scope.
    types = {_result_type(t) for n, t, _ in shape.names() if _word(n).search(conclusion)}
    weaker = {"<": ("<=",), ">": (">=",), "=": ("<=", ">=") if None not in types and len(types) < 2 else ()}
    for match in top(conclusion, RELATIONS):
        for new in weaker.get(match.group(), ()):
            text = f"{conclusion[: match.start()]}{new}{conclusion[match.end() :]}"
            if match.group() == "=" and types and shape.scope not in types:
                text = f"({text})%{next(iter(types))}"
            found.append(replace(shape, conclusion=text))
    return found


def _result_type(type_: str | None) -> str | None:
    """``T`` for a number type ``T`` or a function into it, else None."""
    result = (type_ or "").rsplit("->", 1)[-1].strip()
    return result if result in NUMERIC else None


def _compose(shape: Shape, partner: Shape | None) -> list[Shape]:
    if partner is None or partner.conclusion == shape.conclusion:
        return []
    if (shape.binders, shape.foralls, shape.premises) != (partner.binders, partner.foralls, partner.premises):
        return []
    return [replace(shape, conclusion=f"({shape.conclusion}) /\\ ({partner.conclusion})")]


_MUTATORS: dict[str, Callable[[Shape], list[Shape]]] = {
    "constant": _constant,
    "specialise": _specialise,
    "generalise": _generalise,
    "drop_hypothesis": _drop_hypothesis,
    "add_hypothesis": _add_hypothesis,
    "weaken_conclusion": _weaken_conclusion,
}


def mutate(
    statement: str | RocqStatement,
    rng: random.Random,
    limit: int = 8,
    partner: str | RocqStatement | None = None,
    kinds: Sequence[str] = KINDS,
) -> list[Mutation]:
    """Up to ``limit`` variants of a proved Rocq ``statement``, drawn round-robin over the kinds
    (in an order ``rng`` picks) so that every applicable kind contributes; the same ``rng`` state
    gives the same variants. ``partner``: a second seed for ``compose`` (used when it has the same
    header, binders and premises). Each variant's text is read once, here, and carried in
    ``Mutation.parsed``. Raises ``ValueError`` when ``statement`` states no theorem or a kind is
    unknown."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown mutation kind {unknown[0]!r}; choose from {', '.join(KINDS)}")
    seed = _theorem(statement)
    if seed.shape is None or limit <= 0:
        return []
    assert seed.name is not None
    shape = seed.shape
    other = None if partner is None else _theorem(partner)
    if other is not None and declares_refusal(seed, other) is not None:
        other = None  # not under the same header
    pools = {k: _compose(shape, other.shape if other else None) if k == "compose" else _MUTATORS[k](shape)
             for k in kinds}
    order = [k for k in kinds if pools[k]]
    rng.shuffle(order)
    for kind in order:
        rng.shuffle(pools[kind])
    forms = {normal_form(seed)}
    found: list[Mutation] = []
    while len(found) < limit and any(pools[k] for k in order):
        for kind in order:
            if not pools[kind] or len(found) >= limit:
                continue
            fresh = f"{seed.name}_c{len(found) + 1}"
            made = read(conjecture_file(seed, pools[kind].pop().declaration(fresh)))
            # The variant is checked as the file it is, not as the shape it came from: a rendering
            # that does not read back as one plain theorem under the seed's header is no variant.
            if declares_refusal(made, seed) is not None or made.shape is None:
                continue
            form = normal_form(made)
            if form not in forms:
                forms.add(form)
                found.append(Mutation(made.text, kind, fresh, made))
    return found


def _theorem(statement: str | RocqStatement) -> RocqStatement:
    """``statement`` read (when it is still text); raises ``ValueError`` when it states no theorem."""
    parsed = read(statement) if isinstance(statement, str) else statement
    if parsed.target is None:
        raise ValueError("the statement states no Theorem/Lemma")
    return parsed
