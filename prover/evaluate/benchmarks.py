"""The benchmark registry: which benchmarks exist, where their statements come from, and how one
problem's statement is assembled into the text ``prover check --statement`` takes.

A benchmark loads from a local copy (the default copies under ``data/``, or ``data_dir`` /
``data_file``) or from its Hugging Face dataset id with ``datasets.load_dataset`` (imported lazily:
the local path never needs it). Unknown names and splits are ``ValueError`` with one line listing
the known ones.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
SPLITS = ("valid", "test")

# miniF2F categories, longest prefix first (``amc12a_…`` and ``amc12b_…`` are amc12, ``aimeI_…`` aime).
_MINIF2F_CATEGORIES = (
    "mathd_algebra",
    "mathd_numbertheory",
    "amc12",
    "aime",
    "imo",
    "induction",
    "algebra",
    "numbertheory",
)

# DeepSeek's ProofNet port drops the book from the name; its per-book header's first ``open`` line
# tells the book (measured on all 371 rows against the rahul3613 port's ProofNet ids).
_PROOFNET_BOOK_BY_OPEN = (
    ("open Complex Filter Function Metric Finset", "Shakarchi"),
    ("open Topology Filter Real Complex TopologicalSpace Finset", "Rudin"),
    ("open Fintype Set Real Ideal Polynomial", "Herstein"),
    ("open Filter Real Function", "Pugh"),
    ("open Function Fintype Subgroup Ideal Polynomial Submodule Zsqrtd", "Artin"),
    ("open Fintype Complex Polynomial LinearMap FiniteDimensional Module", "Axler"),
    ("open Fintype Subgroup Set Polynomial Ideal", "Dummit_Foote"),
    ("open Filter Set TopologicalSpace", "Munkres"),
    ("open Real", "Ireland_Rosen"),
    ("open scoped BigOperators", "Putnam"),
)


@dataclass(frozen=True)
class BenchProblem:
    """One benchmark problem. ``statement`` is the complete trusted statement text for the backend
    (``prover check --backend BACKEND --statement``); ``key`` is unique within a benchmark split."""

    key: str
    name: str
    split: str
    backend: str
    header: str
    statement: str
    category: str
    informal: str | None = None

    @property
    def statement_sha(self) -> str:
        return hashlib.sha256(self.statement.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Benchmark:
    """A registry entry. ``port`` names the exact source the statements come from (ports of one
    benchmark differ; say which one a number refers to)."""

    name: str
    backend: str
    port: str
    local: str | None  # a folder or file under data/, None when there is no local copy
    local_format: str  # "rocq-dir" | "jsonl"
    hf_id: str | None
    hf_splits: Mapping[str, str]  # our split name -> the dataset's split name
    hf_format: str | None  # how a hub row maps to a problem: "deepseek" | "proofnetsharp"
    description: str
    # The Lean project the port's statements were written for (``prover.itp.lean.pins``): a check
    # on another Mathlib measures that Mathlib as much as the prover. None: not a Lean port.
    pin: str | None = None


REGISTRY: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark(
            "minif2f-rocq", "rocq", "LLM4Rocq/miniF2F-rocq@b60affae", "minif2f-rocq", "rocq-dir",
            None, {}, None, "miniF2F in Rocq (local copy only; no Hugging Face id known)",
        ),
        Benchmark(
            "minif2f-lean4", "lean", "yangky11/miniF2F-lean4@5746b7d6", "minif2f-lean4/minif2f_lean4.jsonl",
            "jsonl", None, {}, None,
            "miniF2F in Lean 4, yangky11's port (Mathlib v4.24.0); no hub copy of this exact port known",
            pin="v4.24",
        ),
        Benchmark(
            "minif2f-lean4-deepseek", "lean", "DeepSeek-Prover-V1.5 datasets/minif2f.jsonl", None, "jsonl",
            "Slim205/minif2f", {"valid": "valid", "test": "test"}, "deepseek",
            "miniF2F in Lean 4, DeepSeek's port (behind many published numbers); hub only",
            pin="v4.9",  # DeepSeek-Prover-V1.5's own Lean project (data/proofnet-lean4/README.md)
        ),
        Benchmark(
            "minif2f-isabelle", "isabelle", "facebookresearch/miniF2F@e4f11309",
            "minif2f-isabelle/minif2f_isabelle.jsonl", "jsonl", None, {}, None,
            "miniF2F in Isabelle (local copy only: the hub's wellecks/minif2f_isabelle needs a loading "
            "script recent datasets releases refuse)",
        ),
        Benchmark(
            "proofnet-lean4", "lean", "DeepSeek-Prover-V1.5 datasets/proofnet.jsonl@2c4ba911",
            "proofnet-lean4/proofnet_lean4_deepseek.jsonl", "jsonl",
            "HaimingW/proofnet-lean4", {"valid": "valid", "test": "test"}, "deepseek",
            "ProofNet in Lean 4, DeepSeek's port",
            pin="v4.9",  # 13 rows write `∑ x in s`, which v4.24's Mathlib no longer parses
        ),
        Benchmark(
            "proofnet-lean4-rahul3613", "lean", "rahul3613/ProofNet-lean4@6deae98b",
            "proofnet-lean4/proofnet_lean4_rahul3613.jsonl", "jsonl", None, {}, None,
            "ProofNet in Lean 4, rahul3613's port (Mathlib v4.20.0; 3 rows outside the split are left out)",
            pin="v4.24",  # written for v4.20; the nearest pin (no v4.20 project is kept)
        ),
        Benchmark(
            "proofnetsharp-lean4", "lean", "PAug/ProofNetSharp", None, "jsonl",
            "PAug/ProofNetSharp", {"valid": "valid", "test": "test"}, "proofnetsharp",
            "ProofNet#, corrected Lean 4 port; hub only",
            pin="v4.24",  # its Lean version is not confirmed here; a recent Mathlib is assumed
        ),
    )
}


def known() -> str:
    return ", ".join(REGISTRY)


def get_benchmark(name: str) -> Benchmark:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown benchmark {name!r}; known: {known()}") from None


def category(name: str, benchmark: str = "minif2f") -> str:
    """A problem's category from its name (miniF2F: mathd_algebra, amc12, aime, imo, induction …;
    rahul3613's ProofNet: the book prefix)."""
    if benchmark.startswith("proofnet"):
        for sep in ("|", "_exercise"):
            if sep in name:
                return name.split(sep)[0] or "proofnet"
        return "proofnet"
    for prefix in _MINIF2F_CATEGORIES:
        if name.startswith(prefix):
            return prefix
    return name.split("_")[0] or "other"


