"""Lean text rules: what untrusted proof text may contain before any of it reaches Lean.

Nothing here decides that a proof is correct; it decides what text may reach Lean at all, and
prepares the text that is sent (the proof's own header lines emptied, every line kept in place).
The reply-side rules (errors, sorries, axioms, the type of the proved constant) are in ``lean_check``.

All scanning runs on comment-masked text with string literals left visible, and string literals are
themselves rejected: interpolated strings (``s!"{...}"``) and raw strings hold code that a
string-masking scanner would skip, and no proof needs a string.

Decisions worth knowing:

* ``import`` lines are allowed only in the file's leading preamble (its first lines, made only of
  imports, ``set_option NAME VALUE`` header options, copies of the trusted header's lines, plain
  ``open`` lines, comments and blank lines, which is where a Lean file must have its imports): each
  module must be one the trusted header provides (or, under ``import Mathlib``, a module of the
  Mathlib family), else ``forbidden: import``, and the line is blanked, because the session has
  imported the header already. An ``import`` line anywhere after the preamble (indented or not, in
  a file or in tactic mode) is refused as ``forbidden: import``, never blanked: Lean would reject it
  there anyway, and refusing it keeps the static layer and the full check identical.
* ``open … in`` is allowed, exactly like a plain ``open`` (which the proof's text keeps): it only
  changes how names and notation resolve in the candidate's own text, and what the candidate proved is
  decided by the kernel against the trusted statement, elaborated before the candidate ran. Only an
  ``open … in`` in front of a scope command (``open X in end``) is refused, since the scope tracking
  here reads scope commands at the start of a line. ``open private`` stays refused.
* ``local`` and ``scoped`` declarations (``local instance``, ``scoped notation``,
  ``noncomputable local instance``, ``@[simp] local notation``, indented or not) are refused wherever
  they stand; the words stay allowed inside attribute lists (``attribute [local simp] foo``,
  ``@[local instance]``) and as ``open scoped``.
* ``native_decide``, ``decide +native``, ``bv_decide`` (and ``bv_decide?``, ``bv_check``), which rest on
  ``Lean.ofReduceBool``, are refused unless ``allow_native_decide`` is set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from prover.itp.base import Message, Reason
from prover.itp.guard import Rule, Syntax, line_col, mask_comments, scan
from prover.itp.lean.check import CHECK_PREFIX, STUB_PREFIX
from prover.itp.lean.statement import CANDIDATE_DECL_PATTERN, LEAN_SYNTAX, OPEN_ARG, Header, word_set

_PLAIN = Syntax(string_quote=None)  # for scanning text whose comments are already masked


ALLOWED_ATTRIBUTES = word_set(
    "simp reducible irreducible semireducible instance inline ext elab_as_elim refl symm trans "
    "congr gcongr norm_cast push_cast field_simps nontriviality default_instance simps "
    "to_additive match_pattern nolint specialize mono induction_eliminator cases_eliminator "
    "continuity measurability fun_prop grind"
)

_SCOPE = re.compile(
    r"^[ \t]*(?:noncomputable[ \t]+)?(?P<kw>namespace|section|mutual|end)\b[ \t]*(?P<arg>\S*)", re.MULTILINE
)
# What may start a line at column 0: declarations and scoping. Anything else that looks like a
# command is refused, so that a command this guard has never heard of cannot run code. (set_option
# is here because its own rule admits only safe options.)
ALLOWED_COMMANDS = word_set(
    "theorem lemma def abbrev instance example structure class inductive mutual open namespace "
    "section end noncomputable private protected nonrec universe attribute where termination_by "
    "decreasing_by deriving with set_option"
)
# A real ``open … in``: ``open`` and its namespaces (``scoped``, ``hiding``, ``renaming a → b``,
# ``(x y)`` lists), then ``in``, all one command (a line break only where the next line is indented).
# ``∑ i in s, f i`` or ``conv in …`` after a plain ``open`` line is not one.
OPEN_IN = re.compile(
    rf"(?<![\w.'!?])open(?:(?:[ \t]+|[ \t]*\n[ \t]+){OPEN_ARG})+?(?:[ \t]+|[ \t]*\n[ \t]+)in(?![\w'!?])"
)
_LINE_START = re.compile(r"^(?P<word>[^\W\d][\w'!?]*)", re.MULTILINE)
_ATTRS = re.compile(r"@\[(?P<a>[^\]]*)\]|\battribute\s*\[(?P<b>[^\]]*)\]")


def _word(words: str) -> re.Pattern[str]:
    """Any of the space-separated ``words`` as a whole Lean token, also as the last part of a
    qualified name (``Lean.ofReduceBool``), never inside a longer identifier."""
    alternatives = "|".join(re.escape(w) for w in words.split())
    return re.compile(rf"(?<![\w'!?])(?:{alternatives})(?![\w'!?])")


# Options a proof may set: limits the wall-clock timeout already bounds, linters, printing, and how
# its own text elaborates (the trusted statement is compared by the kernel, not re-read).
_SAFE_OPTIONS = (
    r"(?:maxHeartbeats|maxRecDepth|synthInstance\.maxHeartbeats|synthInstance\.maxSize"
    r"|linter\.[\w.]+|pp\.[\w.]+|autoImplicit|relaxedAutoImplicit|tactic\.hygienic)"
)
INCOMPLETE_RULES = (Rule("sorry", _word("sorry admit stop"), "the proof is left open"),)
FORBIDDEN_RULES = (
    Rule("axiom", _word("axiom"), "declares an unproved assumption"),
    Rule("unsafe code", _word("unsafe partial opaque"), "declarations the kernel does not unfold"),
    Rule(
        "compiled-code override",
        _word("implemented_by extern export csimp"),
        "replaces what the compiler runs for a definition",
    ),
    Rule(
        "metaprogram",
        _word(
            "elab elab_rules macro macro_rules syntax declare_syntax_cat notation infix infixl infixr "
            "prefix postfix unif_hint initialize builtin_initialize by_elab run_cmd run_tac run_elab "
            "run_meta evalExpr simproc dsimproc simproc_decl dsimproc_decl add_aesop_rules"
        ),
        "runs or installs code that changes parsing, elaboration or checking",
    ),
    Rule(
        "metaprogram",
        re.compile(r"(?<![\w'!?])builtin_\w+"),
        "runs or installs code that changes parsing, elaboration or checking",
    ),
    Rule(
        "extension command",
        re.compile(r"(?<![\w'!?])(?:register|declare)_\w+"),
        "registers new attributes, options or extensions",
    ),
    Rule("#command", re.compile(r"#[A-Za-z_]"), "#eval/#exit/#print-style commands run code or hide output"),
    Rule("%-elaborator", re.compile(r"(?<![\w.'!?])[a-z_]+%(?=[\s(])"), "special term elaborators"),
    Rule(
        "set_option",
        # Resource and display options are everyday proof text (`set_option maxHeartbeats 400000 in`);
        # any other option may switch a check off (debug.skipKernelTC), so only these pass.
        re.compile(rf"(?<![\w'!?])set_option(?!\s+{_SAFE_OPTIONS}(?![\w.]))"),
        "options can switch checks off (debug.skipKernelTC); only resource, linter and printing "
        "options are allowed",
    ),
    Rule(
        "kernel bypass",
        _word("skipKernelTC sorryAx ofReduceNat reduceNat"),
        "skips or fakes the kernel check",
    ),
    Rule("import", re.compile(r"^[ \t]*import\b", re.MULTILINE), "imports are fixed by the trusted header"),
    Rule(
        "open … in",
        re.compile(rf"{OPEN_IN.pattern}\s+(?:noncomputable\s+)?(?:namespace|section|end|mutual)(?![\w'!?])"),
        "a scope command under `open … in` would escape the scope tracking",
    ),
    Rule("open private", re.compile(r"\bopen\s+private\b"), "reaches private declarations"),
    Rule(
        "section variable",
        _word("variable include omit"),
        "section variables change a theorem's statement without changing its text",
    ),
    Rule(
        "code execution",
        _word("plausible slim_check polyrith"),
        "runs compiled code or an outside service while elaborating",
    ),
    Rule(
        "reserved name", re.compile(f"{STUB_PREFIX}|{CHECK_PREFIX}"), "names of the checker's own constants"
    ),
    Rule("string literal", re.compile(r"[\"«]"), "strings and «» names can hide code from this guard"),
)
NATIVE_RULES = (
    Rule(
        "native code",
        _word("native_decide native ofReduceBool reduceBool trustCompiler bv_decide bv_decide? bv_check"),
        "trusts the compiler instead of the kernel (Lean.ofReduceBool)",
    ),
)


@dataclass(frozen=True)
class Decl:
    kind: str
    name: str | None  # full name (namespaces applied); None for examples and anonymous instances
    line: int


@dataclass
class GuardedProof:
    """The proof text to send (same lines and columns as the candidate) and what the guard found."""

    body: str
    decls: list[Decl] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)  # stripped header lines (info)
    violations: list[Message] = field(default_factory=list)
    incomplete: bool = False  # the only violations are sorry-like

    @property
    def reason(self) -> Reason | None:
        if not self.violations:
            return None
        return Reason.INCOMPLETE if self.incomplete else Reason.FORBIDDEN

    @property
    def detail(self) -> str | None:
        """The first violation, without its ``forbidden: `` prefix: what the verdict's detail says."""
        if not self.violations:
            return None
        return self.violations[0].text.removeprefix("forbidden: ")

    def names(self, kinds: tuple[str, ...] = ("theorem", "lemma")) -> list[str]:
        return [d.name for d in self.decls if d.kind in kinds and d.name]


