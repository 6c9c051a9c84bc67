"""Prompts for the three roles of the one model, per proof assistant, from templates that are data.

Roles: ``prover`` (a whole proof; ``prover_sketch`` asks for a natural-language sketch first, as
DeepSeek-Prover and TheoremLlama do), ``conjecturer`` (a proved theorem, its proof and a lemma it uses
→ a new related theorem, as STP does), ``corrector`` (the failing attempt with the checker's errors
written as comments at their lines, plus the error list → a revised proof: Lyra's conjecture
correction). Template sets live in ``templates/*.toml`` (``default`` for instruction-following
models, ``completion`` for base models that only continue code); a path to another TOML file works
too, so a model family gets its own wording without code changes. A set with a ``[preset]`` table
is a model-family preset (``presets.py``): the published prompt of one prover family; roles the
family published no prompt for come from the set its ``base`` names.

A ``Prompt`` renders as plain text or through the tokenizer's ``apply_chat_template`` when the model
has a chat template. The answer starts with ``Prompt.response`` (typically an opened code fence and
the statement), which the model continues; ``Prompt.answer(completion)`` is what the extractor reads.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from prover.generate.lang import language, split_statement
from prover.itp.base import Message

ROLES = ("prover", "prover_sketch", "conjecturer", "corrector")
_FIELDS = ("system", "user", "response")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_MAX_ERRORS = 8  # more than a few errors mostly repeat one cause; the first ones say the most
_MAX_ERROR_CHARS = 400


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str
    response: str  # the start of the answer; the model continues it
    stop: tuple[str, ...]
    # The chat template's ``enable_thinking`` (Qwen3-style templates read it; others ignore unknown
    # variables); None: not passed, the template's own default.
    thinking: bool | None = None

    def plain(self) -> str:
        """The prompt as one text, for models without a chat template."""
        head = "\n\n".join(part for part in (self.system, self.user) if part.strip())
        return f"{head}\n\n{self.response}" if head else self.response

    def chat(self, tokenizer: Any) -> str:
        """The prompt through ``tokenizer.apply_chat_template``, with the answer's start appended
        after the generation prompt. Templates that reject a system turn get it merged into the user
        turn."""
        system = [{"role": "system", "content": self.system}] if self.system.strip() else []
        user = [{"role": "user", "content": self.user}]
        extra = {} if self.thinking is None else {"enable_thinking": self.thinking}
        try:
            text = tokenizer.apply_chat_template(system + user, tokenize=False, add_generation_prompt=True,
                                                 **extra)
        except Exception:  # jinja2 raises TemplateError for "system role not supported"
            merged = [{"role": "user", "content": "\n\n".join(m["content"] for m in system + user)}]
            text = tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True, **extra)
        return str(text) + self.response

    def render(self, tokenizer: Any | None = None, fmt: str = "auto") -> str:
        """``fmt``: "plain", "chat", or "auto" (chat when the tokenizer has a chat template)."""
        has_chat = tokenizer is not None and getattr(tokenizer, "chat_template", None)
        if fmt == "chat" and not has_chat:
            raise ValueError("prompt format 'chat' needs a tokenizer with a chat template")
        if fmt == "chat" or (fmt == "auto" and has_chat):
            return self.chat(tokenizer)
        return self.plain()

    def answer(self, completion: str) -> str:
        """The whole answer the extractor reads: the prefix the prompt wrote plus the completion."""
        return self.response + completion


class Templates:
    """A template set: ``{role: {field: text}}`` plus per-language overrides."""

    def __init__(self, data: Mapping[str, Any], source: str) -> None:
        self.source = source
        self.data = data
        for role in ROLES:
            table = data.get(role)
            if not isinstance(table, dict) or not all(isinstance(table.get(f), str) for f in _FIELDS):
                raise ValueError(f"template set {source}: role [{role}] needs {', '.join(_FIELDS)}")

    def table(self, lang: str, role: str) -> dict[str, Any]:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        merged = dict(self.data[role])
        override = self.data.get(lang, {}).get(role, {})
        merged.update(override)
        return merged

    def prompt(self, lang: str, role: str, values: Mapping[str, str]) -> Prompt:
        table = self.table(lang, role)
        info = language(lang)
        env = {"language": info.name, "fence": info.fence, **values}

        def fill(text: str) -> str:
            # One pass, known names only: inserted values are never scanned again, and braces that
            # are not placeholders (Lean binders, set notation) stay as written.
            return _PLACEHOLDER.sub(lambda m: env.get(m.group(1), m.group(0)), text)

        stop = table.get("stop", [])
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise ValueError(f"template set {self.source}: [{role}] stop must be a list of strings")
        thinking = self.data.get("preset", {}).get("thinking")
        return Prompt(fill(table["system"]), fill(table["user"]), fill(table["response"]), tuple(stop),
                      thinking if isinstance(thinking, bool) else None)


def load_templates(name: str = "default") -> Templates:
    """A template set shipped in ``prover/generate/templates/`` by name, or a TOML file by path."""
    path = Path(name)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text()
        except OSError as exc:
            raise ValueError(f"cannot read templates {name}: {exc.strerror}") from exc
    else:
        shipped = resources.files("prover.generate") / "templates" / f"{name}.toml"
        if not shipped.is_file():
            raise ValueError(f"no template set {name!r} (shipped: {', '.join(shipped_sets())})")
        text = shipped.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"templates {name} are not valid TOML: {exc}") from exc
    base = data.get("preset", {}).get("base")
    if isinstance(base, str) and base != name:
        data = _inherit(data, load_templates(base).data)
    return Templates(data, name)


def _inherit(data: dict[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the roles it does not define taken from ``base``, with their per-language
    overrides: a preset writes only the prompts its model family published."""
    merged = dict(data)
    for role in ROLES:
        if role in data:
            continue
        merged[role] = base[role]
        for lang, table in base.items():
            if isinstance(table, dict) and role in table and lang not in ROLES and lang != "preset":
                merged[lang] = {**merged.get(lang, {}), role: table[role]}
    return merged


