"""Isabelle outer-syntax lexing, as much as the backend needs: masking, symbols, words.

The soundness guard must see exactly the tokens Isabelle will run, so masking follows Isabelle's own
lexer in one pass: nested ``(* *)`` comments, ``"..."`` and backquote strings with backslash escapes,
and nested cartouches (``‹...›`` or ``\\<open>...\\<close>``). A delimiter inside any of these is
ordinary text; masking them in separate passes would let ``"‹" sorry "›"`` hide a ``sorry``. The
shared ``guard.Syntax`` has a single string quote and no cartouches, hence this lexer.
"""

from __future__ import annotations

import bisect
import re

# A symbol is one unit of Isabelle's position offsets: ``\<name>``, ``\<^name>`` or one code point.
SYMBOL_RE = re.compile(r"\\<\^?[A-Za-z][A-Za-z0-9_']*>")
WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_']*")

_FORMAL_COMMENT_RE = re.compile(r"(?:\\<comment>|―|\\<\^cancel>)\s*(?=‹|\\<open>)")
_OPEN = ("‹", "\\<open>")
_CLOSE = ("›", "\\<close>")

# Unicode renderings of the symbols LLM output commonly uses (code points from Isabelle's etc/symbols).
# Theory files are written in the ASCII ``\<name>`` form that Isabelle reads without any decoding;
# every entry maps one code point to one symbol, so symbol offsets are the same before and after.
# fmt: off
UNICODE_SYMBOLS: dict[str, str] = {
    "∀": "forall", "∃": "exists", "∄": "nexists", "¬": "not", "∧": "and", "∨": "or",
    "⋀": "And", "⋁": "Or", "⟶": "longrightarrow", "⟷": "longleftrightarrow",
    "⟹": "Longrightarrow", "⟸": "Longleftarrow", "⟺": "Longleftrightarrow",
    "⇒": "Rightarrow", "⇐": "Leftarrow", "⇔": "Leftrightarrow", "→": "rightarrow",
    "←": "leftarrow", "↔": "leftrightarrow", "↦": "mapsto", "⟼": "longmapsto",
    "≤": "le", "≥": "ge", "≠": "noteq", "≡": "equiv", "≈": "approx", "∼": "sim",
    "∈": "in", "∉": "notin", "⊆": "subseteq", "⊂": "subset", "⊇": "supseteq", "⊃": "supset",
    "∪": "union", "∩": "inter", "⋃": "Union", "⋂": "Inter", "∅": "emptyset", "∖": "setminus",
    "∑": "Sum", "∏": "Prod", "∫": "integral", "√": "surd", "∞": "infinity",
    "×": "times", "÷": "div", "⋅": "cdot", "∘": "circ", "±": "plusminus", "∙": "bullet",
    "⌊": "lfloor", "⌋": "rfloor", "⌈": "lceil", "⌉": "rceil", "¦": "bar",
    "⟦": "lbrakk", "⟧": "rbrakk", "⟨": "langle", "⟩": "rangle", "⦇": "lparr", "⦈": "rparr",
    "‹": "open", "›": "close", "―": "comment", "…": "dots", "⊥": "bottom", "⊤": "top",
    "ℕ": "nat", "ℤ": "int", "ℚ": "rat", "ℝ": "real", "ℂ": "complex",
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu",
    "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi",
    "χ": "chi", "ψ": "psi", "ω": "omega", "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta",
    "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
    "⇩": "^sub", "⇧": "^sup", "°": "degree",
}
# fmt: on
_UNICODE_RE = re.compile("|".join(map(re.escape, UNICODE_SYMBOLS)))


def to_ascii_symbols(text: str) -> str:
    """``text`` with the known Unicode symbols written as ``\\<name>``."""
    return _UNICODE_RE.sub(lambda m: f"\\<{UNICODE_SYMBOLS[m.group(0)]}>", text)


def symbol_starts(text: str) -> list[int]:
    """The character index where each Isabelle symbol of ``text`` starts."""
    starts: list[int] = []
    i, n = 0, len(text)
    while i < n:
        starts.append(i)
        m = SYMBOL_RE.match(text, i) if text[i] == "\\" else None
        i = m.end() if m else i + 1
    return starts


def char_to_symbol(starts: list[int], index: int) -> int:
    """The symbol (0-based) holding character ``index``, given ``symbol_starts`` of the text."""
    return max(0, bisect.bisect_right(starts, index) - 1)


def _startswith_any(text: str, i: int, options: tuple[str, ...]) -> int:
    for opt in options:
        if text.startswith(opt, i):
            return len(opt)
    return 0