def _blank(chars: list[str], start: int, end: int) -> None:
    """Empty a whole line but keep its newline: later lines keep their numbers."""
    for k in range(start, end):
        if chars[k] != "\n":
            chars[k] = ""


def _strip_preamble(proof: str, masked: str, header: Header, guarded: GuardedProof) -> str:
    """Blank the proof's own header lines (imports, options, copies of trusted header lines) in place,
    so that line and column numbers in Lean's replies still point into the candidate text."""
    chars = list(proof)
    known = {c.strip() for c in header.commands}
    offset = 0
    for number, line in enumerate(masked.splitlines(keepends=True), start=1):
        start, offset = offset, offset + len(line)
        stripped = line.strip()
        words = stripped.split()
        if not stripped:
            continue
        if words[0] == "import":
            for module in words[1:]:
                if not header.allows_import(module):
                    guarded.violations.append(
                        Message(
                            "error",
                            f"forbidden: import {module} (not provided by the trusted header)",
                            number,
                            0,
                        )
                    )
        elif words[0] == "set_option" and len(words) == 3:
            guarded.notes.append(Message("info", f"ignored header option: {stripped}", number, 0))
        elif stripped in known:
            pass
        elif words[0] == "open" and words[-1] != "in":
            continue  # the proof's own opens stay in its text
        else:
            break  # the proof proper starts here
        _blank(chars, start, offset)
    return "".join(chars)