def proofnet_book(header: str) -> str:
    """The textbook of a DeepSeek-port ProofNet problem, from its header ("proofnet" when unknown)."""
    first = next((line for line in header.splitlines() if line.startswith("open ")), "")
    for prefix, book in _PROOFNET_BOOK_BY_OPEN:
        if first == prefix or first.startswith(prefix + " "):
            return book
    return "proofnet"


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")


def load_problems(
    name: str,
    split: str,
    data_dir: Path | None = None,
    data_file: Path | None = None,
    hub: bool = False,
) -> list[BenchProblem]:
    """The problems of one split, in a stable order (sorted by key).

    Source: ``data_file`` (a JSONL file), else ``data_dir`` (a folder holding the benchmark's
    local layout), else the hub when ``hub`` is set, else the default copy under ``data/``, else
    the hub. Raises ``ValueError`` (one line) for unknown names/splits and unreadable sources."""
    bench = get_benchmark(name)
    _check_split(split)
    if data_file is not None:
        return _sorted(_from_jsonl(bench, split, _read_jsonl(data_file)))
    if data_dir is not None:
        return _sorted(_from_local(bench, split, data_dir))
    if not hub and bench.local is not None and (DATA / bench.local).exists():
        return _sorted(_from_local(bench, split, DATA))
    if bench.hf_id is None:
        raise ValueError(
            f"{name} has no local copy at {DATA / (bench.local or name)} and no Hugging Face id; "
            "pass --data-dir or --data-file"
        )
    return _sorted(_from_hub(bench, split))


def _sorted(problems: list[BenchProblem]) -> list[BenchProblem]:
    keys = [p.key for p in problems]
    if len(set(keys)) != len(keys):
        raise ValueError("the benchmark has two problems with the same key")
    return sorted(problems, key=lambda p: p.key)


def _from_local(bench: Benchmark, split: str, root: Path) -> list[BenchProblem]:
    if bench.local_format == "rocq-dir":
        folder = root / bench.local if bench.local and (root / bench.local).is_dir() else root
        folder = folder / split
        files = sorted(folder.glob("*.v"))
        if not files:
            raise ValueError(f"no .v files in {folder}")
        return [rocq_problem(f.stem, split, f.read_text()) for f in files]
    if bench.local is None:
        raise ValueError(f"{bench.name} has no local layout; pass --data-file FILE.jsonl")
    file_name = Path(bench.local).name
    path = root / bench.local if (root / bench.local).exists() else root / file_name
    return _from_jsonl(bench, split, _read_jsonl(path))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from exc
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{number}: not a JSON object")
        rows.append(row)
    return rows


