"""The symbolic conjecturer: new Rocq statements made from a proved one by rewriting its text.

The tiny CPU model rarely writes a usable conjecture, so self-play also needs conjectures that cost
nothing to make: perturb a constant, specialise or generalise a variable, drop or add a hypothesis,
weaken the conclusion, conjoin two seeds' conclusions. Many variants are false, trivial or vacuous;
the filter and the prover decide, this module only promises well-formed statement files under the
seed's header with a fresh theorem name. It reads a statement's structure from its text (binder
groups, a leading ``forall``, top-level ``->`` premises, the conclusion), which fits the arithmetic
statements of rocq-demo and miniF2F; a statement it cannot read yields fewer (or no) variants.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from prover.itp.guard import mask_comments
from prover.itp.rocq.text import ROCQ_SYNTAX, split_sentences, theorem_of
from prover.selfplay.filter import TOKEN, conjecture_file, declares_refusal, normalise

KINDS = ("constant", "specialise", "generalise", "drop_hypothesis", "add_hypothesis", "weaken_conclusion",
         "compose")
_NUMERIC = ("nat", "Z", "R", "N")
_SMALL_VALUES = {"nat": (0, 1, 2, 3), "N": (0, 1, 2, 3), "Z": (-1, 0, 1, 2), "R": (-1, 0, 1, 2)}
_SCOPES = {f"{t}_scope": t for t in _NUMERIC} | {t: t for t in _NUMERIC}
_RELATIONS = frozenset({"<", "<=", ">", ">=", "=", "<>"})
_PROP_TOKENS = _RELATIONS | {"/\\", "\\/", "~", "<->", "|", "True", "False"}
_CONNECTIVES = frozenset({"\\/", "<->", "->", ","})
_BINDERS = ("forall", "exists", "exists2", "fun", "let")
_LITERAL = re.compile(r"(?<![\w'.#])\d+(?![\w'#]|\.\d)")
_IDENT = re.compile(r"[^\W\d][\w']*")
_OPEN_SCOPE = re.compile(r"\bOpen\s+Scope\s+(\w+)")


@dataclass(frozen=True)
class Mutation:
    statement: str  # a whole statement file: the seed's header, the new theorem, a placeholder proof
    kind: str  # one of KINDS
    name: str  # the new theorem's name


@dataclass(frozen=True)
class _Group:
    """One binder group: ``(a b : T)``, or bare names when untyped."""

    names: tuple[str, ...]
    type: str | None
    bracket: str = "("

    def render(self) -> str:
        if self.type is None:
            return " ".join(self.names)
        close = {"(": ")", "{": "}", "[": "]"}[self.bracket]
        return f"{self.bracket}{' '.join(self.names)} : {self.type}{close}"

    @property
    def hypothesis(self) -> bool:
        return self.type is not None and bool(_PROP_TOKENS & set(TOKEN.findall(self.type)))


@dataclass(frozen=True)
class _Shape:
    """``Theorem name binders : forall foralls, premise -> … -> conclusion.``"""

    binders: tuple[_Group, ...]
    foralls: tuple[_Group, ...]
    premises: tuple[str, ...]
    conclusion: str
    scope: str  # the number type a bare literal denotes under the header's open scopes

    def declaration(self, name: str) -> str:
        body = " -> ".join([*self.premises, self.conclusion])
        if self.foralls:
            body = f"forall {' '.join(g.render() for g in self.foralls)}, {body}"
        binders = "".join(" " + g.render() for g in self.binders)
        return f"Theorem {name}{binders} :\n  {body}."

    def names(self) -> list[tuple[str, str | None, bool]]:
        """(name, type, bound by the theorem's binders rather than a forall) of every variable."""
        return [
            (name, group.type, in_binders)
            for in_binders, groups in ((True, self.binders), (False, self.foralls))
            for group in groups
            if not group.hypothesis
            for name in group.names
        ]

    def variables(self) -> list[tuple[str, str, bool]]:
        """The numeric variables, as ``names``."""
        return [(n, t, b) for n, t, b in self.names() if t is not None and t in _NUMERIC]

    def slots(self) -> list[tuple[tuple[str, int], str]]:
        """The propositions: hypothesis binders, premises, the conclusion."""
        found: list[tuple[tuple[str, int], str]] = [
            (("b", i), g.type) for i, g in enumerate(self.binders) if g.hypothesis and g.type is not None
        ]
        found += [(("p", i), p) for i, p in enumerate(self.premises)]
        return [*found, (("c", 0), self.conclusion)]

    def with_slot(self, key: tuple[str, int], text: str) -> _Shape:
        where, i = key
        if where == "b":
            groups = list(self.binders)
            groups[i] = replace(groups[i], type=text)
            return replace(self, binders=tuple(groups))
        if where == "p":
            return replace(self, premises=(*self.premises[:i], text, *self.premises[i + 1 :]))
        return replace(self, conclusion=text)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _top(text: str, wanted: frozenset[str] | set[str]) -> list[re.Match[str]]:
    """Tokens of ``text`` in ``wanted`` outside every bracket."""
    found, depth = [], 0
    for match in TOKEN.finditer(text):
        token = match.group()
        if token in ("(", "[", "{"):
            depth += 1
        elif token in (")", "]", "}"):
            depth -= 1
        elif depth == 0 and token in wanted:
            found.append(match)
    return found


def _groups(text: str) -> list[_Group] | None:
    """Binder groups of ``text`` (``(a b : T) {c : U} d``); None when it is something else."""
    groups: list[_Group] = []
    tokens = list(TOKEN.finditer(text))
    i = 0
    while i < len(tokens):
        token = tokens[i].group()
        if token in ("(", "{", "["):
            depth, j = 0, i
            for j in range(i, len(tokens)):
                depth += tokens[j].group() in ("(", "[", "{")
                depth -= tokens[j].group() in (")", "]", "}")
                if depth == 0:
                    break
            if depth != 0:
                return None
            inner = text[tokens[i].end() : tokens[j].start()]
            colon = _top(inner, {":"})
            names = (inner[: colon[0].start()] if colon else inner).split()
            type_ = _flat(inner[colon[0].end() :]) if colon else None
            if not names or not all(_IDENT.fullmatch(n) for n in names):
                return None
            groups.append(_Group(tuple(names), type_, token))
            i = j + 1
        elif _IDENT.fullmatch(token) and token not in _BINDERS:
            groups.append(_Group((token,), None))
            i += 1
        else:
            return None
    return groups


def _forall_groups(text: str) -> list[_Group] | None:
    """The binders of one ``forall …,``: groups, or ``a b : T``."""
    colon = _top(text, {":"})
    if text.lstrip().startswith(("(", "{")) or not colon:
        return _groups(text)
    names = text[: colon[0].start()].split()
    if not names or not all(_IDENT.fullmatch(n) for n in names):
        return None
    return [_Group(tuple(names), _flat(text[colon[0].end() :]))]


def _scope(header: Sequence[str]) -> str:
    """The number type bare literals and relations denote: known only when the header's last
    word on it is an ``Open Scope`` (an imported library may open a scope of its own)."""
    scope = "?"
    for sentence in header:
        opened = _OPEN_SCOPE.search(sentence)
        if opened or sentence.startswith(("Require", "From", "Import", "Export")):
            scope = _SCOPES.get(opened.group(1), "?") if opened else "?"
    return scope


def _parse(statement: str) -> tuple[str, _Shape] | None:
    """The theorem's name and shape; None when the statement does not read as one. Raises
    ``ValueError`` for a statement that states no theorem at all."""
    stripped = mask_comments(statement, ROCQ_SYNTAX)
    sentences = split_sentences(stripped)
    at = next((i for i, s in enumerate(sentences) if theorem_of(s) is not None), None)
    if at is None:
        raise ValueError("the statement states no Theorem/Lemma")
    target = theorem_of(sentences[at])
    assert target is not None
    binders = _groups(target.binders)
    if binders is None:
        return None
    rest, foralls = _flat(target.type), []
    while re.match(r"forall\b", rest):
        comma = _top(rest, {","})
        groups = _forall_groups(rest[len("forall") : comma[0].start()]) if comma else None
        if groups is None:
            return None
        foralls.extend(groups)
        rest = rest[comma[0].end() :].strip()
    premises, start = [], 0
    for arrow in _top(rest, {"->"}):
        segment = rest[start : arrow.start()].strip()
        if segment.split(" ", 1)[0] in _BINDERS:
            break  # a binder's scope runs to the end: the rest is one proposition
        premises.append(segment)
        start = arrow.end()
    conclusion = rest[start:].strip()
    if not conclusion or not all(premises):
        return None
    scope = _scope([s.text for s in sentences[:at]])
    return target.name, _Shape(tuple(binders), tuple(foralls), tuple(premises), conclusion, scope)


def _literal(value: int, type_: str, scope: str) -> str:
    text = f"({value})" if value < 0 else str(value)
    return text if type_ == scope else f"{text}%{type_}"


def _typed(prop: str, type_: str, scope: str) -> str:
    return prop if type_ == scope else f"({prop})%{type_}"


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w'.]){re.escape(name)}(?![\w'])")


