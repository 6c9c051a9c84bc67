"""A generated theory file and the map from Isabelle's positions in it back to the candidate.

The file is assembled piece by piece; each piece remembers where it starts in the file and, for
candidate text, where it came from. Isabelle reports positions as a line and a symbol offset (from
1, ``\\<forall>`` being one symbol), so the map works in symbols. Unicode symbols are written as
``\\<name>`` on the way in; one code point becomes one symbol, so offsets survive that too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from prover.itp.guard import line_col
from prover.itp.isabelle.text import char_to_symbol, symbol_starts, to_ascii_symbols


@dataclass(frozen=True)
class Piece:
    gen_symbol: int  # where the piece starts in the generated file, in symbols
    length: int  # in symbols
    origin: str  # "header" | "preamble" | "statement" | "candidate" | "check"
    cand_symbol: int | None = None  # where it starts in the candidate text, in symbols


@dataclass
class Built:
    """A generated theory file and what is needed to map Isabelle's positions back."""

    text: str
    candidate: str
    pieces: list[Piece] = field(default_factory=list)
    hammer_line: int | None = None  # line of the ``sledgehammer`` command, for hammer runs

    @cached_property
    def _gen_symbols(self) -> list[int]:
        return symbol_starts(self.text)

    @cached_property
    def _cand_symbols(self) -> list[int]:
        return symbol_starts(self.candidate)

    def locate(self, pos: dict[str, object]) -> tuple[str, int | None, int | None]:
        """``(origin, line, column)`` of an Isabelle position. For origin ``candidate`` the line and
        column are in the candidate text (column only when Isabelle gave an offset); otherwise the
        line is in the generated file. Offsets count symbols from 1; lines count from 1."""
        offset, line = pos.get("offset"), pos.get("line")
        gen = self._gen_symbols
        if isinstance(offset, int) and offset >= 1:
            sym = offset - 1
        elif isinstance(line, int) and line >= 1:
            sym = char_to_symbol(gen, _line_start(self.text, line))
        else:
            return "unknown", None, None
        piece = next((p for p in self.pieces if p.gen_symbol <= sym < p.gen_symbol + p.length), None)
        if piece is None:
            return "unknown", line if isinstance(line, int) else None, None
        if piece.cand_symbol is not None and self._cand_symbols:
            cand = self._cand_symbols
            k = min(piece.cand_symbol + sym - piece.gen_symbol, len(cand) - 1)
            cline, ccol = line_col(self.candidate, cand[k])
            return "candidate", cline, ccol if isinstance(offset, int) else None
        gen_line = line if isinstance(line, int) else line_col(self.text, gen[min(sym, len(gen) - 1)])[0]
        return piece.origin, gen_line, None


def _line_start(text: str, line: int) -> int:
    index = 0
    for _ in range(line - 1):
        index = text.find("\n", index) + 1
        if index == 0:
            return len(text)
    return index


class TheoryBuilder:
    """Appends pieces of text, keeping the position map."""

    def __init__(self, candidate: str) -> None:
        self.candidate = candidate
        self.cand_symbols = symbol_starts(candidate)
        self.chunks: list[str] = []
        self.pieces: list[Piece] = []
        self.symbols = 0

    def add(self, text: str, origin: str, cand_start: int | None = None) -> None:
        text = to_ascii_symbols(text)
        n = len(symbol_starts(text))
        cand_symbol = None if cand_start is None else char_to_symbol(self.cand_symbols, cand_start)
        self.pieces.append(Piece(self.symbols, n, origin, cand_symbol))
        self.chunks.append(text)
        self.symbols += n

    def add_candidate(self, start: int, end: int) -> None:
        if end > start:
            self.add(self.candidate[start:end], "candidate", start)
            self.add("\n", "check")

    def built(self) -> Built:
        return Built("".join(self.chunks), self.candidate, self.pieces)
