"""From a model's answer to a proof file (or a conjectured statement) a backend can check.

Tolerant of what models write: code fences (closed or not, any common tag), prose before or after
the code, a natural-language sketch before the final code block, a missing ``Qed.``, text after the
proof, an answer that repeats the whole statement or only gives the proof's body. Never trusting:
whatever comes out must pass the backend's ``static_check`` against the trusted statement (the same
rules a full check applies first); a refused candidate is returned as its refusal, not as text.
Only a pool verdict can make it a proof.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache

from prover.generate.lang import declared_name, language, masked, split_statement
from prover.itp import get_backend
from prover.itp.base import Backend, CheckRequest, Message, Reason, StaticVerdict

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_CODE_CHARS = set(":=()[]{};_<>|\\→←↔∀∃⊢≤≥≠∧∨¬λ⟨⟩\"'`")
_ROCQ_END = re.compile(r"(?:^|\s)(?:Qed|Defined|Admitted|Abort)\s*\.", re.MULTILINE)
_ISABELLE_PROOF = re.compile(
    r"\b(?:proof|by|apply|using|unfolding|including|sorry|oops|done)\b|^\s*end\b", re.MULTILINE
)
_INFORMAL_COMMENT = re.compile(r"^[ \t]*\(\*\s*informal:.*?\*\)[ \t]*\n", re.DOTALL | re.MULTILINE)
_ROCQ_AXIOM = re.compile(
    r"^[ \t]*(?:#\[[^\]]*\]\s*)?(?:(?:Local|Global)\s+)?"
    r"(?:Axioms?|Parameters?|Conjectures?|Hypothes(?:is|es)|Variables?)\b",
    re.MULTILINE,
)


@dataclass
class Extraction:
    """``text`` is set exactly when the candidate passed the static checks; otherwise ``refusal``
    says why (``candidate`` keeps what was assembled, for the record)."""

    text: str | None
    candidate: str
    refusal: StaticVerdict | None = None
    notes: list[str] = field(default_factory=list)  # what the extractor repaired (fence, Qed, …)

    @property
    def ok(self) -> bool:
        return self.text is not None


@cache
def _backend(key: str) -> Backend:
    return get_backend(key)


def is_prose(line: str) -> bool:
    """A line of English rather than code: a capitalised sentence of three words or more, mostly
    lowercase, with no code punctuation; or a short heading ending in a colon (``Explanation:``)."""
    s = line.strip()
    if not s or not s[0].isupper() or _CODE_CHARS & set(s.rstrip(":")):
        return False
    words = s.split()
    # English has mostly lowercase words; Rocq's vernacular (``Require Import Arith.``) does not.
    lower = sum(w[0].islower() for w in words)
    return (len(words) >= 3 and 2 * lower >= len(words)) or (s.endswith(":") and len(words) <= 3)


def trim_prose(text: str) -> str:
    """``text`` without the paragraphs of prose before the first and after the last line of code."""
    lines = text.splitlines()
    while lines and (not lines[0].strip() or is_prose(lines[0])):
        lines.pop(0)
    while lines and (not lines[-1].strip() or is_prose(lines[-1])):
        lines.pop()
    return "\n".join(lines)


def pick_code(key: str, answer: str, name: str | None) -> tuple[str, list[str]]:
    """The code in ``answer``: the last fenced block that declares ``name`` (else the last non-empty
    block; fences of another language are skipped), or the answer without its prose."""
    aliases = language(key).aliases
    blocks = [m.group(2) for m in _FENCE.finditer(answer) if not m.group(1) or m.group(1).lower() in aliases]
    blocks = [b for b in blocks if b.strip()]
    if not blocks:
        code = trim_prose(answer)
        return code, [] if code.strip() == answer.strip() else ["prose dropped"]
    if name is not None:
        declaring = [b for b in blocks if (found := declared_name(key, b)) and found[0] == name]
        if declaring:
            return declaring[-1], ["code fence"]
    return blocks[-1], ["code fence"]


def extract_proof(key: str, statement: str, answer: str) -> Extraction:
    """The proof file a model's ``answer`` stands for, checked statically against ``statement``.

    ``answer`` is the whole answer, including the prompt's response prefix (``Prompt.answer``)."""
    split = split_statement(key, statement)
    code, notes = pick_code(key, answer, split.name)
    found = declared_name(key, code)
    if found is not None and found[0] == split.name:  # the whole file, or the theorem with its proof
        # Whatever the model put before the theorem (helper lemmas) stays, and the static check sees it.
        candidate = split.header + code.lstrip() if _lacks_header(code, split.header) else code
        notes.append("whole file")
    else:
        candidate = split.stub + _body(key, split.stub, code) + split.tail
    candidate, more = _finish(key, candidate)
    return _checked(key, statement, candidate, notes + more)


def _lacks_header(code: str, header: str) -> bool:
    """Whether the model wrote only the theorem, not the file's imports (then the trusted header
    is put back in front)."""
    lines = (ln.strip() for ln in header.splitlines())
    first = next((ln for ln in lines if ln and not ln.startswith("(*")), None)
    return first is not None and first not in code


def _body(key: str, stub: str, code: str) -> str:
    """The proof's body, without a repetition of the stub's last word (``Proof.``, ``by``)."""
    body = code.strip("\n")
    if key == "rocq" and stub.rstrip().endswith("Proof."):
        body = re.sub(r"^\s*Proof\s*\.", "", body, count=1)
    elif key == "lean" and stub.rstrip().endswith("by"):
        body = re.sub(r"^\s*by\b", "", body, count=1)
    lines = body.rstrip().splitlines()
    if not any(ln[:1].isspace() for ln in lines if ln.strip()):
        # Lean needs a tactic block indented under ``by``; the others do not mind.
        lines = ["  " + ln if ln.strip() else ln for ln in lines]
    return "\n".join(lines) + "\n"