def _check_attributes(masked: str, guarded: GuardedProof) -> None:
    for match in _ATTRS.finditer(masked):
        for entry in (match["a"] if match["a"] is not None else match["b"]).split(","):
            words = entry.replace("-", " ").split()
            while words and words[0] in ("local", "scoped"):
                words = words[1:]
            if words and words[0] not in ALLOWED_ATTRIBUTES:
                line, col = line_col(masked, match.start())
                guarded.violations.append(
                    Message(
                        "error",
                        f"forbidden: attribute {words[0]} (only plain lemma attributes are allowed)",
                        line,
                        col,
                    )
                )


_MODIFIER = re.compile(r"(?<![\w.'!?])(?:local|scoped)(?![\w'!?])")
_AFTER_OPEN = re.compile(r"(?<![\w.'!?])open\s+\Z")


def _local_declarations(masked: str) -> list[Message]:
    """``local``/``scoped`` as a declaration modifier, wherever it stands (indented, after
    ``noncomputable``, ``private`` or an attribute); not inside attribute lists, not ``open scoped``."""
    chars = list(masked)
    for match in _ATTRS.finditer(masked):
        _blank(chars, match.start(), match.end())
    view = "".join(c or " " for c in chars)
    found: list[Message] = []
    for match in _MODIFIER.finditer(view):
        if match[0] == "scoped" and _AFTER_OPEN.search(view, max(0, match.start() - 64), match.start()):
            continue
        line, col = line_col(masked, match.start())
        text = (
            f"forbidden: local declaration (`{match[0]}` declarations change how the text after them "
            "elaborates; use `attribute [local …]` for lemma attributes)"
        )
        found.append(Message("error", text, line, col))
    return found