def shipped_sets() -> list[str]:
    folder = resources.files("prover.generate") / "templates"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def _informal(lang: str, informal: str | None) -> tuple[str, str]:
    if not informal:
        return "", ""
    return f"\nInformally: {informal.strip()}\n", language(lang).comment(f"informal: {informal}") + "\n"


def prover_prompt(templates: Templates, lang: str, statement: str, informal: str | None = None,
                  sketch: bool = False) -> Prompt:
    """Ask for a whole proof of ``statement`` (a statement file ending in its placeholder)."""
    text, comment = _informal(lang, informal)
    split = split_statement(lang, statement)
    # {header} and {declaration} (the theorem up to where its proof goes, no newline after it) let a
    # preset lay the statement out as its family's published prompt does; {problem} is the informal
    # statement as given, {informal_doc} it as a Lean doc comment (DeepSeek's informal_prefix).
    values = {"statement": statement.strip(), "stub": split.stub, "informal": text,
              "comment_informal": comment, "header": split.header,
              "declaration": split.stub[len(split.header):].rstrip(),
              "problem": (informal or "").strip(),
              "informal_doc": f"/-- {informal.strip()}-/\n" if informal and lang == "lean" else ""}
    return templates.prompt(lang, "prover_sketch" if sketch else "prover", values)


def conjecturer_prompt(templates: Templates, lang: str, theorem: str, proof: str, lemma: str) -> Prompt:
    """Ask for a new theorem related to ``theorem`` (its statement), proved by ``proof`` with the
    help of ``lemma`` (the lemma's statement)."""
    values = {"theorem": theorem.strip(), "proof": proof.strip(), "lemma": lemma.strip()}
    return templates.prompt(lang, "conjecturer", values)


def mark_errors(lang: str, proof: str, messages: Sequence[Message]) -> str:
    """``proof`` with each error written as a comment line after the line it points at (indented
    like it); errors without a line are left to the error list."""
    info = language(lang)
    lines = proof.splitlines()
    after: dict[int, list[str]] = {}
    for m in _errors(messages):
        if m.line is not None and 1 <= m.line <= len(lines):
            after.setdefault(m.line, []).append(_short(m.text))
    out: list[str] = []
    for i, line in enumerate(lines, start=1):
        out.append(line)
        indent = line[: len(line) - len(line.lstrip())]
        out.extend(indent + info.comment(f"ERROR: {text}") for text in after.get(i, []))
    return "\n".join(out)


def error_list(messages: Sequence[Message]) -> str:
    items = [f"- line {m.line}: {_short(m.text)}" if m.line else f"- {_short(m.text)}"
             for m in _errors(messages)]
    return "\n".join(items) if items else "- the checker did not accept the proof"


def corrector_prompt(templates: Templates, lang: str, statement: str, proof: str,
                     messages: Sequence[Message]) -> Prompt:
    """Ask for a revision of the failing ``proof`` of ``statement`` given the checker's ``messages``."""
    values = {
        "statement": statement.strip(),
        "stub": split_statement(lang, statement).stub,
        "marked": mark_errors(lang, proof, messages),
        "errors": error_list(messages),
        "comment_retry": language(lang).comment("The proof above fails. A corrected proof:") + "\n",
    }
    return templates.prompt(lang, "corrector", values)


def _errors(messages: Sequence[Message]) -> list[Message]:
    return [m for m in messages if m.severity == "error"][:_MAX_ERRORS]


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_ERROR_CHARS else flat[: _MAX_ERROR_CHARS - 1] + "…"

