"""Isabelle soundness rules for untrusted candidate text.

Isabelle itself checks every proof in the theory; these rules close the ways around that check:
cheating commands (``sorry``, ``oops``, ``\\<proof>``, ``quick_and_dirty``), new axioms and oracles,
ML and code-generator escapes (ML can do anything, ``eval`` trusts compiled code through an oracle),
and anything that could change what the trusted target statement *means*. The target is always
stated from the trusted text (see ``isabelle_theory``), but it is elaborated after the candidate's
helper lemmas, so with a target the candidate may not add syntax, notation, types, coercions,
constants that shadow a name the target uses, or contexts and locales around it.

Syntax: with a target, every syntax-changing declaration is refused, wherever it stands: a mixfix
annotation in any spelling (``("…")``, ``(‹…›)``, ``(\\<open>…\\<close>)``, ``(infixl ‹+› 65)``,
``(binder …)``, ``(structure)``) on a ``definition``, ``fun``, ``fixes`` or anything else (a helper
constant annotated ``(‹65›)`` or ``(‹v›)`` would make a numeral or a variable of the trusted statement
read as that constant); ``notation``/``no_notation``/``type_notation``/``write``, ``syntax``,
``translations``, the ``*_translation`` family (ML), ``bundle``/``unbundle``/``open_bundle``/
``include``/``including``/``includes`` (bundles carry notation), ``adhoc_overloading``, ``hide_*``,
``alias``, coercions, and ``abbreviation`` and ``consts`` in any form (an abbreviation expands at
parse time and can shadow a constant name the statement uses, with or without syntax).

Prose is not code: comments ``(* *)``, formal comments (``\\<comment> ‹…›``) and document text
(``text``, ``txt``, ``section``, ``chapter``, ``paragraph``, ``text_raw``, …, in cartouches or strings)
are not scanned by the keyword rules. Only the document antiquotations inside them are
(``@{ML …}``, ``\\<^ML>‹…›``, ``@{lemma … by (tactic …)}``, ``@{value …}``), because Isabelle runs
those when it checks the theory.

``back`` (pick the next result of the previous ``apply``) stays allowed: it only selects among
results of a method Isabelle already checked, so it cannot make a false theorem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prover.itp.base import Message
from prover.itp.guard import Rule, Syntax, line_col, scan
from prover.itp.isabelle.text import WORD_RE, antiquotation_view, blank_number_chars, blank_range, scan_text

# What guard.scan needs to re-mask already masked text; its output is idempotent on ours.
ISABELLE_SYNTAX = Syntax(block=("(*", "*)"), line=None, nested=True, string_quote='"', string_escape="\\")
# For the antiquotation view: nothing more to mask. A ``"`` inside a cartouche of an antiquotation is
# plain text to Isabelle, and re-masking it as a string opener would hide what follows it.
_AS_IS = Syntax(block=None, line=None, string_quote=None)

# Theories the candidate may import besides the trusted header's: exactly the ones in the Prover
# heap image (isabelle/ROOT), so that no import loads slowly from source or drags in new notation.
HEAP_IMPORTS = frozenset(
    {
        "Main",
        "Complex_Main",
        "HOL-Library.Sum_of_Squares",
        "HOL-Library.Code_Target_Numeral",
        "HOL-Computational_Algebra.Computational_Algebra",
        "HOL-Number_Theory.Number_Theory",
    }
)


def _kw(words: str) -> re.Pattern[str]:
    """Whole-word alternatives (space-separated regexes), on text from ``scan_text``, where a whole
    word is exactly an Isabelle token."""
    return re.compile(r"(?<![A-Za-z0-9_'])(?:" + "|".join(words.split()) + r")(?![A-Za-z0-9_'])")


_ML_RULE = Rule("ML", _kw(r"S?ML(?:_\w+)? oracle tactic raw_tactic"), "runs arbitrary ML")
_CODE_EVAL_RULE = Rule(
    "code_eval",
    _kw(r"eval normalization code_(?!simp(?![A-Za-z0-9_']))\w+ export_code value values"),
    "trusts generated code (an oracle) or runs it",
)
ALWAYS_RULES = (
    Rule("sorry", _kw("sorry"), "skips the proof"),
    Rule("oops", _kw("oops"), "abandons the proof"),
    Rule("proof_placeholder", re.compile(r"\\<proof>"), "skips the proof like sorry"),
    Rule("cheat_option", _kw("quick_and_dirty skip_proofs? smt_oracle"), "switches proof checking off"),
    Rule("unsafe", _kw(r"\w*unsafe\w*"), "unsafe operations bypass the kernel"),
    Rule(
        "axioms", _kw("axiomatization axioms arities classes classrel defs judgment"), "adds unchecked axioms"
    ),
    _ML_RULE,
    Rule(
        "ML_setup",
        _kw(r"\w*_setup setup declaration syntax_declaration \w*_translation"),
        "runs arbitrary ML",
    ),
    _CODE_EVAL_RULE,
    Rule(
        "files",
        _kw(
            "external_files? export_files export_generated_files compile_generated_files generate_file "
            "bibtex_file ROOTS_file export_prefix realizers realizability extract extract_type"
        ),
        "reaches outside the theory",
    ),
    Rule("structure", _kw("theory"), "the theory header is the trusted one"),
)

# Extra rules when a target statement is given: nothing may change how the target's text elaborates.
STATEMENT_RULES = (
    Rule("structure", _kw("begin end"), "no blocks around the target: the header and end are trusted"),
    Rule(
        "syntax",
        _kw(
            "notation no_notation type_notation no_type_notation write syntax no_syntax syntax_consts "
            "syntax_types translations no_translations nonterminal alias type_alias adhoc_overloading "
            r"no_adhoc_overloading default_sort bundle unbundle open_bundle include including includes "
            r"hide_\w+ coercion\w* syntax_ambiguity\w*"
        ),
        "could change how the target statement parses",
    ),
    Rule(
        "mixfix",
        # On ``scan_text`` output: strings and cartouches are blanked but keep their delimiters, so
        # ``("…")``, ``(‹…›)`` and ``(\<open>…\<close>)`` all show as an opening delimiter after ``(``.
        re.compile(r"\(\s*(?:\"|‹|\\<open>|(?:infix[lr]?|binder|structure)(?![A-Za-z0-9_']))"),
        "a mixfix annotation could change how the target statement parses",
    ),
    Rule(
        "declaration",
        _kw(
            "consts abbreviation typedecl type_synonym datatype codatatype old_datatype old_rep_datatype "
            r"free_constructors record typedef quotient_\w+ lift_definition specification overloading "
            "instantiation instance class subclass locale sublocale interpretation global_interpretation "
            "context experiment notepad opening qualified private"
        ),
        "could shadow or re-declare what the target statement refers to",
    ),
)

# Before the target, not even local configuration: ``declare [[...]]`` changes the theory's context.
BEFORE_TARGET_RULES = (
    Rule("config", re.compile(r"\[\["), "changes the configuration the target is read in"),
)

# Document text is prose, but Isabelle runs its antiquotations: @{ML ...}, \<^ML>‹...›, @{value ...},
# @{lemma ... by (tactic ...)}. These rules apply inside antiquotations only (``antiquotation_view``).
ANTIQUOTATION_RULES = (
    Rule(
        "ML_antiquotation",
        re.compile(r"(?:@\{|\\<\^)\s*(?:S?ML\w*|code\w*|computation\w*|scala\w*|bash\w*|value\w*)"),
        "runs or compiles ML",
    ),
    _ML_RULE,
    _CODE_EVAL_RULE,
)

# Commands that declare constants: the names they declare must not occur in the target statement.
DECLARING_COMMANDS = (
    "definition fun function primrec inductive inductive_set coinductive coinductive_set "
    "partial_function primcorec corec corecursive nominal_function"
)
_DECL_RE = _kw(DECLARING_COMMANDS)
_HEAD_TOKEN_RE = re.compile(r'\(|\)|::|"[^"]*"?|[|=]|[A-Za-z][A-Za-z0-9_\'.]*')
_HEAD_STOP = frozenset(
    f"where for is lemma theorem corollary proposition termination {DECLARING_COMMANDS}".split()
)


def declared_names(scanned: str) -> list[tuple[int, str | None]]:
    """``(offset, name)`` for each constant a declaring command introduces; ``None`` when the command
    names nothing before its specification (then the name hides in a string and cannot be checked)."""
    found: list[tuple[int, str | None]] = []
    for m in _DECL_RE.finditer(scanned):
        names = _names_after(scanned, m.end())
        found += [(m.start(), n) for n in names] or [(m.start(), None)]
    return found


def _names_after(scanned: str, start: int) -> list[str]:
    """Names in ``f :: "type" and g (mixfix)`` up to ``where``, a spec string or the next command."""
    names: list[str] = []
    depth, type_next = 0, False
    for tok in _HEAD_TOKEN_RE.finditer(scanned, start):
        t = tok.group(0)
        if t in ("(", ")"):
            depth += 1 if t == "(" else -1
        elif t == "::":
            type_next = True
        elif t.startswith('"'):
            if not type_next:
                break  # an unnamed specification: ``definition "f x = ..."``
            type_next = False
        elif t in ("|", "=") or t in _HEAD_STOP:
            break
        elif depth == 0 and t != "and":
            if not type_next:
                names.append(t)
            type_next = False
    return names


def target_identifiers(statement: str) -> frozenset[str]:
    """Every identifier in the target statement's text, inside its strings too (name parts split)."""
    return frozenset(w.group(0) for w in WORD_RE.finditer(statement))


