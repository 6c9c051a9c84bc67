"""Preloading common libraries so that one Coq process serves many different headers.

miniF2F-rocq alone has 156 distinct headers over 488 files, and loading a header costs as much as a
whole ``coqc`` run (0.3–0.8 s), so one process per header would throw the pool's speed away. A
session therefore starts by *loading* (``Require`` without ``Import``) a fixed set of libraries;
a check's own header (``Require Import Reals. Open Scope R_scope.``) then runs per check on top of
that base, and costs milliseconds because the libraries are already in memory.

What differs from a fresh process is only that more libraries are loaded (not imported): their
notations and short names stay invisible, so a well-formed statement elaborates the same way. A
header that needs a library outside the preloaded set gets a session of its own, with exactly
that header, as before. Set ``preload = []`` under ``[rocq]`` to give every header its own process.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prover.itp.rocq_text import Sentence

# The standard-library and Coquelicot modules that miniF2F-style statements import.
DEFAULT_PRELOAD: tuple[str, ...] = (
    "Coq.Reals.Reals",
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
    "Coquelicot.Coquelicot",
)

# The key under which sessions with the preloaded base are shared.
PRELOAD_KEY = "(* prover: preloaded base *)"

_REQUIRE_RE = re.compile(r"^(?:From\s+([\w.]+)\s+)?Require\s+(?:(?:Import|Export)\s+)?(.+)\.$", re.DOTALL)
_CHEAP_RE = re.compile(
    r"^(?:Import|Export)\s|^(?:Local\s+|Global\s+)?(?:Open|Close)\s+Scope\s|^(?:Local\s+|Global\s+)?(?:Set|Unset)\s"
)


def required_libraries(sentence: Sentence) -> list[str] | None:
    """The library names a ``Require`` sentence loads (qualified by its ``From`` root), else None."""
    match = _REQUIRE_RE.match(sentence.text)
    if not match:
        return None
    root, names = match.group(1), match.group(2).split()
    return [f"{root}.{name}" if root else name for name in names]


def covered(name: str, loaded: Iterable[str]) -> bool:
    """Whether the library ``name`` (as written in a Require) is one of the ``loaded`` full paths."""
    return any(lib == name or lib.endswith("." + name) for lib in loaded)


def fits_preload(header: list[Sentence], loaded: frozenset[str]) -> bool:
    """Whether every header sentence can run cheaply on the preloaded base."""
    for sentence in header:
        libraries = required_libraries(sentence)
        if libraries is None:
            if not _CHEAP_RE.match(sentence.text):
                return False
        elif not all(covered(name, loaded) for name in libraries):
            return False
    return True


def parse_print_libraries(output: str) -> frozenset[str]:
    """Full paths from ``Print Libraries.`` output (both the imported and the not imported ones)."""
    names = set()
    for line in output.splitlines():
        line = line.strip()
        if line and not line.endswith(":") and re.fullmatch(r"[\w'.]+", line):
            names.add(line)
    return frozenset(names)
