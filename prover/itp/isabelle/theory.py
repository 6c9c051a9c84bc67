"""Turning a check request into the theory file Isabelle checks (the file: ``isabelle_file``).

The checked theory is always built from trusted parts around untrusted ones:

    theory <fresh name> imports <trusted imports + allow-listed extras> begin   (trusted)
    <trusted preamble: the statement file's definitions>                        (trusted)
    <candidate text before its copy of the target: helper lemmas>               (untrusted)
    <the trusted target statement, verbatim>                                    (trusted)
    <candidate text after its copy of the statement: the proof, more lemmas>    (untrusted)
    end                                                                         (trusted)

The candidate's own copy of the statement must match the trusted text (whitespace aside), but it is
never what gets checked: Isabelle proves the trusted text. What the candidate could still do is
change the meaning of that text through commands before it; ``isabelle_guard`` forbids those. And
where untrusted text follows trusted text it must start a new command (``check_joins``), so that it
cannot continue a trusted definition or the statement (``shows "P" if "False"``).
Re-stating the target once more after the candidate (``lemma check: <target> by (fact name)``) would
add nothing: it is parsed in the same, candidate-influenced context as the statement above.

Everything up to the theory file is decided here without Isabelle (``prepare``), and
``static_check`` is exactly that decision: a candidate it refuses is refused with the same reason,
detail and messages by ``IsabelleSession.check``, which calls ``prepare`` first.

Not done yet, because it needs a live Isabelle to get right (recorded transcripts cannot exercise
it): a semantic check that would not depend on the guard's list of syntax commands. Trusted ML
appended after the candidate would print the proved theorem's proposition in full
(``ML_Syntax.print_term`` of ``Thm.prop_of @{thm NAME}``, constants fully qualified, types shown), a
second theory importing only the trusted header and preamble would print the trusted statement read
there the same way, and the check would demand equality. To be confirmed on a machine with
Isabelle: how to read a ``fixes/assumes/shows`` statement into one proposition without proving it
(``Specification.theorem`` in a schematic state, or ``Proof_Context`` elements), normalising the
free variables of the read statement against the schematic ones of the exported theorem
(``Drule.zero_var_indexes``, variable names, sort constraints), that the clean reading can be cached
per statement (one extra ``use_theories`` per distinct statement), and that printing is stable
across Isabelle versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prover.itp.base import CheckRequest, Message, Reason, StaticVerdict
from prover.itp.guard import line_col
from prover.itp.isabelle.file import Built, TheoryBuilder
from prover.itp.isabelle.guard import check_candidate, check_imports, gravest_rule
from prover.itp.isabelle.text import blank_range, mask, scan_text, to_ascii_symbols

THEOREM_KEYWORDS = ("theorem", "lemma", "corollary", "proposition", "schematic_goal")
# fmt: off
# Proof commands: where a statement ends and its proof begins.
PROOF_START = frozenset({
    "proof", "by", "apply", "using", "unfolding", "including", "supply", "sorry", "oops", "done",
    "subgoal", "defer", "prefer", "sledgehammer", "txt", "nitpick", "quickcheck", "try0", "try",
    "print_state",
})
# Commands an untrusted piece may start with right after trusted text. A command keyword ends the
# command before it, so candidate text that starts with one cannot extend a trusted definition or
# the trusted statement (``if "False"`` after ``shows "P"`` would weaken it).
THEORY_COMMANDS = frozenset({
    *THEOREM_KEYWORDS, "lemmas", "declare", "named_theorems", "definition", "fun", "function",
    "primrec", "termination", "inductive", "inductive_set", "text", "text_raw", "chapter", "section",
    "subsection", "subsubsection", "paragraph", "subparagraph",
})
# fmt: on
DEFAULT_IMPORTS = (
    "Complex_Main",
    "HOL-Computational_Algebra.Computational_Algebra",
    "HOL-Number_Theory.Number_Theory",
)

_B, _E = r"(?<![A-Za-z0-9_'])", r"(?![A-Za-z0-9_'])"
_THEOREM_RE = re.compile(_B + "(?:" + "|".join(THEOREM_KEYWORDS) + ")" + _E)
_PROOF_RE = re.compile(_B + "(?:" + "|".join(PROOF_START) + ")" + _E)
_NAME_RE = re.compile(
    r"\A\w+\s+(?:\(\s*in\s+[^)]*\)\s*)?([A-Za-z][A-Za-z0-9_'.]*)\s*(?:\[[^\]]*\]\s*)?:(?!:)"
)
_HEADER_RE = re.compile(_B + r"theory\s+(\S+)\s+imports(.*?)" + _B + "begin" + _E, re.S)
_IMPORT_RE = re.compile(r'"[^"]*"|[^\s"]+')


@dataclass(frozen=True)
class Target:
    """The parsed trusted statement file."""

    imports: tuple[str, ...]
    preamble: str  # text between ``begin`` and the target (trusted definitions)
    statement: str  # ``theorem name: ...`` without its ``sorry``/``oops``
    name: str | None


@dataclass(frozen=True)
class Rejected:
    """A request refused before Isabelle sees it: what ``static_check`` and a full check both say."""

    reason: Reason
    messages: list[Message]
    detail: str | None = None

    @classmethod
    def because(
        cls, reason: Reason, detail: str, line: int | None = None, col: int | None = None
    ) -> Rejected:
        """A refusal with one message, which is also its detail."""
        return cls(reason, [Message("error", detail, line, col)], detail)


def _imports(header: str) -> tuple[str, ...]:
    body = re.split(_B + "(?:keywords|abbrevs)" + _E, header)[0]
    return tuple(tok.strip('"') for tok in _IMPORT_RE.findall(body))


def _theorem_name(statement: str) -> str | None:
    m = _NAME_RE.match(mask(statement))
    return m.group(1) if m else None


_TOKEN_RE = re.compile(r"\\<\^?[A-Za-z][A-Za-z0-9_']*>|[A-Za-z0-9_'.]+|\S")


def _normalize(text: str) -> list[str]:
    """Statement tokens for comparison: comments dropped, the keyword dropped, whitespace ignored
    (``x::real`` = ``x :: real``), Unicode symbols read as their ASCII names (``∀`` = ``\\<forall>``),
    and a cartouche as good as a string (``‹x = 1›`` = ``"x = 1"``), as for Isabelle. Only a
    consistency check: the trusted text is what is proved."""
    tokens = _TOKEN_RE.findall(to_ascii_symbols(mask(text, strings=False, cartouches=False)))[1:]
    return [_QUOTES.get(t, t) for t in tokens]


_QUOTES = {"\\<open>": '"', "\\<close>": '"'}


def _statement_end(scanned: str, start: int, stop: int) -> int:
    m = _PROOF_RE.search(scanned, start, stop)
    return m.start() if m else stop


def parse_target(text: str) -> Target:
    """Parse a trusted statement file: optional header, preamble, last theorem (ending in
    ``sorry``/``oops`` or nothing). Raises ``ValueError`` with a one-line reason."""
    text = text.replace("\r\n", "\n")
    scanned = scan_text(text)
    header = _HEADER_RE.search(mask(text, strings=False))
    body_start = header.end() if header else 0
    imports = _imports(header.group(2)) if header else DEFAULT_IMPORTS
    theorems = list(_THEOREM_RE.finditer(scanned, body_start))
    if not theorems:
        raise ValueError("the Isabelle statement holds no theorem/lemma to prove")
    start = theorems[-1].start()
    end_word = re.search(_B + "end" + _E + r"\s*\Z", scanned)
    stop = end_word.start() if end_word else len(text)
    statement = text[start : _statement_end(scanned, theorems[-1].end(), stop)].rstrip()
    return Target(imports, text[body_start:start], statement, _theorem_name(statement))


@dataclass(frozen=True)
class CandidateParts:
    """Where things are in the (newline-normalized) candidate text, as character spans."""

    text: str
    scanned: str  # ``scan_text(text)``
    imports: tuple[str, ...]
    trusted_copies: tuple[tuple[int, int], ...]  # header, preamble copy, final ``end``: not scanned
    body: tuple[int, int]
    own_statement: tuple[int, int] | None  # the candidate's copy of the target statement


def split_candidate(text: str, target: Target | None) -> CandidateParts | Rejected:
    text = text.replace("\r\n", "\n")
    scanned = scan_text(text)
    copies: list[tuple[int, int]] = []
    imports: tuple[str, ...] = ()
    first = re.search(r"[A-Za-z]\S*", scanned)
    body_start = 0
    if first and first.group(0) == "theory":
        header = _HEADER_RE.search(mask(text, strings=False), first.start())
        if header is None:
            return Rejected.because(Reason.ERROR, "theory header without 'imports ... begin'", 1, 0)
        imports, body_start = _imports(header.group(2)), header.end()
        copies.append((first.start(), body_start))
    end_word = re.search(_B + "end" + _E + r"\s*\Z", scanned[body_start:])
    body_end = body_start + end_word.start() if end_word else len(text)
    if end_word:
        copies.append((body_end, body_start + end_word.end()))
    if target is not None:
        copy_end = _prefix_copy_end(text, body_start, target.preamble)
        if copy_end is not None:
            copies.append((body_start, copy_end))
            body_start = copy_end
    own = _find_own_statement(text, scanned, body_start, body_end, target) if target else None
    if target is not None and own is None and _THEOREM_RE.search(scanned, body_start, body_end):
        what = f"theorem {target.name}" if target.name else "a theorem with the target statement"
        return Rejected.because(Reason.INCOMPLETE, f"the candidate does not prove {what}")
    return CandidateParts(text, scanned, imports, tuple(copies), (body_start, body_end), own)


def _prefix_copy_end(text: str, start: int, preamble: str) -> int | None:
    """End of a verbatim (whitespace aside) copy of ``preamble`` at ``start``, if there is one."""
    want = mask(preamble, strings=False, cartouches=False).split()
    if not want:
        return None
    chunks = list(re.finditer(r"\S+", mask(text, strings=False, cartouches=False)[start:]))
    if [c.group(0) for c in chunks[: len(want)]] != want:
        return None
    return start + chunks[len(want) - 1].end()


def _find_own_statement(
    text: str, scanned: str, start: int, stop: int, target: Target
) -> tuple[int, int] | None:
    wanted = _normalize(target.statement)
    for m in _THEOREM_RE.finditer(scanned, start, stop):
        end = _statement_end(scanned, m.end(), stop)
        own = text[m.start() : end]
        if (target.name and _theorem_name(own) == target.name) or (
            not target.name and _normalize(own) == wanted
        ):
            return m.start(), end
    return None


def _first_word(parts: CandidateParts, start: int, end: int) -> str | None:
    m = re.compile(r"[A-Za-z][A-Za-z0-9_']*|\S").search(parts.scanned, start, end)
    return m.group(0) if m else None


def check_joins(parts: CandidateParts) -> list[Message]:
    """Untrusted text after trusted text must start a new command: helper text a theory command,
    the text after the target statement a proof command."""
    body_start, body_end = parts.body
    own_start, own_end = parts.own_statement or (body_start, body_start)
    problems: list[Message] = []
    for start, end, allowed, what in (
        (body_start, own_start, THEORY_COMMANDS, "a theory command (lemma, definition, ...)"),
        (own_end, body_end, PROOF_START, "a proof command (proof, by, apply, using, ...)"),
    ):
        word = _first_word(parts, start, end)
        if word is not None and word not in allowed:
            k = parts.scanned.index(word, start)
            line, col = line_col(parts.text, k)
            text = f"forbidden: structure ('{word}' must be {what}: it would extend the trusted text)"
            problems.append(Message("error", text, line, col))
    return problems


def statement_matches(parts: CandidateParts, target: Target) -> bool:
    if parts.own_statement is None:
        return True  # a bare proof body: it is attached to the trusted statement directly
    a, b = parts.own_statement
    return _normalize(parts.text[a:b]) == _normalize(target.statement)


def scan_view(parts: CandidateParts) -> str:
    """The candidate with the trusted copies blanked: what the guard must judge."""
    view = parts.text
    for a, b in parts.trusted_copies:
        view = blank_range(view, a, b)
    return view


def build_theory(
    name: str, parts: CandidateParts, target: Target | None, hammer_timeout_s: int | None = None
) -> Built:
    """The theory file text for ``parts`` (already guarded) under the fresh theory ``name``."""
    if target is not None:
        imports = list(dict.fromkeys([*target.imports, *parts.imports]))
    else:
        imports = list(parts.imports or DEFAULT_IMPORTS)
    b = TheoryBuilder(parts.text)
    b.add(f"theory {name}\n  imports {' '.join(_quote(i) for i in imports)}\nbegin\n", "header")
    body_start, body_end = parts.body
    if target is None:
        b.add_candidate(body_start, body_end)
    else:
        b.add(target.preamble.rstrip() + "\n\n", "preamble")
        own_start, own_end = parts.own_statement or (body_start, body_start)
        b.add_candidate(body_start, own_start)
        b.add(target.statement + "\n", "statement")
        b.add_candidate(own_end, body_end)
    hammer_line = None
    if hammer_timeout_s is not None:
        hammer_line = "".join(b.chunks).count("\n") + 1
        b.add(f"sledgehammer [timeout = {hammer_timeout_s}]\noops\n", "check")
    b.add("end\n", "check")
    built = b.built()
    built.hammer_line = hammer_line
    return built


def _quote(theory: str) -> str:
    return theory if re.fullmatch(r"[A-Za-z][A-Za-z0-9_']*", theory) else f'"{theory}"'


def prepare(
    proof: str, statement: str | None, name: str, hammer_timeout_s: int | None = None
) -> Built | Rejected:
    """Parse, guard and assemble one request; ``Rejected`` when it must not reach Isabelle.
    With ``hammer_timeout_s`` the theory ends in ``sledgehammer`` and ``sorry`` is tolerated."""
    try:
        target = parse_target(statement) if statement is not None else None
    except ValueError as exc:
        return Rejected.because(Reason.BAD_STATEMENT, str(exc))
    parts = split_candidate(proof, target)
    if isinstance(parts, Rejected):
        return parts
    before_end = parts.own_statement[0] if parts.own_statement else parts.body[0]
    problems = check_imports(parts.imports, target.imports if target else ())
    problems += check_candidate(
        scan_view(parts),
        statement=target.statement if target else None,
        before_end=before_end,
        allow_cheats=hammer_timeout_s is not None,
    )
    if target is not None and not problems:
        problems = check_joins(parts)  # only news when no rule already named the first command
    if problems:
        return Rejected(Reason.FORBIDDEN, problems, gravest_rule(problems))
    own_end = parts.own_statement[1] if parts.own_statement else parts.body[0]
    if target is not None and hammer_timeout_s is None and _first_word(parts, own_end, parts.body[1]) is None:
        return Rejected.because(Reason.INCOMPLETE, "no proof of the target statement")
    if target is not None and not statement_matches(parts, target):
        line, col = line_col(parts.text, before_end)
        text = "the candidate's copy of the target statement differs from the trusted statement"
        return Rejected.because(Reason.STATEMENT_MISMATCH, text, line, col)
    return build_theory(name, parts, target, hammer_timeout_s)


def static_check(request: CheckRequest) -> StaticVerdict:
    """Every rule a full check applies before Isabelle runs (``prepare`` without the file): parsing
    the statement, splitting the candidate, imports, the guard, joins, the statement copy. A
    candidate refused here is refused with the same reason, detail and messages by a full check."""
    prepared = prepare(request.proof, request.statement, "Prover_Static")
    if isinstance(prepared, Rejected):
        return StaticVerdict(False, prepared.reason, prepared.messages, prepared.detail)
    return StaticVerdict(True)
