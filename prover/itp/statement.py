"""What every language's parsed statement offers, so self-play can carry one without knowing which
language read it. Rocq's is ``prover.itp.rocq.statement.RocqStatement``; another language adds its
own frozen dataclass with these members (no shared base class: each reads its own syntax)."""

from __future__ import annotations

from typing import Protocol


class ParsedStatement(Protocol):
    """A statement file read once. ``render()`` gives back exactly the text it was read from."""

    @property
    def name(self) -> str | None: ...  # the theorem's name; None when the text states none

    @property
    def header(self) -> str: ...  # the text before the theorem (imports, scopes, comments)

    @property
    def hypotheses(self) -> tuple[str, ...]: ...

    @property
    def conclusion(self) -> str | None: ...

    def render(self) -> str: ...
