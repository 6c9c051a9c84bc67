"""Soundness rules shared by all backends: masking comments, scanning for forbidden commands.

The guard is a first line of defence only. Each backend must also ask the proof assistant itself
(axioms the theorem depends on, the type of the proved constant), because text scanning cannot see
through notations or metaprogramming.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from prover.itp.base import Message


@dataclass(frozen=True)
class Syntax:
    """How comments and strings are written in one language."""

    block: tuple[str, str] | None = None  # e.g. ("(*", "*)")
    line: str | None = None  # e.g. "--"
    nested: bool = True  # block comments nest (Coq, Lean, Isabelle all do)
    string_quote: str | None = '"'
    string_escape: str = "\\"  # Coq doubles the quote instead: use '"' here
    strings_in_comments: bool = False  # Coq lexes strings inside comments: (* "*)" *) is one comment


@dataclass(frozen=True)
class Rule:
    """A forbidden construct: ``pattern`` is searched in the comment-masked text."""

    name: str
    pattern: re.Pattern[str]
    why: str


def mask_comments(text: str, syntax: Syntax, mask_strings: bool = False) -> str:
    """Return ``text`` with every comment character (and, optionally, every string-literal character)
    replaced by a space. Newlines are kept so offsets, lines and columns stay valid."""
    comments, strings = _blank_spans(text, syntax)
    return _blank(text, [*comments, *strings] if mask_strings else comments)


def mask_both(text: str, syntax: Syntax) -> tuple[str, str]:
    """``mask_comments(text, syntax)`` and ``mask_comments(text, syntax, mask_strings=True)`` from one
    scan of ``text``: a reader that needs both (sentence texts keep their strings, the splitter must
    not see them) reads the text once."""
    comments, strings = _blank_spans(text, syntax)
    return _blank(text, comments), _blank(text, [*comments, *strings])


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    out = list(text)
    n = len(text)
    for a, b in spans:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)


def _blank_spans(text: str, syntax: Syntax) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The one scan of ``text``: the (start, end) spans of its comments and of its string literals'
    contents (the quotes themselves stay)."""
    comments: list[tuple[int, int]] = []
    strings: list[tuple[int, int]] = []
    i, n = 0, len(text)
    depth = 0
    block_open, block_close = syntax.block or ("", "")

    def string_end(i: int) -> int:
        """Index just past the string literal opening at ``i`` (or the end of the text)."""
        quote = syntax.string_quote or ""
        j = i + 1
        while j < n:
            doubled = syntax.string_escape == quote and text.startswith(quote * 2, j)
            if doubled or (syntax.string_escape != quote and text[j] == syntax.string_escape):
                j += 2
            elif text[j] == quote:
                return j + 1
            else:
                j += 1
        return n

    while i < n:
        if depth == 0 and syntax.string_quote and text.startswith(syntax.string_quote, i):
            j = string_end(i)
            strings.append((i + 1, j - 1))
            i = j
            continue
        if block_open and text.startswith(block_open, i):
            start = i
            depth = 1
            i += len(block_open)
            while i < n and depth > 0:
                quote = syntax.string_quote
                if syntax.strings_in_comments and quote and text.startswith(quote, i):
                    i = string_end(i)
                elif syntax.nested and text.startswith(block_open, i):
                    depth += 1
                    i += len(block_open)
                elif text.startswith(block_close, i):
                    depth -= 1
                    i += len(block_close)
                else:
                    i += 1
            depth = 0
            comments.append((start, i))
            continue
        if syntax.line and text.startswith(syntax.line, i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            comments.append((i, j))
            i = j
            continue
        i += 1
    return comments, strings


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and 0-based column of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1)
    return line, col


def scan(text: str, syntax: Syntax, rules: Iterable[Rule]) -> list[Message]:
    """Error messages for every forbidden construct outside comments and strings."""
    masked = mask_comments(text, syntax, mask_strings=True)
    found: list[Message] = []
    for rule in rules:
        for match in rule.pattern.finditer(masked):
            line, col = line_col(text, match.start())
            found.append(Message("error", f"forbidden: {rule.name} ({rule.why})", line, col))
    found.sort(key=lambda m: (m.line or 0, m.column or 0))
    return found