def _finish(key: str, text: str) -> tuple[str, list[str]]:
    """Rocq: drop what follows the last ``Qed.`` when it is not code; add a missing ``Qed.``.
    Isabelle: add a missing ``end``."""
    notes: list[str] = []
    if key == "rocq":
        scan = masked(key, text)
        ends = list(_ROCQ_END.finditer(scan))
        opened = [m.end() for m in re.finditer(r"(?:^|\s)Proof\b", scan)]
        if not ends or (opened and opened[-1] > ends[-1].end()):
            text = text.rstrip() + "\nQed.\n"
            notes.append("Qed. added")
        else:
            rest = text[ends[-1].end() :]
            if rest.strip() and all(is_prose(ln) or not ln.strip() for ln in rest.splitlines()):
                text = text[: ends[-1].end()] + "\n"
                notes.append("trailing text dropped")
    elif key == "isabelle" and not re.search(r"\bend\s*$", masked(key, text)):
        text = text.rstrip() + "\n\nend\n"
        notes.append("end added")
    return text, notes


def _refuse(candidate: str, detail: str, notes: list[str], line: int | None = None) -> Extraction:
    verdict = StaticVerdict(False, Reason.FORBIDDEN, [Message("error", f"forbidden: {detail}", line)], detail)
    return Extraction(None, candidate, verdict, notes)


def _checked(key: str, statement: str, candidate: str, notes: list[str]) -> Extraction:
    if key == "rocq":
        # Rocq's static check leaves new axioms to the full check's axiom test. A generated proof has
        # no business declaring one, so it is refused here without spending a pool check (a
        # declaration the trusted statement itself makes, repeated verbatim, is left to the check).
        from prover.itp.rocq.text import split_sentences

        trusted = _trusted_sentences(statement)
        for sentence in split_sentences(candidate):
            match = _ROCQ_AXIOM.match(sentence.text)
            if match and sentence.normalized not in trusted:
                line = candidate.count("\n", 0, sentence.start) + 1
                detail = f"{match.group(0).strip()} (a proof may not declare axioms)"
                return _refuse(candidate, detail, notes, line)
    verdict = _backend(key).static_check(CheckRequest(candidate, statement))
    if not verdict.passed:
        return Extraction(None, candidate, verdict, notes)
    return Extraction(candidate, candidate, None, notes)


@lru_cache(maxsize=256)
def _trusted_sentences(statement: str) -> frozenset[str]:
    """The trusted statement's sentences, read once for all of a problem's k samples and revisions
    (the statement is the same text for every one of them)."""
    from prover.itp.rocq.text import split_sentences

    return frozenset(s.normalized for s in split_sentences(statement))


_STATEMENT_END = {
    "rocq": "\nProof.\nAdmitted.\n",
    "lean": " := by sorry\n",
    "isabelle": "\n  sorry\n\nend\n",
}
# A harmless proof, only to run the static checks of a new statement (the proof's own text can
# never be what they refuse).
_PROBE = {"rocq": "  idtac.\nQed.\n", "lean": "  simp\n", "isabelle": "  by simp\n"}


def extract_conjecture(key: str, source_statement: str, answer: str) -> Extraction:
    """A new statement from a conjecturer's answer: the source statement's trusted header plus
    exactly one theorem declaration from the answer, ending in the language's placeholder proof.
    Anything else the model wrote (definitions, axioms, a proof) is dropped, so a conjecture can
    never bring its own axioms: a statement's declarations count as trusted when its proofs are
    checked. The result is statically checked as a statement."""
    split = split_statement(key, source_statement)
    code, notes = pick_code(key, answer, None)
    found = declared_name(key, code)
    if found is None:
        return _refuse(code, "no theorem declaration in the answer", notes)
    decl = _declaration(key, code[found[1] :])
    if decl is None:
        return _refuse(code, "the theorem declaration does not end", notes)
    # The source's informal statement describes the source theorem, not the new one.
    header = _INFORMAL_COMMENT.sub("", split.header)
    statement = header + decl + _STATEMENT_END[key]
    if found[0] == split.name:
        notes.append("same name as the source theorem")
    probe = split_statement(key, statement)
    verdict = _backend(key).static_check(CheckRequest(probe.stub + _PROBE[key] + probe.tail, statement))
    if not verdict.passed:
        return Extraction(None, statement, verdict, notes)
    return Extraction(statement, statement, None, notes)


def _declaration(key: str, code: str) -> str | None:
    """The theorem declaration at the start of ``code``, without its proof; None when it has no end."""
    if key == "rocq":
        from prover.itp.rocq.text import split_sentences, theorem_of

        sentences = split_sentences(code)
        if not sentences or theorem_of(sentences[0]) is None:
            return None
        return sentences[0].text
    scan = masked(key, code, strings=True)
    if key == "lean":  # up to the first ``:=`` outside brackets
        depth = 0
        for i, ch in enumerate(scan):
            if ch in "([{⟨":
                depth += 1
            elif ch in ")]}⟩":
                depth -= 1
            elif depth == 0 and scan.startswith(":=", i):
                return code[:i].rstrip()
        return None
    # Isabelle: up to the first proof command outside the quoted terms
    stop = _ISABELLE_PROOF.search(scan)
    text = (code if stop is None else code[: stop.start()]).rstrip()
    return text if "shows" in text or text.endswith('"') else None