def rocq_problem(name: str, split: str, text: str) -> BenchProblem:
    """A miniF2F-rocq file: the whole file is the statement; the header is what precedes the theorem."""
    m = re.search(r"^\s*(?:Theorem|Lemma|Fact|Remark|Corollary|Proposition|Example)\b", text, re.MULTILINE)
    header = text[: m.start()] if m else ""
    return BenchProblem(name, name, split, "rocq", header, text, category(name))


def _lean_statement(header: str, formal: str) -> str:
    """``header + formal_statement``, ending in ``sorry`` as a Lean ``--statement`` does."""
    body = formal.rstrip()
    if body.endswith((":=", " by")):
        body += " sorry"
    return header + body


def _isabelle_statement(header: str, formal: str) -> str:
    return header + formal.rstrip() + "\n  sorry\n\nend\n"


def _field(row: Mapping[str, Any], key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{where}: field {key!r} missing or not text")
    return value


def _from_jsonl(bench: Benchmark, split: str, rows: Iterable[Mapping[str, Any]]) -> list[BenchProblem]:
    """Rows in this project's JSONL format (``data/*/README.md``), or DeepSeek's hub format."""
    problems = []
    for n, row in enumerate(rows, 1):
        if row.get("split") != split:
            continue
        problems.append(_row_problem(bench, split, row, f"{bench.name} row {n}"))
    return _unique_keys(problems)


def _row_problem(bench: Benchmark, split: str, row: Mapping[str, Any], where: str) -> BenchProblem:
    name = _field(row, "name", where)
    header = str(row.get("header") or "")
    formal = _field(row, "formal_statement", where)
    informal = row.get("informal_statement")
    if informal is None and isinstance(row.get("informal_prefix"), str):
        informal = _strip_docstring(row["informal_prefix"])
    if bench.backend == "isabelle":
        statement = _isabelle_statement(header, formal)
        cat = category(name)
    else:
        statement = _lean_statement(header, formal)
        cat = proofnet_book(header) if bench.name == "proofnet-lean4" else category(name, bench.name)
    key = f"{cat}/{name}" if bench.name == "proofnet-lean4" else name
    text = informal if isinstance(informal, str) else None
    return BenchProblem(key, name, split, bench.backend, header, statement, cat, text)


def _strip_docstring(text: str) -> str:
    body = text.strip()
    body = body.removeprefix("/--").removesuffix("-/")
    return body.strip()


def _unique_keys(problems: list[BenchProblem]) -> list[BenchProblem]:
    """Repeated keys (DeepSeek's ProofNet repeats a few names in one split) get ``#2``, ``#3`` …"""
    seen: dict[str, int] = {}
    out = []
    for p in problems:
        seen[p.key] = seen.get(p.key, 0) + 1
        if seen[p.key] > 1:
            p = BenchProblem(f"{p.key}#{seen[p.key]}", *_rest(p))
        out.append(p)
    return out


def _rest(p: BenchProblem) -> tuple[str, str, str, str, str, str, str | None]:
    return (p.name, p.split, p.backend, p.header, p.statement, p.category, p.informal)


# -- the hub -----------------------------------------------------------------------------------------

Loader = Callable[..., Iterable[Mapping[str, Any]]]


def _load_dataset() -> Loader:
    try:
        from datasets import load_dataset
    except ImportError as exc:
        raise ValueError(
            "loading from the Hugging Face hub needs the 'datasets' package (pip install datasets), "
            "or pass --data-dir/--data-file for a local copy"
        ) from exc
    loader: Loader = load_dataset
    return loader


def _from_hub(bench: Benchmark, split: str) -> list[BenchProblem]:
    assert bench.hf_id is not None
    hf_split = bench.hf_splits.get(split)
    if hf_split is None:
        raise ValueError(f"{bench.hf_id} has no split for {split!r}")
    load_dataset = _load_dataset()
    try:
        rows = list(load_dataset(bench.hf_id, split=hf_split))
    except Exception as exc:  # network, authentication, a renamed dataset: one line, exit 2
        message = f"cannot load {bench.hf_id} ({hf_split}) from the hub: {exc}"
        raise ValueError(message.splitlines()[0]) from exc
    problems = []
    for n, row in enumerate(rows, 1):
        where = f"{bench.hf_id} row {n}"
        if bench.hf_format == "proofnetsharp":
            name = _field(row, "id", where)
            fixed = {
                "name": name,
                "header": str(row.get("lean4_src_header") or "") + "\n",
                "formal_statement": _field(row, "lean4_formalization", where),
                "informal_statement": row.get("nl_statement"),
            }
            problems.append(_row_problem(bench, split, fixed, where))
        else:
            problems.append(_row_problem(bench, split, row, where))
    return _unique_keys(problems)
