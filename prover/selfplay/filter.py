"""Which conjectures are worth proving (Rocq): a statement under its seed's trusted header and
nothing else, new, well-typed, not closed by a trivial tactic, and with consistent hypotheses.

The verifier trusts whatever a statement file declares, so a conjecture may never declare anything:
its file is rebuilt here from the seed's header and the one theorem it states, and any other
sentence refuses it. Every question for Coq goes through the verifier pool, submitted per stage for
all candidates at once; a conjecture is called trivial or inconsistent only on a pool verdict with
``verified=True``, so the filter can wrongly keep a conjecture but never wrongly drop one as
trivial or inconsistent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from prover.generate.extract import extract_conjecture, pick_code
from prover.itp.base import BackendUnavailable, CheckRequest, Reason, Verdict
from prover.itp.rocq.statement import TOKEN, RocqStatement, read
from prover.itp.rocq.static import static_check
from prover.itp.rocq.text import THEOREM_KEYWORDS
from prover.search.tactics import EXTRA_IMPORTS
from prover.verify.pool import CheckPool

REASONS = ("declares", "duplicate", "bad_statement", "trivial", "inconsistent")

TRIVIAL_TACTICS = (
    "intros; reflexivity",
    "trivial",
    "intros; assumption",
    "auto",
    "intros; discriminate",
    "intros; subst; reflexivity",
)
REFUTING_TACTICS = ("lia", "nia", "lra", "nra")
# Introduces the hypotheses only. Introducing the premise of a negated conclusion (`P -> False`)
# would let `exfalso` use the conclusion itself; `forall _, _` matches products syntactically, so
# `intro` cannot unfold `Z.ge` or `not` into a product either.
HYPOTHESES_INTROS = "repeat match goal with |- _ -> False => fail 1 | |- forall _, _ => intro end"

_INFORMAL_COMMENT = re.compile(r"^[ \t]*\(\*\s*informal:.*?\*\)[ \t]*\n", re.DOTALL | re.MULTILINE)
_PLAIN_THEOREM = re.compile(rf"^(?:{'|'.join(THEOREM_KEYWORDS)})\s+[^\W\d][\w']*[\s(:]")
_THEOREM_START = re.compile(
    r"^(?:#\[[^\]]*\]\s*)?(?:(?:Local|Global|Polymorphic|Monomorphic|Program)\s+)*"
    rf"(?:{'|'.join(THEOREM_KEYWORDS)})\b"
)
_TAILS = {(), ("Proof.",), ("Admitted.",), ("Proof.", "Admitted."), ("Proof.", "Abort.")}
# Vernacular that declares, loads or changes something: never part of a model's conjecture.
_DECLARING = re.compile(
    r"^(?:#\[[^\]]*\]\s*)?(?:(?:Local|Global|Polymorphic|Monomorphic|Program|Private|Export)\s+)*"
    r"(?:Axioms?|Parameters?|Conjectures?|Hypothes(?:is|es)|Variables?|Context|Definition|Let|"
    r"(?:Co)?Fixpoint|(?:Co)?Inductive|Variant|Record|Structure|Class|Instance|Existing|Notation|"
    r"Infix|Reserved|Ltac2?|Tactic|Module|Section|Declare|Coercion|Canonical|Hint|Arguments|Require|"
    r"Import|From|Open|Close|Set|Unset|Opaque|Transparent|Strategy|Delimit|Bind|Function|Equations|"
    r"Scheme|Add|Remove|Obligations?|Next|Solve|Universe|Constraint)\b"
)
_IDENT = re.compile(r"[^\W\d][\w']*")
_KEYWORDS = frozenset(
    {"forall", "exists", "exists2", "fun", "let", "in", "if", "then", "else", "match", "with", "end",
     "as", "return", "Type", "Prop", "Set", "SProp", "_"}
)
_BINDING = frozenset({"forall", "exists", "exists2", "fun"})


@dataclass
class Candidate:
    statement: str  # a whole statement file, as generated (untrusted)
    seed_statement: str  # the trusted statement it was made from: its header is the conjecture's
    origin: str = ""  # what made it (a mutation kind, "model"), carried into the result
    # The two texts read once (``read``); given by a caller that already holds them, else read here.
    parsed: RocqStatement | None = field(default=None, repr=False, compare=False)
    seed: RocqStatement | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.parsed is None:
            self.parsed = read(self.statement)
        if self.seed is None:
            self.seed = read(self.seed_statement)
        assert self.parsed.text == self.statement and self.seed.text == self.seed_statement

    @classmethod
    def of(cls, parsed: RocqStatement, seed: RocqStatement, origin: str = "") -> Candidate:
        return cls(parsed.text, seed.text, origin, parsed, seed)

    def read(self) -> tuple[RocqStatement, RocqStatement]:
        """The candidate and its seed, as read."""
        assert self.parsed is not None and self.seed is not None
        return self.parsed, self.seed


@dataclass
class FilterResult:
    statement: str  # the rebuilt conjecture file; the candidate's own text when it was refused early
    kept: bool
    reason: str | None = None  # one of REASONS when not kept
    detail: str | None = None
    origin: str = ""
    parsed: RocqStatement | None = field(default=None, repr=False, compare=False)  # ``statement`` read


@dataclass(frozen=True)
class _Built:
    header: str  # the seed's text before its theorem, informal comment dropped
    declaration: str  # the one theorem sentence, comments stripped
    source: RocqStatement  # the candidate it was rebuilt from

    @cached_property
    def parsed(self) -> RocqStatement:
        """``file`` read: the candidate's own reading when the rebuilt file is its text (a symbolic
        variant is made in exactly this form), else ``file`` read now, once."""
        file = self.file
        return self.source if self.source.text == file else read(file)

    @property
    def file(self) -> str:
        return f"{self.header}{self.declaration}\nProof.\nAdmitted.\n"

    def proof(self, body: str, imports: str = "") -> str:
        return f"{self.header}{imports}{self.declaration}\nProof.\n  {body}\nQed.\n"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _seed_header(seed: RocqStatement) -> tuple[str, list[str]]:
    """The seed's text before its theorem and the sentences of it, comments stripped and flattened."""
    if seed.at is None:
        raise ValueError("the seed statement states no Theorem/Lemma")
    header = _INFORMAL_COMMENT.sub("", seed.header)
    if header.strip() and not header.endswith("\n"):
        header += "\n"
    return ("" if not header.strip() else header), [_flat(s.text) for s in seed.header_sentences]