def _skip_comment(text: str, i: int) -> int:
    depth, n = 0, len(text)
    while i < n:
        if text.startswith("(*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*)", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _skip_string(text: str, i: int, quote: str) -> int:
    i, n = i + 1, len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
        elif text[i] == quote:
            return i + 1
        else:
            i += 1
    return n


def _skip_cartouche(text: str, i: int) -> tuple[int, int]:
    """End of the cartouche opening at ``i``, and where its closing delimiter starts."""
    depth, n = 0, len(text)
    while i < n:
        k = _startswith_any(text, i, _OPEN)
        if k:
            depth, i = depth + 1, i + k
            continue
        k = _startswith_any(text, i, _CLOSE)
        if k:
            depth -= 1
            if depth == 0:
                return i + k, i
            i += k
            continue
        i += 1
    return n, n


def mask(text: str, *, strings: bool = True, cartouches: bool = True) -> str:
    """``text`` with comments blanked, and the insides of strings and cartouches when asked.

    Blanking replaces characters by spaces and keeps newlines and string/cartouche delimiters, so
    every offset, line and column stays valid. Unclosed comments or strings run to the end, as in
    Isabelle, which then rejects the theory anyway."""
    out = list(text)

    def blank(a: int, b: int) -> None:
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    i, n = 0, len(text)
    while i < n:
        if text.startswith("(*", i):
            j = _skip_comment(text, i)
            blank(i, j)
        elif text[i] in '"`':
            j = _skip_string(text, i, text[i])
            if strings:
                blank(i + 1, max(i + 1, j - 1))
        elif _startswith_any(text, i, _OPEN):
            j, inner_end = _skip_cartouche(text, i)
            if cartouches:
                blank(i + _startswith_any(text, i, _OPEN), inner_end)
        elif cartouches and (m := _FORMAL_COMMENT_RE.match(text, i)):
            # ``\<comment> ‹...›`` is a comment to the command parser; its text stays visible in the
            # ``cartouches=False`` view, where document antiquotations are looked for.
            j, _ = _skip_cartouche(text, m.end())
            blank(i, j)
        else:
            i += 1
            continue
        i = j
    return "".join(out)


_BLANKS_RE = re.compile(r"[ \t]*")
_ANTIQUOTATION_RE = re.compile(r"@\{|\\<\^[A-Za-z][A-Za-z0-9_']*>")


def _skip_braces(text: str, i: int) -> int:
    """End of the ``{...}`` opening at ``i``, nested braces, strings and cartouches skipped whole."""
    depth, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in '"`':
            i = _skip_string(text, i, ch)
            continue
        if _startswith_any(text, i, _OPEN):
            i = _skip_cartouche(text, i)[0]
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def antiquotation_view(text: str) -> str:
    """Only the document antiquotations of ``text`` (``@{name ...}``, ``\\<^name>`` with its
    cartouche argument), everything else blanked; offsets, lines and columns stay valid.

    Antiquotations are looked for everywhere outside ``(* *)`` comments, in strings and cartouches
    too (``text "..."`` is document text as much as ``text ‹...›``), but nothing else of the prose is
    kept, so a comment or a text block that talks about ML or tactics is not mistaken for code."""
    visible = mask(text, strings=False, cartouches=False)
    keep = bytearray(len(visible))
    for m in _ANTIQUOTATION_RE.finditer(visible):
        if m.group(0) == "@{":
            end = _skip_braces(visible, m.start() + 1)
        else:
            end = m.end()
            blanks = _BLANKS_RE.match(visible, end)
            argument = blanks.end() if blanks else end
            if _startswith_any(visible, argument, _OPEN):
                end = _skip_cartouche(visible, argument)[0]
        keep[m.start() : end] = b"\x01" * (end - m.start())
    return "".join(c if keep[k] or c == "\n" else " " for k, c in enumerate(visible))


def blank_number_chars(masked: str) -> str:
    """Blank digits, ``_`` and ``'`` that are not inside an identifier.

    Isabelle splits ``2sorry`` into the number ``2`` and the command ``sorry``, but ``x2sorry`` is one
    identifier. After this, a keyword is a command exactly when it is a whole word, so plain regex
    word boundaries match what Isabelle's lexer does (or flag more, never less)."""
    out = list(masked)
    keep = bytearray(len(masked))
    for m in WORD_RE.finditer(masked):
        keep[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    for k, ch in enumerate(masked):
        if ch in "0123456789_'" and not keep[k]:
            out[k] = " "
    return "".join(out)


def scan_text(text: str) -> str:
    """Text prepared for keyword rules: comments, strings and cartouches blanked, numbers split off."""
    return blank_number_chars(mask(text))


def blank_range(text: str, start: int, end: int) -> str:
    """``text`` with ``[start, end)`` blanked (newlines kept)."""
    return text[:start] + "".join("\n" if c == "\n" else " " for c in text[start:end]) + text[end:]
