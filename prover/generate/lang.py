"""What prompts and the extractor need to know about each proof assistant's text: its name and
code-fence tag, how to write a comment, where a statement's placeholder proof starts, how a theorem
is declared. Nothing here decides soundness; the backend's ``static_check`` and the pool do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prover.itp.guard import Syntax, mask_comments
from prover.itp.isabelle.guard import ISABELLE_SYNTAX
from prover.itp.lean.statement import LEAN_SYNTAX
from prover.itp.rocq.text import ROCQ_SYNTAX

_SYNTAX: dict[str, Syntax] = {"rocq": ROCQ_SYNTAX, "lean": LEAN_SYNTAX, "isabelle": ISABELLE_SYNTAX}


@dataclass(frozen=True)
class Language:
    key: str  # the backend name: rocq, lean, isabelle
    name: str  # as a prompt calls it
    fence: str  # the code-fence tag models write
    aliases: tuple[str, ...]  # other fence tags accepted when extracting
    declaration: str  # regex of a theorem declaration; group 1 is the name

    def comment(self, text: str) -> str:
        """``text`` as one comment line that cannot end early (an error message may hold ``*)``)."""
        flat = " ".join(text.split())
        if self.key == "lean":
            return f"-- {flat}"
        return "(* " + flat.replace("*)", "* )").replace("(*", "( *") + " *)"


LANGUAGES = {
    "rocq": Language(
        "rocq", "Rocq (Coq)", "coq", ("coq", "rocq", "v", "coq-proof"),
        r"^[ \t]*(?:#\[[^\]]*\]\s*)?(?:(?:Local|Global|Program)\s+)*"
        r"(?:Theorem|Lemma|Fact|Remark|Corollary|Proposition|Example)\s+([A-Za-z_][\w']*)",
    ),
    "lean": Language(
        "lean", "Lean 4", "lean4", ("lean4", "lean"),
        r"^[ \t]*(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|nonrec)\s+)*(?:theorem|lemma)\s+([^\s:({\[]+)",
    ),
    "isabelle": Language(
        "isabelle", "Isabelle/HOL", "isabelle", ("isabelle", "isar", "thy"),
        r"^[ \t]*(?:theorem|lemma|corollary|proposition)\s+([A-Za-z_][\w'.]*)",
    ),
}


def language(key: str) -> Language:
    try:
        return LANGUAGES[key]
    except KeyError:
        raise ValueError(f"unknown language {key!r}; choose one of {', '.join(LANGUAGES)}") from None


def masked(key: str, text: str, strings: bool = False) -> str:
    """``text`` with comments (and, with ``strings``, string literals) blanked, same offsets, so
    keywords in them are not matched."""
    return mask_comments(text, _SYNTAX[key], mask_strings=strings)


def declared_name(key: str, text: str) -> tuple[str, int] | None:
    """The first theorem declared in ``text`` (outside comments) and its offset."""
    match = re.search(language(key).declaration, masked(key, text), re.MULTILINE)
    return None if match is None else (match.group(1), match.start())


@dataclass(frozen=True)
class Split:
    """A statement file cut where its placeholder proof starts."""

    header: str  # everything before the theorem declaration (imports, options, definitions)
    stub: str  # everything up to where the proof goes, ending in a newline
    tail: str  # what must follow the proof (Isabelle's ``end``), usually empty
    name: str | None  # the theorem's name


_PLACEHOLDER = {
    "rocq": re.compile(r"(?:\bAdmitted\s*\.|\bAbort\s*\.)\s*$"),
    "lean": re.compile(r"\bsorry\s*$"),
    "isabelle": re.compile(r"\b(?:sorry|oops)\b(?P<tail>\s*(?:\bend\b\s*)?)$"),
}


def split_statement(key: str, statement: str) -> Split:
    """Cut a statement file (``…Proof. Admitted.``, ``… := by sorry``, ``… sorry end``) into the
    part a proof continues and what follows it. A statement without a placeholder is taken whole."""
    found = declared_name(key, statement)
    name, start = found if found else (None, 0)
    text = statement.rstrip()
    match = _PLACEHOLDER[key].search(masked(key, text))
    tail = ""
    if match is not None:
        if key == "isabelle" and match.group("tail").strip():
            tail = "\nend\n"
        text = text[: match.start()].rstrip()
    if key == "rocq" and not re.search(r"(?:^|\s)Proof(?:\s+[^.]*)?\.$", text):
        text += "\nProof."
    if key == "lean" and not text.endswith(("by", ":=")):
        text += " := by"
    return Split(statement[:start], text + "\n", tail, name)