def _as_read(statement: str | RocqStatement) -> RocqStatement:
    return read(statement) if isinstance(statement, str) else statement


def conjecture_file(seed_statement: str | RocqStatement, declaration: str) -> str:
    """The statement file of a conjecture: the seed's header, ``declaration`` (one ``Theorem …``
    sentence) and a placeholder proof."""
    return f"{_seed_header(_as_read(seed_statement))[0]}{declaration.strip()}\nProof.\nAdmitted.\n"


def _short(text: str, limit: int = 60) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    flat = _flat(text)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _build(candidate: Candidate) -> _Built | tuple[str, str]:
    """The conjecture rebuilt under its seed's header, or (reason, detail) when it is not exactly
    that header and one plain theorem."""
    parsed, seed = candidate.read()
    header, seed_sentences = _seed_header(seed)
    sentences = parsed.sentences
    at = next((i for i, s in enumerate(sentences) if _THEOREM_START.match(s.text)), None)
    if at is None:
        return "declares", "states no Theorem/Lemma"
    before = [_flat(s.text) for s in sentences[:at]]
    if before != seed_sentences:
        extra = [s for s in before if s not in seed_sentences]
        if extra:
            return "declares", f"declares {_short(extra[0])!r} beyond the seed's header"
        return "declares", "its header differs from the seed's"
    theorem = sentences[at]
    # The first theorem-like sentence states a target exactly when it is the one ``read`` found.
    if not _PLAIN_THEOREM.match(theorem.text) or parsed.at != at:
        return "declares", f"not a plain theorem declaration: {_short(theorem.text)!r}"
    tail = tuple(_flat(s.text) for s in sentences[at + 1 :])
    if tail not in _TAILS:
        odd = next(s for s in tail if s not in ("Proof.", "Admitted."))
        return "declares", f"has {_short(odd)!r} after the theorem"
    if "ltac:" in parsed.masked_text(theorem):
        return "declares", "runs a tactic (ltac:) inside the statement"
    built = _Built(header, theorem.text.strip(), parsed)
    verdict = static_check(CheckRequest(built.proof("idtac."), built.file))
    if not verdict.passed:
        reason = "declares" if verdict.reason is Reason.FORBIDDEN else "bad_statement"
        return reason, _short(verdict.detail or "", 300)
    return built


