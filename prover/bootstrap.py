"""NL-FL bootstrapping (TheoremLlama): natural-language comments interleaved with a formal proof.

Fine-tuning on proofs whose steps are explained in English teaches the model the reasoning, not
only the syntax. ``annotate`` inserts whole comment lines before the proof's steps (a model's sketch
spread over the steps, or the problem's informal text plus one description per step), leaving every
original line as it was; ``bootstrap`` then has the verifier pool check the annotated files, because
a comment that ended early would change the proof, and only a pool verdict says it did not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from prover.generate.lang import declared_name, masked
from prover.generate.lang import language as _language
from prover.itp.base import CheckRequest
from prover.itp.rocq.text import Sentence, split_sentences, theorem_of
from prover.verify.pool import CheckPool

_ROCQ_END = re.compile(r"^(?:Qed|Defined|Admitted|Abort|Save)\b")
_ROCQ_NOISE = re.compile(r"^(?:[-+*]+|[{}]|(?:\d+|all|\[[\w']+\])\s*:\s*\{?)\s*")
_LEAN_FOCUS = re.compile(r"^(?:[·.]|(?:case|next)\b[^=]*=>)\s*")
_ISABELLE_DECL = re.compile(r"^[ \t]*(?:theorem|lemma|corollary|proposition)\b", re.MULTILINE)
_ISABELLE_STEP = re.compile(
    r"^(?:by|apply|using|unfolding|have|show|hence|thus|then|from|with|obtain|proof|qed|done|next|fix|"
    r"assume|case|also|finally|moreover|ultimately|note|let|define|consider|subgoal)\b"
)
# Lean tactics a proof line may start with; other lines are continuations of a term.
_LEAN_WORDS = frozenset(re.findall(r"\S+", """
    simp simp_all nlinarith linarith norm_num omega ring ring_nf field_simp positivity intro intros
    rintro rcases obtain cases cases' induction induction' exact exacts refine refine' apply rw rwa
    rewrite nth_rewrite decide native_decide use exists constructor have show calc unfold delta subst
    specialize left right exfalso contradiction absurd aesop tauto trivial rfl gcongr push_cast
    norm_cast exact_mod_cast interval_cases fin_cases by_contra by_cases push_neg congr ext funext
    symm split_ifs split all_goals any_goals try repeat first change set let suffices zify qify abel
    linear_combination polyrith bound contrapose choose match"""))

# Per language, (regex over the whole step, template): the first full match wins, so specific forms
# come first. ``{1}`` is a group; ``{names1}``, ``{rewrites1}``, ``{in1}``, ``{using1}``, ``{goal1}``
# render a group as a list of names, a chain of rewrites, " in X", " using X", "hypothesis X"/"the
# goal"; ``{sub1}`` describes a group as a step of its own.
_ROCQ: list[tuple[str, str]] = [
    (r"intros?", "Introduce the variables and hypotheses."),
    (r"intros?\s+([\w' ]+)", "Introduce {names1}."),
    (r"intros?\s+(.+)", "Introduce the hypotheses, taking them apart as {1}."),
    (r"induction\s+(\S+).*", "Proceed by induction on {1}."),
    (r"(?:destruct|case|elim)\s+(.+?)(?:\s+as\s+.*|\s+eqn:.*)?", "Split into cases on {1}."),
    (r"split", "Split the goal into its parts and prove each."),
    (r"e?exists\s+(.+)", "Take {1} as the witness."),
    (r"e?apply\s+(.+?)\s+in\s+(.+)", "Apply {1} to hypothesis {2}."),
    (r"e?apply\s+(.+)", "Apply {1}, reducing the goal to its premises."),
    (r"exact\s+(.+)", "The goal is exactly {1}."),
    (r"(?:e?rewrite|setoid_rewrite)\s+(.+?)(?:\s+in\s+(\S+))?", "Rewrite {rewrites1}{in2}."),
    (r"(?:simpl|cbn)(?:\s+in\s+(\S+))?", "Simplify {goal1} by computation."),
    (r"unfold\s+(.+?)(?:\s+in\s+(\S+))?", "Unfold the definition of {1}{in2}."),
    (r"reflexivity", "Both sides are the same after computation (reflexivity)."),
    (r"lia|omega", "Conclude by linear integer arithmetic (lia)."),
    (r"nia", "Conclude by nonlinear integer arithmetic (nia)."),
    (r"lra|fourier", "Conclude by linear real arithmetic (lra)."),
    (r"nra", "Conclude by nonlinear real arithmetic, using products of hypotheses (nra)."),
    (r"psatz\b.*", "Conclude with a Positivstellensatz certificate (psatz)."),
    (r"field_simplify\b.*", "Clear the denominators of the field expressions."),
    (r"field", "Prove the identity by field arithmetic, leaving nonzero denominators as side goals."),
    (r"ring_simplify\b.*", "Normalise both sides as polynomials."),
    (r"ring", "Both sides are equal as polynomials (ring)."),
    (r"e?auto\b.*", "Finish automatically (auto)."),
    (r"tauto|itauto", "It is a propositional tautology (tauto)."),
    (r"intuition\b.*", "Finish by propositional reasoning (intuition)."),
    (r"congruence", "Conclude from the equalities by congruence."),
    (r"subst\b.*", "Substitute the variables that equations define."),
    (r"assert\s*\((?:\w+\s*:\s*)?(.+)\)(?:\s+as\s+\S+)?", "First show the claim {1}."),
    (r"pose\s+proof\s+(.+?)(?:\s+as\s+\S+)?", "Recall the fact {1}."),
    (r"(?:pose|set)\s*\((\w+)\s*:=\s*(.+)\)", "Let {1} stand for {2}."),
    (r"specialize\s*\(?(\S+)\s+(.+?)\)?", "Instantiate {1} with {2}."),
    (r"(?:vm_compute|compute|native_compute)\b.*", "Evaluate the goal by computation."),
    (r"discriminate\b.*", "The equation is impossible: distinct constructors are never equal."),
    (r"inversion\s+(\S+).*", "Invert {1}: see which cases could have produced it."),
    (r"f_equal", "Reduce to showing the arguments are equal."),
    (r"replace\s+(.+?)\s+with\s+(.+)", "Replace {1} by the equal term {2}."),
    (r"e?assumption", "The goal is one of the hypotheses."),
    (r"(left|right)", "Prove the {1} alternative."),
    (r"symmetry", "Swap the two sides of the equation."),
    (r"exfalso", "Derive a contradiction instead."),
    (r"contradiction\b.*", "The hypotheses contradict each other."),
    (r"constructor", "Apply the goal's constructor."),
    (r"trivial|easy", "The goal is immediate."),
]
_LEAN: list[tuple[str, str]] = [
    (r"simp_all\b.*", "Simplify the goal and all hypotheses."),
    (r"simp\b[^\[]*?(?:\[(.+)\])?(?:\s+at\s+(.+))?", "Simplify{using1}{in2}."),
    (r"nlinarith\b.*", "Conclude by nonlinear arithmetic (nlinarith), using products of facts."),
    (r"linarith\b.*", "Conclude by linear arithmetic (linarith)."),
    (r"norm_num\b.*?(?:\s+at\s+(.+))?", "Evaluate the numerals (norm_num){in1}."),
    (r"omega", "Conclude by linear integer arithmetic (omega)."),
    (r"ring_nf\b.*", "Normalise both sides as polynomials."),
    (r"ring", "Both sides are equal as polynomials (ring)."),
    (r"field_simp\b.*", "Clear the denominators."),
    (r"positivity", "The expression is positive by its shape (positivity)."),
    (r"r?intros?", "Introduce the variables and hypotheses."),
    (r"r?intros?\s+(.+)", "Introduce {names1}."),
    (r"(?:rcases|obtain|cases')\s+(?:(.+?)\s+with\s+.+|.+?\s*:=\s*(.+))", "Take apart {1}{2}."),
    (r"induction'?\s+(\S+).*", "Proceed by induction on {1}."),
    (r"(?:cases|match)\s+(\S+).*", "Split into cases on {1}."),
    (r"exact\s+(.+)", "The goal is exactly {1}."),
    (r"refine'?\s+(.+)", "Refine the goal to {1}."),
    (r"apply\s+(.+)", "Apply {1}, reducing the goal to its premises."),
    (r"(?:rw|rewrite|rwa)\s*\[(.+?)\](?:\s+at\s+(.+))?", "Rewrite {rewrites1}{in2}."),
    (r"(?:native_)?decide", "Decide the statement by computation."),
    (r"(?:use|exists)\s+(.+)", "Take {1} as the witness."),
    (r"constructor", "Split the goal into its parts and prove each."),
    (r"have\s+(?:\S+\s*)?:\s*(.+?)(?:\s*:=.*)?", "First show the claim {1}."),
    (r"show\s+(.+?)(?:\s+from.*|\s*:=.*)?", "It remains to show {1}."),
    (r"calc\b.*", "Compute by a chain of equalities."),
    (r"(?:unfold|delta)\s+(.+?)(?:\s+at\s+(.+))?", "Unfold the definition of {1}{in2}."),
    (r"subst\b.*", "Substitute the variables that equations define."),
    (r"specialize\s+(\S+)\s+(.+)", "Instantiate {1} with {2}."),
    (r"(left|right)", "Prove the {1} alternative."),
    (r"exfalso", "Derive a contradiction instead."),
    (r"(?:contradiction|absurd)\b.*", "The hypotheses contradict each other."),
    (r"(?:aesop|tauto|trivial|rfl)\b.*", "The goal is immediate."),
]
_ISABELLE: list[tuple[str, str]] = [
    (r"(?:qed|done|next|oops|sorry)\b.*", ""),
    (r"proof\s*-?", "Prove it step by step."),
    (r"proof\s*\((?:induct|induction)\s+([^)\s]+).*", "Proceed by induction on {1}."),
    (r"proof\s*\(cases\s+(.+)\)", "Split into cases on {1}."),
    (r"case\s+(.+)", "The case {1}."),
    (r"(?:then|hence|thus)\s+((?:show|have|obtain)\b.*)", "Hence: {sub1}"),
    (r"(?:using|from|with)\s+(.+?)\s+((?:by|apply|show|have)\b.+)", "Using {1}: {sub2}"),
    (r"unfolding\s+(.+?)\s+((?:by|apply)\b.+)", "Unfold {1}. {sub2}"),
    (r"(?:show|thus)\s+\?(?:thesis|case)\s*(.*)", "Conclude the goal. {sub1}"),
    (r"(?:have|show|obtain)\s+.*?\"([^\"]*)\"\s*(.*)", "We have {1}. {sub2}"),
    (r"apply\s*\(?\s*(?:induct|induction)\s+([^)\s]+)\)?", "Proceed by induction on {1}."),
    (r"apply\s*\(\s*(?:rule|erule|drule)\s+(.+)\)", "Apply the rule {1}."),
    (r"(?:by|apply)\s*\(?\s*(?:simp|simp_all|auto|force|fastforce|clarsimp)\b(?:.*?add:\s*([^)]+))?.*",
     "Simplify and finish automatically{using1}."),
    (r"(?:by|apply)\s*\(?\s*(?:arith|linarith|presburger)\b.*", "Conclude by arithmetic."),
    (r"(?:by|apply)\s*\(?\s*(?:blast|metis|meson|smt)\b.*", "Conclude by first-order reasoning."),
    (r"(?:by|apply)\s*\(?\s*(?:eval|code_simp|normalization|decide)\b.*", "Evaluate by computation."),
    (r"(?:by|apply)\s*\(?\s*(?:algebra|field_simps|ring)\b.*", "Conclude by algebra."),
    (r"fix\s+(.+)", "Fix an arbitrary {1}."),
    (r"assume\s+.*?\"([^\"]*)\".*", "Assume {1}."),
    (r"(?:also|moreover)\b.*", "Moreover,"),
    (r"(?:finally|ultimately)\b.*", "Putting the steps together."),
]
_TABLES = {"rocq": _ROCQ, "lean": _LEAN, "isabelle": _ISABELLE}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _render(template: str, match: re.Match[str], language: str) -> str:
    def fill(spec: re.Match[str]) -> str:
        kind, value = spec.group(1), (match.group(int(spec.group(2))) or "").strip()
        if kind == "goal":
            return f"hypothesis {value}" if value else "the goal"
        if not value:
            return ""
        if kind == "names":
            parts = value.replace(",", " ").split()
            return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        if kind == "rewrites":
            parts = [p.strip() for p in value.split(",") if p.strip()]
            return ", then ".join(f"right to left with {p.lstrip('<-←').strip()}" if p.startswith(("<-", "←"))
                                  else f"with {p}" for p in parts)
        if kind == "sub":
            return _lower_first(describe_step(language, value))
        return {"in": " in ", "using": " using "}.get(kind, "") + value

    return re.sub(r"\{(names|rewrites|goal|in|using|sub|)(\d+)\}", fill, template).strip()


def describe_step(language: str, step: str) -> str:
    """A plain-English sentence for one tactic step; "" for steps that say nothing (bullets, braces,
    ``qed``). Best effort: an unknown tactic is described as applying it."""
    _language(language)
    text = _flat(step)
    if language == "rocq":
        text = _ROCQ_NOISE.sub("", text).removesuffix(".").strip()
    elif language == "lean":
        text = _LEAN_FOCUS.sub("", text).strip()
    if not re.sub(r"[-+*{}.·\s]", "", text):
        return ""
    if language != "isabelle":
        for combinator in (";", "<;>"):  # `t1; t2`: t2 runs on every goal t1 leaves
            head, sep, tail = _split_top(text, combinator)
            if sep:
                first, then = describe_step(language, head), describe_step(language, tail)
                return f"{first.rstrip('.')}, then on each resulting goal: {_lower_first(then)}"
        prefix = re.fullmatch(r"(try|repeat|now|all_goals|any_goals|first)\s+(.+)", text)
        if prefix:
            inner = describe_step(language, prefix.group(2).strip("()"))
            return f"{prefix.group(1).capitalize()}: {_lower_first(inner)}"
    if language == "rocq":  # `… by tac` closes the side goal that the step creates
        head, sep, tail = _split_top(text, " by ")
        if sep:
            side = _lower_first(describe_step("rocq", tail)).rstrip(".")
            return f"{describe_step('rocq', head).rstrip('.')} (the side goal: {side})."
    for pattern, template in _TABLES[language]:
        match = re.fullmatch(pattern, text)
        if match:
            return _render(template, match, language)
    word = text.split()[0]
    return f"Apply {word}." if word == text else f"Apply {word} with {text[len(word):].strip()}."


def _split_top(text: str, sep: str) -> tuple[str, str, str]:
    """``text.partition(sep)`` at the first ``sep`` outside brackets."""
    depth = 0
    for i, ch in enumerate(text):
        depth += 1 if ch in "([{" else -1 if ch in ")]}" else 0
        if depth == 0 and text.startswith(sep, i):
            return text[:i], sep, text[i + len(sep) :]
    return text, "", ""


def comment(language: str, text: str) -> str:
    """``text`` as one comment line that cannot end early or swallow what follows it."""
    lang = _language(language)
    if language == "lean":
        return lang.comment(text)
    line = lang.comment(text.replace('"', "'"))  # Coq lexes strings in comments: a lone `"` runs past `*)`
    if masked(language, line).strip():  # belt and braces: the whole line must be one comment
        line = lang.comment(re.sub(r"[()*\"]", " ", text))
    return line


@dataclass(frozen=True)
class _Step:
    line: int  # the line the comment goes before
    texts: tuple[str, ...]  # the steps starting on that line, as written


@dataclass
class _Proof:
    name: str | None
    start_line: int  # where a leading comment goes when there are no steps
    steps: list[_Step] = field(default_factory=list)


def _line_starts(text: str, language: str) -> tuple[list[bool], list[int]]:
    """For each line: whether it starts outside every comment and string (a line may go before it),
    and the bracket depth there (a line inside brackets continues a term)."""
    marked = re.sub(r"[ \t\r\f\v]", "\x00", text)  # only comment and string interiors become spaces
    blanked = masked(language, marked, strings=True)
    free, depths, depth, offset = [], [], 0, 0
    for line in text.splitlines(keepends=True):
        free.append(bool(line.strip()) and blanked[offset] != " ")
        depths.append(depth)
        for ch in blanked[offset : offset + len(line)]:
            depth += 1 if ch in "([{⟨" else -1 if ch in ")]}⟩" else 0
        offset += len(line)
    return free, depths


def _rocq_proofs(text: str) -> list[_Proof]:
    sentences = split_sentences(text)
    free, _ = _line_starts(text, "rocq")
    inside = [False] * (text.count("\n") + 1)  # lines that begin within a multi-line sentence
    for s in sentences:
        for k in range(text.count("\n", 0, s.start) + 1, text.count("\n", 0, s.start + len(s.text)) + 1):
            inside[k] = True
    proofs: list[_Proof] = []
    body: list[Sentence] | None = None
    name: str | None = None
    for s in sentences:
        target = theorem_of(s)
        if target is not None or (body is None and s.text.startswith("Proof")):
            body, name = [], target.name if target is not None else name
        elif body is not None and _ROCQ_END.match(s.text):
            proof = _Proof(name, text.count("\n", 0, s.start))
            for step in body:
                line = text.count("\n", 0, step.start)
                while line > 0 and (inside[line] or not free[line]):
                    line -= 1
                if proof.steps and proof.steps[-1].line == line:
                    proof.steps[-1] = _Step(line, (*proof.steps[-1].texts, step.text))
                else:
                    proof.steps.append(_Step(line, (step.text,)))
            proofs.append(proof)
            body, name = None, None
        elif body is not None and not (s.text.startswith("Proof") and not body):
            body.append(s)
    return proofs


def _line_proofs(text: str, language: str) -> list[_Proof]:
    """Lean and Isabelle: the lines after a declaration that start with a proof step."""
    free, depths = _line_starts(text, language)
    blanked = masked(language, text, strings=True)
    decl = _ISABELLE_DECL if language == "isabelle" else re.compile(_language(language).declaration, re.M)
    proofs = []
    for match in decl.finditer(blanked):
        found = declared_name(language, text[match.start() :])
        proofs.append(_Proof(found[0] if found else None, text.count("\n", 0, match.start())))
    lines, blanked_lines = text.splitlines(), blanked.splitlines()
    for index, proof in enumerate(proofs):
        end = proofs[index + 1].start_line if index + 1 < len(proofs) else len(lines)
        for k in range(proof.start_line, end):
            line = lines[k].strip()
            if language == "lean" and k == proof.start_line:  # `theorem … := by tactic`
                inline = re.search(r":=\s*by\s+(?=\S)", blanked_lines[k])
                if inline:
                    proof.steps.append(_Step(k, (lines[k][inline.end() :].strip(),)))
                continue
            if not free[k] or depths[k] > 0:
                continue
            if language == "lean":
                words = _LEAN_FOCUS.sub("", line).split()
                if not words or words[0].rstrip("!?") not in _LEAN_WORDS:
                    continue
            elif not _ISABELLE_STEP.match(line):
                continue
            proof.steps.append(_Step(k, (line,)))
    return proofs


def _sentences(sketch: str) -> list[str]:
    """A sketch's sentences: list items and paragraphs, each split at sentence ends."""
    sketch = re.sub(r"^\W*proof sketch\W*", "", sketch.strip(), flags=re.IGNORECASE)
    out = []
    for chunk in re.split(r"\n\s*\n|\n\s*(?:[-*•]|\d+[.)])\s+", sketch):
        out += [_flat(s) for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(\\$])", chunk) if s.strip()]
    return out