def _fresh(shape: _Shape, stem: str) -> str:
    """``stem``, or ``stem`` with the first number that makes it a name the statement does not use."""
    used = set(_IDENT.findall(shape.declaration("_")))
    candidates = itertools.chain([stem], (f"{stem}{i}" for i in itertools.count()))
    return next(n for n in candidates if n not in used)


# -- the mutations -----------------------------------------------------------------------------------


def _constant(shape: _Shape) -> list[_Shape]:
    found = []
    for key, text in shape.slots():
        for match in _LITERAL.finditer(text):
            value = int(match.group())
            nearby = [value + 1, value - 1, 2 * value if 2 <= value <= 10_000 else value, value + 2]
            for new in dict.fromkeys(v for v in nearby if v >= 0 and v != value):
                found.append(shape.with_slot(key, text[: match.start()] + str(new) + text[match.end() :]))
    return found


def _bound_once(shape: _Shape, name: str) -> bool:
    """Whether ``name`` is bound exactly once (substituting it cannot hit another binding)."""
    binding = re.compile(rf"\b(?:{'|'.join(_BINDERS)})\b[^,]*(?<![\w'.]){re.escape(name)}(?![\w'])")
    groups = sum(name in g.names for g in (*shape.binders, *shape.foralls))
    inner = [*shape.premises, shape.conclusion, *(g.type or "" for g in (*shape.binders, *shape.foralls))]
    return groups == 1 and not any(binding.search(text) for text in inner)