def check_candidate(
    text: str, *, statement: str | None, before_end: int, allow_cheats: bool = False
) -> list[Message]:
    """Error messages for everything the rules forbid in ``text`` (the candidate with the trusted
    header and preamble copies blanked). ``statement`` is the trusted target's text, ``before_end``
    where the candidate's own copy of the target starts. ``allow_cheats`` keeps ``sorry``/``oops``
    for Sledgehammer runs, which only harvest suggestions and never count as proofs."""
    scanned = scan_text(text)
    rules: list[Rule] = [r for r in ALWAYS_RULES if not (allow_cheats and r.name in ("sorry", "oops"))]
    if statement is not None:
        rules.extend(STATEMENT_RULES)
    found = scan(scanned, ISABELLE_SYNTAX, rules)
    found += scan(blank_number_chars(antiquotation_view(text)), _AS_IS, ANTIQUOTATION_RULES)
    if statement is not None:
        found += scan(blank_range(scanned, before_end, len(scanned)), ISABELLE_SYNTAX, BEFORE_TARGET_RULES)
        found += _shadowing(text, scanned, target_identifiers(statement))
    return _dedupe(found)


def _shadowing(text: str, scanned: str, used: frozenset[str]) -> list[Message]:
    found: list[Message] = []
    for offset, name in declared_names(scanned):
        if name is None:
            detail = "give the constant a name before 'where'"
        elif set(name.split(".")) & used:
            detail = f"'{name}' shadows a name the target statement uses"
        else:
            continue
        found.append(Message("error", f"forbidden: declaration ({detail})", *line_col(text, offset)))
    return found


