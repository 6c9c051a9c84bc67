"""Lean statements and headers: the trusted side of a check.

A statement file (trusted) is split into its header (imports, opens, options: what a session loads
once) and its last named declaration, the target, whose text ends in ``sorry``. The header is also
the session key: requests with equal headers share a REPL process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from prover.itp.guard import Syntax, mask_comments

LEAN_SYNTAX = Syntax(block=("/-", "-/"), line="--", nested=True)


BRACKETS = ("([{⟨", ")]}⟩")  # Lean's openers and closers


def outside_brackets(text: str) -> Iterator[int]:
    """The positions in ``text`` of the characters outside every bracket (brackets excluded); an
    unmatched closer is ignored."""
    openers, closers = BRACKETS
    depth = 0
    for i, ch in enumerate(text):
        if ch in openers:
            depth += 1
        elif ch in closers:
            depth = max(0, depth - 1)
        elif depth == 0:
            yield i


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Packages that ``import Mathlib`` already brings in: a proof may name them in its own imports.
MATHLIB_FAMILY = word_set(
    "Mathlib Aesop Batteries Qq ProofWidgets Plausible ImportGraph LeanSearchClient Lean Init Std"
)
_IDENT = r"[^\W\d][\w.'!?]*"
# One argument of ``open``: a namespace, ``scoped``/``hiding``/``renaming`` (identifiers too), an
# explicit ``(x y)`` list, or the arrow of ``renaming a → b``.
OPEN_ARG = rf"(?:{_IDENT}|\([^()]*\)|→)"
_DECL = (
    r"(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|noncomputable|nonrec|partial|unsafe)\s+)*"
    r"(?P<kind>theorem|lemma|def|abbrev|instance|example|structure|class|inductive)\b"
    r"(?:[ \t]+(?:\(priority\s*:=[^)]*\)\s*)?(?P<name>[^\s:({\[⦃]+))?"
)
DECL_PATTERN = re.compile(r"^[ \t]*" + _DECL, re.MULTILINE)
# In candidate text a declaration may also follow ``open … in`` on its own line.
CANDIDATE_DECL_PATTERN = re.compile(
    rf"^[ \t]*(?:open(?:[ \t]+{OPEN_ARG})+?[ \t]+in\s+)*" + _DECL, re.MULTILINE
)
_TARGET_KINDS = ("theorem", "lemma", "def", "abbrev", "instance")
_DATA_KINDS = ("def", "abbrev", "instance")


@dataclass(frozen=True)
class Header:
    """The trusted header: imports, then commands (opens, options, sections), canonical lines."""

    imports: tuple[str, ...]
    commands: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join([f"import {m}" for m in self.imports] + list(self.commands))

    def allows_import(self, module: str) -> bool:
        return module in self.imports or (
            "Mathlib" in self.imports and module.split(".", 1)[0] in MATHLIB_FAMILY
        )

    @classmethod
    def parse(cls, text: str) -> Header:
        """Header from the text before a statement's declaration (trusted), or from a header key."""
        imports: list[str] = []
        commands: list[str] = []
        for line in mask_comments(text, LEAN_SYNTAX).splitlines():
            if not line.strip():
                continue
            words = line.split()
            if words[0] == "import" and not commands:
                imports.extend(words[1:])
            else:
                commands.append(line.rstrip())
        if not imports and not commands:
            return DEFAULT_HEADER
        return cls(tuple(imports) or DEFAULT_HEADER.imports, tuple(commands))


# For statements without a header of their own, and for checks without a statement: the miniF2F
# header, with a finite heartbeat budget (miniF2F's own `maxHeartbeats 0` leaves only the wall clock).
DEFAULT_HEADER = Header(
    ("Mathlib", "Aesop"), ("set_option maxHeartbeats 400000", "open BigOperators Real Nat Topology Rat")
)


@dataclass(frozen=True)
class Target:
    """A trusted statement: its header, the declaration's name and kind, and its text ending in sorry."""

    header: Header
    name: str
    kind: str
    decl: str
    name_span: tuple[int, int]  # where the name sits in ``decl``

    @property
    def is_data(self) -> bool:
        return self.kind in _DATA_KINDS

    def stub(self, stub_name: str) -> str:
        """The statement under another name, without attributes or modifiers (a ``simp`` attribute on a
        sorry'd stub would leak into proofs); instances become plain defs so they are never found by
        instance search."""
        end = self.name_span[1]
        keyword = "theorem" if not self.is_data else "noncomputable def"
        return f"{keyword} {stub_name}{self.decl[end:]}"


def parse_statement(text: str) -> Target:
    """Split a trusted statement file. Raises ``ValueError`` (one line) when it has no named target."""
    masked = mask_comments(text, LEAN_SYNTAX)
    decls = [m for m in DECL_PATTERN.finditer(masked) if m["kind"] in _TARGET_KINDS]
    if not decls:
        raise ValueError("the statement has no theorem, lemma, def or instance to prove")
    last = decls[-1]
    if not last["name"] or not re.fullmatch(_IDENT, last["name"]):
        raise ValueError("the statement's declaration has no usable name")
    start = last.start() + (len(last[0]) - len(last[0].lstrip()))
    decl, masked_decl = text[start:].rstrip(), masked[start:].rstrip()
    if masked_decl.endswith(":="):
        decl += " sorry"  # DeepSeek-style statements stop at `:=`
    elif re.search(r":=\s*by$", masked_decl):
        decl += " sorry"
    elif not re.search(r"(?<![\w.'!?])sorry$", masked_decl):
        raise ValueError("the statement must end in `sorry` (or `:=`)")
    name_start = last.start("name") - start
    return Target(
        header=Header.parse(text[:start]),
        name=last["name"],
        kind=last["kind"],
        decl=decl,
        name_span=(name_start, name_start + len(last["name"])),
    )