def _substitute(shape: _Shape, name: str, value: str) -> _Shape:
    word = _word(name)

    def sub(text: str) -> str:
        return word.sub(value, text)

    def groups(gs: tuple[_Group, ...]) -> tuple[_Group, ...]:
        kept = (replace(g, names=tuple(n for n in g.names if n != name)) for g in gs)
        return tuple(replace(g, type=None if g.type is None else sub(g.type)) for g in kept if g.names)

    return replace(
        shape,
        binders=groups(shape.binders),
        foralls=groups(shape.foralls),
        premises=tuple(sub(p) for p in shape.premises),
        conclusion=sub(shape.conclusion),
    )


def _specialise(shape: _Shape) -> list[_Shape]:
    found = []
    for name, type_, _ in shape.variables():
        if _bound_once(shape, name):
            for value in _SMALL_VALUES[type_]:
                found.append(_substitute(shape, name, _literal(value, type_, shape.scope)))
    return found


def _generalise(shape: _Shape) -> list[_Shape]:
    """A literal ``c`` on one side of the conclusion's inequality becomes a variable ``k`` bounded
    by ``c`` in the direction that keeps the statement true when the side grows with ``c``."""
    relations = _top(shape.conclusion, _RELATIONS)
    if len(relations) != 1 or relations[0].group() in ("=", "<>") or _top(shape.conclusion, _CONNECTIVES):
        return []
    relation = relations[0]
    mentioned = [t for n, t, _ in shape.variables() if _word(n).search(shape.conclusion)]
    type_ = mentioned[0] if mentioned else shape.scope
    if type_ not in _NUMERIC:
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
        extra = (_Group((k,), type_), _Group((hk,), _typed(bound, type_, shape.scope)))
        found.append(replace(shape, binders=(*shape.binders, *extra), conclusion=text))
    return found


