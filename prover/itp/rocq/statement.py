"""A Rocq statement file read once: its sentences, header, theorem, binders, hypotheses and conclusion.

Self-play used to re-read a statement's text at every step (the conjecturer, each filter stage, the
normal form, the seed's header for every variant), scanning the same text for comments a dozen
times. ``read`` scans it once (``mask_both``: one pass gives the comment-free text the sentences
come from and the fully masked text the splitters need) and everything downstream takes the
``RocqStatement``. Nothing here trusts or refuses anything: the filter and the checker decide, and a
check still reads the exact text it is given (``render()``).

The structure (``Shape``) is read from the text as the symbolic conjecturer needs it: binder
groups, a leading ``forall``, top-level ``->`` premises, the conclusion. It fits the arithmetic
statements of rocq-seeds, rocq-demo and miniF2F; a statement it cannot read has ``shape`` None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from prover.itp.guard import mask_both
from prover.itp.rocq.text import ROCQ_SYNTAX, Sentence, Target, split_sentences, theorem_of

# One token of a term, greedy like Coq's lexer (`<=` and `<->` are single tokens).
TOKEN = re.compile(
    r"""[^\W\d][\w']*(?:\.[^\W\d][\w']*)*|\d+(?:\.\d+)?|"(?:[^"]|"")*"|[()\[\]{},;]|[^\s\w()\[\]{},;"]+"""
)
NUMERIC = ("nat", "Z", "R", "N")
RELATIONS = frozenset({"<", "<=", ">", ">=", "=", "<>"})
BINDERS = ("forall", "exists", "exists2", "fun", "let")
IDENT = re.compile(r"[^\W\d][\w']*")
_PROP_TOKENS = RELATIONS | {"/\\", "\\/", "~", "<->", "|", "True", "False"}
_SCOPES = {f"{t}_scope": t for t in NUMERIC} | {t: t for t in NUMERIC}
_OPEN_SCOPE = re.compile(r"\bOpen\s+Scope\s+(\w+)")


@dataclass(frozen=True)
class Group:
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
class Shape:
    """``Theorem name binders : forall foralls, premise -> … -> conclusion.``"""

    binders: tuple[Group, ...]
    foralls: tuple[Group, ...]
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
        return [(n, t, b) for n, t, b in self.names() if t is not None and t in NUMERIC]

    def slots(self) -> list[tuple[tuple[str, int], str]]:
        """The propositions: hypothesis binders, premises, the conclusion."""
        found: list[tuple[tuple[str, int], str]] = [
            (("b", i), g.type) for i, g in enumerate(self.binders) if g.hypothesis and g.type is not None
        ]
        found += [(("p", i), p) for i, p in enumerate(self.premises)]
        return [*found, (("c", 0), self.conclusion)]

    def with_slot(self, key: tuple[str, int], text: str) -> Shape:
        where, i = key
        if where == "b":
            groups = list(self.binders)
            groups[i] = replace(groups[i], type=text)
            return replace(self, binders=tuple(groups))
        if where == "p":
            return replace(self, premises=(*self.premises[:i], text, *self.premises[i + 1 :]))
        return replace(self, conclusion=text)


@dataclass(frozen=True)
class RocqStatement:
    """One statement file as read by ``read``. ``render()`` is the text it was read from, exactly."""

    text: str
    sentences: tuple[Sentence, ...]  # comment-free sentences, offsets into ``text``
    masked: str  # ``text`` with comments and strings blanked (same offsets)
    at: int | None  # the first sentence that states a theorem; None when none does
    target: Target | None  # what that sentence states
    shape: Shape | None  # its structure, None when it does not read as binders/premises/conclusion

    def render(self) -> str:
        return self.text

    def masked_text(self, sentence: Sentence) -> str:
        """``sentence`` with its strings blanked too (comments already are)."""
        return self.masked[sentence.start : sentence.start + len(sentence.text)]

    @property
    def name(self) -> str | None:
        return None if self.target is None else self.target.name

    @property
    def header(self) -> str:
        """The text before the theorem, comments included ("" when it states none)."""
        return "" if self.at is None else self.text[: self.sentences[self.at].start]

    @property
    def header_sentences(self) -> tuple[Sentence, ...]:
        return () if self.at is None else self.sentences[: self.at]

    @property
    def hypotheses(self) -> tuple[str, ...]:
        """The hypothesis binders' types and the premises, in order."""
        if self.shape is None:
            return ()
        binders = (g.type for g in self.shape.binders if g.hypothesis and g.type is not None)
        return (*binders, *self.shape.premises)

    @property
    def conclusion(self) -> str | None:
        return None if self.shape is None else self.shape.conclusion