def gravest_rule(messages: list[Message]) -> str:
    """The gravest rule among ``messages`` (cheats first, then axioms, ML, ...), whatever came first
    in the text: a ``forbidden`` verdict's detail should name the worst thing found."""
    order = [r.name for r in (*ALWAYS_RULES, *ANTIQUOTATION_RULES, *STATEMENT_RULES, *BEFORE_TARGET_RULES)]
    order += ["declaration", "import"]
    names = [m.text.removeprefix("forbidden: ").split(" ")[0] for m in messages]
    return min(names, key=lambda n: order.index(n) if n in order else len(order))


def check_imports(imports: Iterable[str], trusted: Iterable[str]) -> list[Message]:
    """Errors for candidate imports that are neither trusted nor in the heap image's allow-list."""
    allowed = HEAP_IMPORTS | set(trusted)
    return [
        Message("error", f"forbidden: import {imp} (allowed: {', '.join(sorted(allowed))})", 1, 0)
        for imp in imports
        if imp not in allowed
    ]


def _dedupe(messages: list[Message]) -> list[Message]:
    seen: set[tuple[int | None, int | None, str]] = set()
    out: list[Message] = []
    for m in sorted(messages, key=lambda m: (m.line or 0, m.column or 0)):
        key = (m.line, m.column, m.text)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out