def _flat(text: str) -> str:
    return " ".join(text.split())


def annotate(language: str, proof: str, informal: str | None = None, sketch: str | None = None,
             target: str | None = None, statement: str | None = None) -> str:
    """``proof`` with natural-language comment lines before its steps; no original line changes.

    The proof of ``target`` (default: the last one in the file) gets the sketch's sentences spread
    over its steps in order, or else ``informal`` as its leading comment and a description per step;
    every other proof gets the per-step descriptions. ``informal`` is left out when the proof or the
    ``statement`` says it already (``(* informal: … *)``): the prompt shows the statement, and a
    completion echoing it spends the sampling budget. Idempotent: a comment line standing right
    above its step already is not added again."""
    _language(language)
    proofs = _rocq_proofs(proof) if language == "rocq" else _line_proofs(proof, language)
    main = ([p for p in proofs if p.name == target] or proofs)[-1] if proofs else None
    inserts: dict[int, list[str]] = {}  # line -> the comment lines that go before it
    said_already = f"{_flat(proof)}\n{_flat(statement or '')}"  # no flat text holds a newline
    for p in proofs:
        said = [(s.line, " ".join(describe_step(language, t) for t in s.texts)) for s in p.steps]
        sentences = _sentences(sketch) if p is main and sketch and sketch.strip() else []
        if sentences:
            lines = [line for line, text in said if text.strip()] or [p.start_line]
            grouped: dict[int, list[str]] = {}
            for i, sentence in enumerate(sentences):
                grouped.setdefault(lines[i * len(lines) // len(sentences)], []).append(sentence)
            said = [(line, " ".join(group)) for line, group in grouped.items()]
        elif p is main and informal and _flat(informal) not in said_already:
            said.insert(0, (p.steps[0].line if p.steps else p.start_line, informal))
        for at, text in said:
            if text.strip():
                inserts.setdefault(at, []).append(_flat(text))
    out: list[str] = []
    source = proof.splitlines(keepends=True)
    for k, line in enumerate(source):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        newline = "\r\n" if line.endswith("\r\n") else "\n"
        above = set()  # the whole-comment lines right above: where an earlier pass put its own
        for previous in reversed(source[:k]):
            if not previous.strip() or masked(language, previous).strip():
                break
            above.add(previous.strip())
        added = (comment(language, text) for text in inserts.get(k, ()))
        out.extend(indent + c + newline for c in added if c not in above)
        out.append(line)
    return "".join(out)


@dataclass(frozen=True)
class BootstrapItem:
    statement: str  # the trusted statement file
    proof: str  # a proof file the pool verified
    informal: str | None = None
    sketch: str | None = None


@dataclass
class BootstrapResult:
    original: str
    annotated: str
    verified: bool  # the pool verified ``annotated``; when false, train on ``original``
    reason: str | None  # why the annotated proof did not verify


def bootstrap(language: str, items: Sequence[BootstrapItem], pool: CheckPool) -> list[BootstrapResult]:
    """Annotate every item, then check all the annotated proofs in one pool batch."""
    annotated = []
    for item in items:
        found = declared_name(language, item.statement)
        target = found[0] if found else None
        annotated.append(annotate(language, item.proof, item.informal, item.sketch, target, item.statement))
    futures = [pool.submit(CheckRequest(text, i.statement)) for text, i in zip(annotated, items, strict=True)]
    results = []
    for item, text, future in zip(items, annotated, futures, strict=True):
        verdict = future.result()
        reason = None if verdict.verified else ": ".join(filter(None, (str(verdict.reason), verdict.detail)))
        results.append(BootstrapResult(item.proof, text, verdict.verified, reason))
    return results