def read(text: str) -> RocqStatement:
    """``text`` read once. Never raises: a text that states no theorem has ``at`` None."""
    stripped, masked = mask_both(text, ROCQ_SYNTAX)
    sentences = tuple(split_sentences(stripped, masked))
    for i, sentence in enumerate(sentences):
        target = theorem_of(sentence, masked[sentence.start : sentence.start + len(sentence.text)])
        if target is not None:
            scope = _scope([s.text for s in sentences[:i]])
            return RocqStatement(text, sentences, masked, i, target, _shape(target, scope))
    return RocqStatement(text, sentences, masked, None, None, None)


def flat(text: str) -> str:
    return " ".join(text.split())


def top(text: str, wanted: frozenset[str] | set[str]) -> list[re.Match[str]]:
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


def _groups(text: str) -> list[Group] | None:
    """Binder groups of ``text`` (``(a b : T) {c : U} d``); None when it is something else."""
    groups: list[Group] = []
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
            colon = top(inner, {":"})
            names = (inner[: colon[0].start()] if colon else inner).split()
            type_ = flat(inner[colon[0].end() :]) if colon else None
            if not names or not all(IDENT.fullmatch(n) for n in names):
                return None
            groups.append(Group(tuple(names), type_, token))
            i = j + 1
        elif IDENT.fullmatch(token) and token not in BINDERS:
            groups.append(Group((token,), None))
            i += 1
        else:
            return None
    return groups


def _forall_groups(text: str) -> list[Group] | None:
    """The binders of one ``forall …,``: groups, or ``a b : T``."""
    colon = top(text, {":"})
    if text.lstrip().startswith(("(", "{")) or not colon:
        return _groups(text)
    names = text[: colon[0].start()].split()
    if not names or not all(IDENT.fullmatch(n) for n in names):
        return None
    return [Group(tuple(names), flat(text[colon[0].end() :]))]


def _scope(header: Sequence[str]) -> str:
    """The number type bare literals and relations denote: known only when the header's last
    word on it is an ``Open Scope`` (an imported library may open a scope of its own)."""
    scope = "?"
    for sentence in header:
        opened = _OPEN_SCOPE.search(sentence)
        if opened or sentence.startswith(("Require", "From", "Import", "Export")):
            scope = _SCOPES.get(opened.group(1), "?") if opened else "?"
    return scope


def _shape(target: Target, scope: str) -> Shape | None:
    binders = _groups(target.binders)
    if binders is None:
        return None
    rest, foralls = flat(target.type), []
    while re.match(r"forall\b", rest):
        comma = top(rest, {","})
        groups = _forall_groups(rest[len("forall") : comma[0].start()]) if comma else None
        if groups is None:
            return None
        foralls.extend(groups)
        rest = rest[comma[0].end() :].strip()
    premises, start = [], 0
    for arrow in top(rest, {"->"}):
        segment = rest[start : arrow.start()].strip()
        if segment.split(" ", 1)[0] in BINDERS:
            break  # a binder's scope runs to the end: the rest is one proposition
        premises.append(segment)
        start = arrow.end()
    conclusion = rest[start:].strip()
    if not conclusion or not all(premises):
        return None
    return Shape(tuple(binders), tuple(foralls), tuple(premises), conclusion, scope)
