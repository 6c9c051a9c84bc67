"""Where prover's Coq plugin (``coq_plugin/``) is built and found.

It is built once per user, Coq version and plugin source into the user's cache folder
(``$PROVER_CACHE_DIR`` or ``$XDG_CACHE_HOME/prover``, default ``~/.cache/prover``) by
``prover setup rocq``, so a regular ``pip install`` finds it as well as an editable one. Without it
the axiom check falls back to ``Print Assumptions`` (same verdicts, slower).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "coq_plugin"
PLUGIN = "coq-prover.plugin"  # the findlib name ``Declare ML Module`` loads


def cache_root() -> Path:
    explicit = os.environ.get("PROVER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "prover"


@functools.cache
def coq_version() -> str:
    """Coq's and OCaml's versions, e.g. ``8.16.1_4.13.1`` (``none`` without Coq)."""
    coqc = shutil.which("coqc")
    if coqc is None:
        return "none"
    output = subprocess.run([coqc, "-print-version"], capture_output=True, text=True).stdout
    return "_".join(output.split()) or "unknown"


def plugin_dir() -> Path:
    """The OCAMLPATH entry that holds (or will hold) the findlib package ``coq-prover``."""
    source = hashlib.sha256((SOURCE / "prover_plugin.mlg").read_bytes()).hexdigest()[:12]
    return cache_root() / "coq-plugin" / f"coq-{coq_version()}-{source}"


def plugin_built() -> bool:
    package = plugin_dir() / "coq-prover"
    return (package / "META").is_file() and (package / "prover_plugin.cmxs").is_file()


def build_plugin() -> tuple[bool, str]:
    """Build the plugin into ``plugin_dir()``: (whether it worked, a one-line summary)."""
    for tool in ("coqpp", "ocamlfind"):
        if shutil.which(tool) is None:
            return False, f"{tool} not found: apt-get install libcoq-core-ocaml-dev ocaml-findlib"
    out = plugin_dir()
    result = subprocess.run(["bash", str(SOURCE / "build.sh"), str(out)], capture_output=True, text=True)
    if result.returncode != 0 or not plugin_built():
        last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        return False, f"the Coq plugin did not build: {last}"
    return True, f"Coq plugin built in {out}"
