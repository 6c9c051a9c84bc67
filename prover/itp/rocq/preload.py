"""Preloading common libraries so that one Coq process serves many different headers.

miniF2F-rocq alone has 156 distinct headers over 488 files, and loading a header costs as much as a
whole ``coqc`` run (0.3–0.8 s), so one process per header would throw the pool's speed away. A
session therefore starts by *loading* (``Require`` without ``Import``) a fixed set of libraries;
a check's own header (``Require Import Reals. Open Scope R_scope.``) then runs per check on top of
that base, and costs milliseconds because the libraries are already in memory.

What differs from a fresh process is only that more libraries are loaded (not imported): their
notations and short names stay invisible, so a well-formed statement elaborates the same way. A
library whose mere loading changes a global option (Coquelicot, through ssreflect, sets Asymmetric
Patterns) is kept out of the shared base. A header that needs libraries outside it gets a base with
those added, which then serves only headers that require them too (in a fresh process they would
have changed the same options); a header that is not just Requires, Imports, scopes and options
gets a process with exactly that header. Set ``preload = []`` under ``[rocq]`` for the latter always.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prover.itp.rocq.text import Sentence

# The standard-library modules that miniF2F-style statements import. Not Coquelicot: loading it
# (through ssreflect) sets global options, so the context would not be a clean one; sessions also
# leave out, by themselves, any library whose loading changes an option.
DEFAULT_PRELOAD: tuple[str, ...] = (
    "Coq.Reals.Reals",
    "Coq.Reals.Rdefinitions",
    "Coq.Reals.Rfunctions",
    "Coq.Reals.Rbasic_fun",
    "Coq.Reals.RIneq",
    "Coq.Init.Nat",
    "Coq.ZArith.BinInt",
    "Coq.PArith.PArith",
    "Coq.Logic.Classical_Pred_Type",
    "Coq.Logic.Classical_Prop",
    "Coq.ZArith.ZArith",
    "Coq.Arith.Arith",
    "Coq.Arith.PeanoNat",
    "Coq.NArith.NArith",
    "Coq.QArith.QArith",
    "Coq.QArith.Qreals",
    "Coq.Lists.List",
    "Coq.Lists.SetoidList",
    "Coq.Bool.Bool",
    "Coq.micromega.Lia",
    "Coq.micromega.Lra",
    "Coq.micromega.Psatz",
    "Coq.ZArith.Znumtheory",
    "Coq.Sets.Ensembles",
    "Coq.Sets.Finite_sets",
    "Coq.Sets.Finite_sets_facts",
    "Coq.Logic.FunctionalExtensionality",
    "Coq.Logic.Classical",
)

# The key under which sessions with the preloaded base are shared.
PRELOAD_KEY = "(* prover: preloaded base *)"

_REQUIRE_RE = re.compile(r"^(?:From\s+([\w.]+)\s+)?Require\s+(?:(?:Import|Export)\s+)?(.+)\.$", re.DOTALL)
_CHEAP_RE = re.compile(
    r"^(?:Import|Export)\s|^(?:Local\s+|Global\s+)?(?:Open|Close)\s+Scope\s|^(?:Local\s+|Global\s+)?(?:Set|Unset)\s"
)


def preload_key(exact_header: str) -> str:
    return f"{PRELOAD_KEY}\n{exact_header}"


def split_key(header_key: str) -> tuple[bool, str]:
    """(whether the key asks for the preloaded base, the exact header text)."""
    if header_key.startswith(PRELOAD_KEY):
        return True, header_key[len(PRELOAD_KEY) + 1 :]
    return False, header_key


# A library as a Require names it: (the ``From`` root or None, the name).
Library = tuple[str | None, str]


def required_libraries(sentence: Sentence) -> list[Library] | None:
    """The libraries a ``Require`` sentence loads, or None for other sentences."""
    match = _REQUIRE_RE.match(sentence.text)
    if not match:
        return None
    return [(match.group(1), name) for name in match.group(2).split()]


def header_libraries(header: list[Sentence]) -> list[Library]:
    return [lib for sentence in header for lib in required_libraries(sentence) or []]


def require_sentence(library: Library) -> str:
    root, name = library
    return f"From {root} Require {name}." if root else f"Require {name}."


def uncovered_libraries(header: list[Sentence], loaded: Iterable[str]) -> tuple[Library, ...]:
    """The header's libraries that ``loaded`` does not hold."""
    loaded = tuple(loaded)
    return tuple(lib for lib in header_libraries(header) if not covered(lib[0], lib[1], loaded))


def covered(root: str | None, name: str, loaded: Iterable[str]) -> bool:
    """Whether ``From root Require name`` names one of the ``loaded`` libraries (full paths)."""
    for lib in loaded:
        if root is not None and not lib.startswith(root + "."):
            continue
        if lib == name or lib.endswith("." + name):
            return True
    return False


def header_shaped(header: list[Sentence]) -> bool:
    """Whether every sentence only requires, imports, opens scopes or sets options."""
    return all(required_libraries(s) is not None or _CHEAP_RE.match(s.text) for s in header)


def fits_preload(header: list[Sentence], loaded: Iterable[str]) -> bool:
    """Whether every library the header requires is already loaded, so it runs in milliseconds."""
    loaded = tuple(loaded)
    return header_shaped(header) and not uncovered_libraries(header, loaded)


def parse_print_libraries(output: str) -> frozenset[str]:
    """Full paths from ``Print Libraries.`` output (both the imported and the not imported ones)."""
    names = set()
    for line in output.splitlines():
        line = line.strip()
        if line and not line.endswith(":") and re.fullmatch(r"[\w'.]+", line):
            names.add(line)
    return frozenset(names)


def parse_options(output: str) -> dict[str, str]:
    """``Print Options.`` output as {option name: value}."""
    options = {}
    for line in output.splitlines():
        name, sep, value = line.strip().partition(": ")
        if sep:
            options[name] = value
    return options