def _check_commands(masked: str, guarded: GuardedProof) -> None:
    for match in _LINE_START.finditer(masked):
        if match["word"] not in ALLOWED_COMMANDS:
            line, col = line_col(masked, match.start())
            guarded.violations.append(
                Message(
                    "error",
                    f"forbidden: `{match['word']}` at the start of a line (only declarations and "
                    "scoping commands may; indent proof lines)",
                    line,
                    col,
                )
            )


def _declarations(masked: str, guarded: GuardedProof) -> None:
    """Declared names with their namespaces, and balanced scopes: an unbalanced `end` would close the
    trusted header's section, an open namespace would change how our check resolves names."""
    events = [(m.start(), "scope", m) for m in _SCOPE.finditer(masked)]
    events += [(m.start(), "decl", m) for m in CANDIDATE_DECL_PATTERN.finditer(masked)]
    stack: list[tuple[str, str]] = []
    for offset, what, match in sorted(events, key=lambda e: e[0]):
        line, col = line_col(masked, offset)
        if what == "decl":
            name = match["name"]
            if name and name.startswith("_root_."):
                name = name[len("_root_.") :]
            elif name:
                name = ".".join([n for kind, n in stack if kind == "namespace" and n] + [name])
            guarded.decls.append(Decl(match["kind"], name, line))
        elif match["kw"] == "end":
            if not stack:
                guarded.violations.append(
                    Message("error", "forbidden: `end` closes a scope the proof did not open", line, col)
                )
            else:
                stack.pop()
        else:
            stack.append((match["kw"], match["arg"]))
    for kind, name in stack:
        if kind == "namespace":
            guarded.violations.append(
                Message("error", f"forbidden: namespace {name} is never closed", None, None)
            )


def guard_proof(proof: str, header: Header, allow_native: bool = False) -> GuardedProof:
    """Check an untrusted proof file against the text rules and prepare the text Lean will see."""
    guarded = GuardedProof(body="")
    guarded.body = _strip_preamble(proof, mask_comments(proof, LEAN_SYNTAX), header, guarded)
    masked = mask_comments(guarded.body, LEAN_SYNTAX)
    rules = FORBIDDEN_RULES + (() if allow_native else NATIVE_RULES)
    forbidden = scan(masked, _PLAIN, rules) + _local_declarations(masked)
    _check_attributes(masked, guarded)
    _check_commands(masked, guarded)
    _declarations(masked, guarded)
    incomplete = scan(masked, _PLAIN, INCOMPLETE_RULES)
    guarded.incomplete = bool(incomplete) and not forbidden and not guarded.violations
    guarded.violations = sorted(
        forbidden + guarded.violations + incomplete, key=lambda m: (m.line or 0, m.column or 0)
    )
    return guarded


def guard_tactic(tactic: str, allow_native: bool = False) -> list[Message]:
    """Rules for one tactic sent in tactic mode (sorry is allowed there: the REPL reports it)."""
    masked = mask_comments(tactic, LEAN_SYNTAX)
    found = scan(masked, _PLAIN, FORBIDDEN_RULES + (() if allow_native else NATIVE_RULES))
    return sorted(found + _local_declarations(masked), key=lambda m: (m.line or 0, m.column or 0))