def _drop_hypothesis(shape: _Shape) -> list[_Shape]:
    b, p = shape.binders, shape.premises
    found = [replace(shape, binders=b[:i] + b[i + 1 :]) for i, g in enumerate(b) if g.hypothesis]
    return found + [replace(shape, premises=p[:i] + p[i + 1 :]) for i in range(len(p))]


def _add_hypothesis(shape: _Shape) -> list[_Shape]:
    found = []
    have = {_flat(text) for _, text in shape.slots()}
    name = _fresh(shape, "hc")
    for var, type_, in_binders in shape.variables():
        for template in ("0 < {}", "1 < {}"):
            prop = _typed(template.format(var), type_, shape.scope)
            if prop in have or template.format(var) in have:
                continue
            if in_binders:
                found.append(replace(shape, binders=(*shape.binders, _Group((name,), prop))))
            else:
                found.append(replace(shape, premises=(prop, *shape.premises)))
    return found


def _weaken_conclusion(shape: _Shape) -> list[_Shape]:
    conclusion = shape.conclusion
    if _top(conclusion, _CONNECTIVES) or conclusion.split(" ", 1)[0] in _BINDERS:
        return []
    found = []
    conjuncts = _top(conclusion, {"/\\"})
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
    for match in _top(conclusion, _RELATIONS):
        for new in weaker.get(match.group(), ()):
            text = f"{conclusion[: match.start()]}{new}{conclusion[match.end() :]}"
            if match.group() == "=" and types and shape.scope not in types:
                text = f"({text})%{next(iter(types))}"
            found.append(replace(shape, conclusion=text))
    return found


def _result_type(type_: str | None) -> str | None:
    """``T`` for a number type ``T`` or a function into it, else None."""
    result = (type_ or "").rsplit("->", 1)[-1].strip()
    return result if result in _NUMERIC else None


def _compose(shape: _Shape, partner: _Shape | None) -> list[_Shape]:
    if partner is None or partner.conclusion == shape.conclusion:
        return []
    if (shape.binders, shape.foralls, shape.premises) != (partner.binders, partner.foralls, partner.premises):
        return []
    return [replace(shape, conclusion=f"({shape.conclusion}) /\\ ({partner.conclusion})")]


_MUTATORS: dict[str, Callable[[_Shape], list[_Shape]]] = {
    "constant": _constant,
    "specialise": _specialise,
    "generalise": _generalise,
    "drop_hypothesis": _drop_hypothesis,
    "add_hypothesis": _add_hypothesis,
    "weaken_conclusion": _weaken_conclusion,
}


def mutate(
    statement: str,
    rng: random.Random,
    limit: int = 8,
    partner: str | None = None,
    kinds: Sequence[str] = KINDS,
) -> list[Mutation]:
    """Up to ``limit`` variants of a proved Rocq ``statement``, drawn round-robin over the kinds
    (in an order ``rng`` picks) so that every applicable kind contributes; the same ``rng`` state
    gives the same variants. ``partner``: a second seed for ``compose`` (used when it has the same
    header, binders and premises). Raises ``ValueError`` when ``statement`` states no theorem or a
    kind is unknown."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown mutation kind {unknown[0]!r}; choose from {', '.join(KINDS)}")
    parsed = _parse(statement)
    if parsed is None or limit <= 0:
        return []
    name, shape = parsed
    other = None if partner is None else _parse(partner)
    if partner is not None and declares_refusal(statement, partner) is not None:
        other = None  # not under the same header
    pools = {k: _compose(shape, other[1] if other else None) if k == "compose" else _MUTATORS[k](shape)
             for k in kinds}
    order = [k for k in kinds if pools[k]]
    rng.shuffle(order)
    for kind in order:
        rng.shuffle(pools[kind])
    forms = {normalise(statement)}
    found: list[Mutation] = []
    while len(found) < limit and any(pools[k] for k in order):
        for kind in order:
            if not pools[kind] or len(found) >= limit:
                continue
            fresh = f"{name}_c{len(found) + 1}"
            text = conjecture_file(statement, pools[kind].pop().declaration(fresh))
            if declares_refusal(text, statement) is not None or _parse(text) is None:
                continue
            form = normalise(text)
            if form not in forms:
                forms.add(form)
                found.append(Mutation(text, kind, fresh))
    return found
