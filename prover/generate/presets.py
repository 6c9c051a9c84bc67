"""Model-family presets: the prompt a prover family was trained with, chosen by name.

A preset is a template set (``templates/NAME.toml``) with a ``[preset]`` table: its family, whether
the tokenizer's chat template is applied (``chat``), the chat template's ``enable_thinking``
(``thinking``), the default ``max_tokens`` of its model card, the set its unpublished roles come from
(``base``) and where its wording was taken from (``source``). Its stop strings are the prover role's
``stop`` in the same file, as for every template set.

Choosing one (``--preset NAME``, or ``preset = "NAME"`` in ``[generate]``) sets ``templates``,
``prompt_format`` and ``max_tokens`` of a ``GenerationConfig``; settings written beside it in the same
``[generate]`` section, and ``--max-tokens``, still override it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from prover.generate.base import GenerationConfig


@dataclass(frozen=True)
class Preset:
    name: str
    family: str
    chat: bool  # apply the tokenizer's chat template (prompt_format "chat"), else plain text
    thinking: bool  # passed to the chat template as enable_thinking
    max_tokens: int
    stop: tuple[str, ...]  # the prover role's stop strings
    source: str

    @property
    def prompt_format(self) -> str:
        return "chat" if self.chat else "plain"


def _shipped() -> dict[str, dict[str, Any]]:
    folder = resources.files("prover.generate") / "templates"
    found: dict[str, dict[str, Any]] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text())
            if isinstance(data.get("preset"), dict):
                found[entry.name.removesuffix(".toml")] = data
    return found


def preset_names() -> list[str]:
    """The shipped presets, sorted."""
    return sorted(_shipped())


def get_preset(name: str) -> Preset:
    """The preset ``name``; ``ValueError`` with a one-line message listing the presets otherwise."""
    data = _shipped().get(name)
    if data is None:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(preset_names())}")
    table = data["preset"]
    stop = data.get("prover", {}).get("stop", [])
    try:
        return Preset(name, str(table["family"]), bool(table["chat"]), bool(table["thinking"]),
                      int(table["max_tokens"]), tuple(str(s) for s in stop), str(table["source"]))
    except KeyError as exc:  # a shipped file missing a key is this project's bug, said in one line
        raise ValueError(f"preset {name}: [preset] needs {exc.args[0]}") from exc


def apply_preset(gen: GenerationConfig, name: str) -> Preset:
    """Set ``gen``'s prompt settings and default ``max_tokens`` from the preset ``name``."""
    preset = get_preset(name)
    gen.preset = name
    gen.templates = name
    gen.prompt_format = preset.prompt_format
    gen.max_tokens = preset.max_tokens
    return preset


def preset_help() -> str:
    """The ``--preset`` flag's help text, naming every preset."""
    return (f"a model family's published prompt, with its chat-template use, thinking, stop strings and "
            f"default max_tokens (see README): {', '.join(preset_names())}; overrides templates, "
            f"prompt_format and max_tokens of [generate] (--max-tokens still overrides it)")