def declares_refusal(
    statement: str | RocqStatement, seed_statement: str | RocqStatement
) -> tuple[str, str] | None:
    """Why ``statement`` is not exactly its seed's header and one plain theorem, as (reason, detail);
    None when it is (the first stage of the filter, without Coq)."""
    made = _build(Candidate.of(_as_read(statement), _as_read(seed_statement)))
    return None if isinstance(made, _Built) else made


# -- normal forms ----------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def _is_name(token: str) -> bool:
    return bool(_IDENT.fullmatch(token)) and token not in _KEYWORDS


def _close(tokens: list[str], i: int) -> int:
    """Index of the bracket closing the one at ``i`` (or the end)."""
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j] in ("(", "[", "{")
        depth -= tokens[j] in (")", "]", "}")
        if depth == 0:
            return j
    return len(tokens)


def _find(tokens: list[str], start: int, stops: tuple[str, ...]) -> int:
    """Index of the first of ``stops`` at bracket depth 0 from ``start`` (or the end)."""
    depth = 0
    for j in range(start, len(tokens)):
        if depth == 0 and tokens[j] in stops:
            return j
        depth += tokens[j] in ("(", "[", "{")
        depth -= tokens[j] in (")", "]", "}")
        if depth < 0:
            return j
    return len(tokens)


def _binder_names(tokens: list[str], start: int, stop: int, names: list[str]) -> None:
    i = start
    while i < stop:
        token = tokens[i]
        if token in ("(", "[", "{"):
            j = i + 1
            while j < stop and _is_name(tokens[j]):
                names.append(tokens[j])
                j += 1
            i = _close(tokens, i) + 1
        elif token == ":":  # `forall a b : T,`: the rest is the type
            return
        else:
            if _is_name(token):
                names.append(token)
            i += 1


def normalise(statement: str) -> str:
    """A form equal for statements that differ only in comments, layout, the theorem's name and
    keyword, and the names of their bound variables and hypotheses (renamed in binding order).
    Idempotent, so a stored normal form can be passed where a statement is expected."""
    return normal_form(read(statement))


def normal_form(statement: RocqStatement) -> str:
    """``normalise`` of a statement already read."""
    sentences, at = statement.sentences, statement.at
    if at is None:
        raise ValueError("the statement states no Theorem/Lemma")
    header = [" ".join(_tokens(s.text)) for s in sentences[:at]]
    tokens = _tokens(sentences[at].text)
    keyword = next(i for i, t in enumerate(tokens) if t in THEOREM_KEYWORDS)
    tokens = ["Theorem", "_", *tokens[keyword + 2 :]]
    names: list[str] = []
    _binder_names(tokens, 2, _find(tokens, 2, (":",)), names)
    for i, token in enumerate(tokens):
        if token in _BINDING:
            _binder_names(tokens, i + 1, _find(tokens, i + 1, (",", "=>")), names)
    renamed: dict[str, str] = {}
    for name in names:
        renamed.setdefault(name, f"__b{len(renamed)}")
    return " ".join([*header, " ".join(renamed.get(t, t) for t in tokens)])


def _known_form(statement: RocqStatement) -> str:
    try:
        return normal_form(statement)
    except ValueError:
        return _flat(statement.text)


# -- the filter ------------------------------------------------------------------------------------


