"""Reading Rocq (Coq) source text: splitting it into sentences and a statement file into its parts.

``coqidetop`` takes one sentence per ``Add`` and silently ignores whatever follows the first sentence
in the string, so the split must follow Coq's own rules: a sentence ends at a ``.`` followed by
white space or the end of the text (outside comments and strings), and bullets (``-``, ``+``, ``*``)
and braces (``{``, ``}``, ``2: {``) are sentences of their own.

Nothing here decides soundness: a wrong split can only make a good proof fail, because the verdict
comes from a check of the final environment against the target (see ``rocq.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from prover.itp.guard import Syntax, mask_comments

ROCQ_SYNTAX = Syntax(
    block=("(*", "*)"), nested=True, string_quote='"', string_escape='"', strings_in_comments=True
)

THEOREM_KEYWORDS = ("Theorem", "Lemma", "Fact", "Remark", "Corollary", "Proposition", "Example")
_THEOREM_RE = re.compile(
    r"^(?:#\[[^\]]*\]\s*)?(?:(?:Local|Global|Polymorphic|Monomorphic|Program)\s+)*"
    rf"(?:{'|'.join(THEOREM_KEYWORDS)})\s+([A-Za-z_][\w']*)(.*)\.$",
    re.DOTALL,
)
# Sentences that make up a header: loading and importing libraries, scopes and options.
_HEADER_RE = re.compile(
    r"^(?:From\s+\S+\s+)?Require\b|^(?:Import|Export)\b|^(?:Local\s+|Global\s+)?(?:Open|Close)\s+Scope\b"
    r"|^(?:Local\s+|Global\s+)?(?:Set|Unset)\s"
)
_SELECTOR_BRACE_RE = re.compile(r"^(?:\d+|all|\[[\w']+\])\s*:\s*\{$")
_MODULE_START_RE = re.compile(r"^(?:Module|Section)\s+(?!Type\b|Import\b|Export\b)([A-Za-z_][\w']*)")
_END_RE = re.compile(r"^End\s+([A-Za-z_][\w']*)\.$")


@dataclass(frozen=True)
class Sentence:
    text: str  # the sentence, from its first non-blank character to its closing "." (or bullet)
    start: int  # offset of ``text`` in the source

    @property
    def normalized(self) -> str:
        """Whitespace-insensitive form, used to recognise trusted sentences repeated in a proof."""
        return " ".join(self.text.split())


@dataclass(frozen=True)
class Target:
    """One theorem of a statement file: ``Theorem name binders : type.``"""

    name: str
    binders: str
    type: str

    def as_type(self) -> str:
        """The statement as one closed type. The leading ``unit`` binder makes a theorem without
        binders fit the same shape, so no case needs the ``forall`` to be dropped."""
        return f"forall (_ : unit) {self.binders}, {self.type}".replace("  ", " ")


@dataclass
class Statement:
    header: list[Sentence] = field(default_factory=list)  # Require/Import/Open Scope/Set …
    prelude: list[Sentence] = field(default_factory=list)  # other trusted sentences (Parameter, Axiom …)
    targets: list[Target] = field(default_factory=list)


def split_sentences(text: str, masked: str | None = None) -> list[Sentence]:
    """Split Rocq source into sentences (comments between sentences are dropped). ``masked``: ``text``
    with its comments and strings already blanked (``mask_both``), when the caller has it."""
    if masked is None:
        masked = mask_comments(text, ROCQ_SYNTAX, mask_strings=True)
    sentences: list[Sentence] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and masked[i].isspace():
            i += 1
        if i >= n:
            break
        start = i
        c = masked[i]
        if c in "-+*":
            while i < n and masked[i] == c:
                i += 1
            sentences.append(Sentence(text[start:i], start))
            continue
        if c in "{}":
            sentences.append(Sentence(c, start))
            i += 1
            continue
        while i < n:
            ch = masked[i]
            if ch == "." and (i + 1 == n or masked[i + 1].isspace()) and (i == start or masked[i - 1] != "."):
                i += 1
                break
            if ch == "{" and _SELECTOR_BRACE_RE.match(masked[start : i + 1].strip()):
                i += 1
                break
            i += 1
        sentences.append(Sentence(text[start:i].rstrip(), start))
    return [s for s in sentences if s.text.strip()]


def split_binders(rest: str, masked: str | None = None) -> tuple[str, str] | None:
    """Split ``binders : type`` at the first colon outside brackets; None if there is no such colon.
    ``masked``: ``rest`` with its comments and strings blanked, when the caller has it."""
    if masked is None:
        masked = mask_comments(rest, ROCQ_SYNTAX, mask_strings=True)
    depth = 0
    for i, ch in enumerate(masked):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ":" and depth == 0 and masked[i + 1 : i + 2] not in ("=", ":", ">"):
            return rest[:i].strip(), rest[i + 1 :].strip()
    return None


def theorem_of(sentence: Sentence, masked: str | None = None) -> Target | None:
    """The target a theorem-like sentence states, or None if it is not one. ``masked``: the
    sentence's text with its comments and strings blanked, when the caller has it."""
    match = _THEOREM_RE.match(sentence.text)
    if not match:
        return None
    rest = None if masked is None else masked[match.start(2) : match.end(2)]
    parts = split_binders(match.group(2), rest)
    if parts is None:
        return None
    binders, type_ = parts
    return Target(match.group(1), binders, type_)


def is_header(sentence: Sentence) -> bool:
    return bool(_HEADER_RE.match(sentence.text))


def parse_statement(text: str) -> Statement:
    """Split a trusted statement file into header, prelude and targets. Raises ``ValueError``."""
    statement = Statement()
    seen_theorem = False
    for sentence in split_sentences(text):
        target = theorem_of(sentence)
        if target is not None:
            statement.targets.append(target)
            seen_theorem = True
        elif seen_theorem:
            continue  # Proof. / Admitted. / a partial proof script: not part of the target
        elif not statement.prelude and is_header(sentence):
            statement.header.append(sentence)
        else:
            statement.prelude.append(sentence)
    if not statement.targets:
        raise ValueError("the statement file states no Theorem/Lemma")
    names = [t.name for t in statement.targets]
    if len(set(names)) != len(names):
        raise ValueError("the statement file states the same theorem name twice")
    return statement


def leading_header(sentences: list[Sentence]) -> list[Sentence]:
    """The header-like sentences a file starts with."""
    header: list[Sentence] = []
    for sentence in sentences:
        if not is_header(sentence):
            break
        header.append(sentence)
    return header


def declared_theorems(sentences: list[Sentence]) -> list[str]:
    """Qualified names (relative to the top level) of the theorems a file states, following
    ``Module``/``End`` nesting; sections do not add to a name."""
    names: list[str] = []
    stack: list[tuple[str, bool]] = []  # (name, is_module)
    for sentence in sentences:
        target = theorem_of(sentence)
        if target is not None:
            prefix = ".".join(name for name, is_module in stack if is_module)
            names.append(f"{prefix}.{target.name}" if prefix else target.name)
            continue
        start = _MODULE_START_RE.match(sentence.text)
        if start:
            if ":=" not in sentence.text:  # `Module M := N.` defines a module without opening one
                stack.append((start.group(1), sentence.text.startswith("Module")))
            continue
        end = _END_RE.match(sentence.text)
        if end and stack and stack[-1][0] == end.group(1):
            stack.pop()
    return names