def _solve(tactics: Sequence[str], budget_s: float) -> str:
    """One proof body trying each tactic under its own share of the budget (a per-tactic
    ``timeout`` fails that tactic alone; the pool's timeout would restart the whole session)."""
    each = max(1, int(budget_s // len(tactics)))
    return "solve [ " + " | ".join(f"timeout {each} ({t})" for t in tactics) + " ]."


def _raise_unavailable(verdicts: dict[int, Verdict]) -> None:
    for verdict in verdicts.values():
        if verdict.reason is Reason.UNAVAILABLE:
            raise BackendUnavailable(verdict.messages[0].text if verdict.messages else "Coq is unavailable")


def filter_conjectures(
    candidates: Sequence[Candidate],
    pool: CheckPool,
    seen: Iterable[str] = (),
    quick_timeout_s: float = 5.0,
) -> list[FilterResult]:
    """One result per candidate, in order. ``seen``: statements (or their ``normalise`` forms)
    already known; a candidate restating its own seed is a duplicate too."""
    results: dict[int, FilterResult] = {}
    built: dict[int, _Built] = {}
    for i, candidate in enumerate(candidates):
        made = _build(candidate)
        if isinstance(made, _Built):
            built[i] = made
        else:
            results[i] = FilterResult(candidate.statement, False, *made, origin=candidate.origin)

    known = {_known_form(read(s)): "already seen" for s in seen}
    seed_forms: dict[str, str] = {}  # a batch has a few seeds and many candidates of each
    for i, b in list(built.items()):
        form = normal_form(b.parsed)
        seed = candidates[i].read()[1]
        if seed.text not in seed_forms:
            seed_forms[seed.text] = _known_form(seed)
        why = "restates its seed" if form == seed_forms[seed.text] else known.get(form)
        if why is not None:
            results[i] = FilterResult(b.file, False, "duplicate", why, candidates[i].origin, b.parsed)
            del built[i]
        else:
            known[form] = f"same as candidate {i}"

    # Stages 3 and 4 share one check: the statement is elaborated before any proof text runs, so a
    # bad statement reports bad_statement whatever the proof; otherwise the verdict is the proof's.
    stages = (
        ("trivial", TRIVIAL_TACTICS, _solve(TRIVIAL_TACTICS, quick_timeout_s), ""),
        (
            "inconsistent",
            REFUTING_TACTICS,
            f"({HYPOTHESES_INTROS}); exfalso; {_solve(REFUTING_TACTICS, quick_timeout_s)}",
            EXTRA_IMPORTS[0] + "\n",
        ),
    )
    for reason, tactics, body, imports in stages:
        submitted = {
            i: pool.submit(CheckRequest(b.proof(body, imports), b.file), quick_timeout_s)
            for i, b in built.items()
        }
        verdicts = {i: future.result() for i, future in submitted.items()}
        _raise_unavailable(verdicts)
        for i, verdict in verdicts.items():
            origin, b = candidates[i].origin, built[i]
            if verdict.reason is Reason.BAD_STATEMENT:
                detail = _short(verdict.detail or "", 300)
                results[i] = FilterResult(b.file, False, "bad_statement", detail, origin, b.parsed)
            elif verdict.verified:
                detail = f"closed by one of: {', '.join(tactics)}"
                results[i] = FilterResult(b.file, False, reason, detail, origin, b.parsed)
            else:
                continue
            del built[i]
    for i, b in built.items():
        results[i] = FilterResult(b.file, True, origin=candidates[i].origin, parsed=b.parsed)
    return [results[i] for i in range(len(candidates))]


def from_model(seed_statement: str | RocqStatement, answer: str) -> Candidate | FilterResult:
    """The model conjecturer's ``answer`` as a candidate, or its refusal: an answer whose code
    declares anything beyond the seed's header is refused as ``declares`` even though the extractor
    would drop the declaration (a conjecture built on a dropped definition could not mean what the
    model meant)."""
    seed = _as_read(seed_statement)
    _, seed_sentences = _seed_header(seed)
    code, _ = pick_code("rocq", answer, None)
    sentences = read(code).sentences
    for sentence in sentences:
        if _DECLARING.match(sentence.text) and _flat(sentence.text) not in seed_sentences:
            return FilterResult(code, False, "declares", f"declares {_short(sentence.text)!r}", "model")
    if not any(_THEOREM_START.match(s.text) for s in sentences):
        return FilterResult(code, False, "bad_statement", "the answer states no theorem", "model")
    extraction = extract_conjecture("rocq", seed.text, answer)
    if extraction.text is not None:
        return Candidate.of(read(extraction.text), seed, "model")
    refusal = extraction.refusal
    reason = "declares" if refusal is not None and refusal.reason is Reason.FORBIDDEN else "bad_statement"
    detail = refusal.detail if refusal is not None else None
    return FilterResult(extraction.candidate, False, reason, detail, "model")


def summary(results: Iterable[FilterResult]) -> dict[str, int]:
    """How many were kept and how many were refused for each reason."""
    counts = Counter("kept" if r.kept else (r.reason or "?") for r in results)
    return {key: counts.get(key, 0) for key in ("kept", *REASONS)}
