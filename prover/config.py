"""Typed settings with defaults, read from one TOML file (``--config``, or ``prover.toml`` if present).

Example::

    [pool]
    workers = 2
    timeout_s = 60
    memory_gib = 4               # GiB; default: the backend's own (Rocq 4, Lean 12)
    max_checks_per_session = 200

    [rocq]
    sandbox = true
    extra_args = ["-R", "/path/to/lib", "MyLib"]
    preload = ["Coq.Reals.Reals", "Coq.ZArith.ZArith"]

    [lean]
    pin = "v4.24"                 # or "v4.9" (prover/itp/lean/pins.py); a benchmark port names its own
    project_dir = "/path/to/lean_project"
    allow_native_decide = false

    [generate]
    backend = "transformers"      # or "openai" (any OpenAI-compatible server), "vllm"
    model = "path/or/hf-id"
    n = 8
    temperature = 1.0
    preset = "goedel-prover-v2"   # a model family's published prompt (prover/generate/presets.py)
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from prover.generate.base import GenerationConfig
from prover.itp.base import GIB, Limits


@dataclass
class PoolSettings:
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout_s: float = 60.0
    memory_gib: float | None = None  # None: the backend's default (Rocq 4, Lean 12, Isabelle 16)
    max_checks_per_session: int = 200
    max_rss_gib: float | None = None  # None: the backend's default (Rocq 3, Lean 10, Isabelle 8)
    cache_path: str | None = None  # SQLite file for the verdict cache; memory only when unset

    def limits(self) -> Limits:
        return Limits(
            timeout_s=self.timeout_s,
            memory_bytes=None if self.memory_gib is None else int(self.memory_gib * GIB),
            max_checks_per_session=self.max_checks_per_session,
            max_rss_bytes=None if self.max_rss_gib is None else int(self.max_rss_gib * GIB),
        )


@dataclass
class RocqSettings:
    sandbox: bool = True
    extra_args: list[str] = field(default_factory=list)  # extra coqidetop flags, e.g. -R dir Lib
    preload: list[str] | None = None  # libraries a shared base loads; None = the default set, [] = none
    plugin: bool = True  # answer the axiom check with prover's Coq plugin when it is built


@dataclass
class LeanSettings:
    project_dir: str | None = None  # the Lake project with Mathlib and the REPL; default: the pin's
    # which pinned project (prover/itp/lean/pins.py: "v4.24", "v4.9") a check runs in when no
    # benchmark port names one; None: v4.24
    pin: str | None = None
    sandbox: bool = True
    allow_native_decide: bool = False  # accept proofs resting on Lean.ofReduceBool


# The self-play loop's settings (``[selfplay]``), the embedded default as defaults: the project's Rocq
# seed problems, the small CPU model, two rounds. Thresholds follow the STP paper where it gives them
# (seeds proved with pass rate above 0.35, conjectures kept with 0 < pass rate <= 0.25, the bottom 20 %
# by proof/statement length dropped, a lemma at most 10 % of a batch); sizes are chosen so the
# default finishes in minutes on 2 cores.
@dataclass
class SelfPlaySettings:
    seeds: str = "data/rocq-seeds/problems.jsonl"  # JSONL {name, split, statement, informal}
    workdir: str = "runs/selfplay"  # the store, checkpoints, report, plot and dataset live here
    model: str | None = None  # a local directory or Hugging Face id; None: the small model, made here
    rounds: int = 2
    seed: int = 0  # sampling and training seed (the held-out measurement always uses this one)
    # proving
    k: int = 4  # samples per target per round
    conjecture_k: int = 8  # samples per conjecture (with 8, one or two verified fall in (0, 0.25])
    revision_rounds: int = 1  # conjecture correction: rounds of revisions from the checker's errors
    tool_correction: bool = False  # hybrid engine (a portfolio search per failing step: slower)
    teacher: str = "portfolio"  # "portfolio": proves what the model missed (training data); "none"
    teacher_budget_s: float = 20.0
    budget_s: float = 60.0  # per problem, the model engine
    temperature: float = 1.0
    max_tokens: int = 64
    heldout_k: int = 4  # samples per held-out problem when measuring the model alone
    # conjecturing
    conjectures_per_round: int = 40
    mutations_per_seed: int = 6
    model_conjectures_per_seed: int = 1  # asked from the model (conjecturer prompt); 0: symbolic only
    seed_pass_rate: float = 0.35  # a seed the model proves at least this often (teacher-proved: too)
    lemma_cap: float = 0.10  # no lemma in more than this share of a batch
    # selection and training
    select_low: float = 0.0  # keep conjectures with select_low < pass rate <= select_high
    select_high: float = 0.25
    drop_fraction: float = 0.2  # drop this share with the lowest proof/statement ratio (one of 2 or more)
    replay: int = 400  # verified proofs of earlier rounds replayed in training (most recent first)
    unproved_weight: float = 2.0  # loss weight of proofs of targets the model itself did not prove
    nl_comments: bool = True  # NL-FL bootstrapping of the training proofs
    train_steps: int = 300
    learning_rate: float = 2e-3
    batch_size: int = 8
    # the small model made when none is given
    init_layers: int = 2
    init_dim: int = 64
    init_heads: int = 4

    def validate(self) -> None:
        """Raises ``ValueError`` with a one-line message."""
        if self.rounds < 1:
            raise ValueError("selfplay rounds must be at least 1")
        if min(self.k, self.conjecture_k, self.heldout_k) < 1:
            raise ValueError("k, conjecture_k and heldout_k must be at least 1")
        if self.teacher not in ("portfolio", "none"):
            raise ValueError(f"teacher must be portfolio or none, not {self.teacher!r}")
        if not 0 <= self.select_low < self.select_high <= 1:
            raise ValueError("need 0 <= select_low < select_high <= 1")
        if not 0 <= self.drop_fraction < 1 or not 0 < self.lemma_cap <= 1:
            raise ValueError("drop_fraction must lie in [0, 1) and lemma_cap in (0, 1]")
        if self.train_steps < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise ValueError("train_steps, batch_size and learning_rate must be positive")
        if min(self.budget_s, self.teacher_budget_s) <= 0:
            raise ValueError("budgets must be positive")


@dataclass
class ExpertSettings:
    """``[expert]``: expert iteration of the step-level prover (``prover/selfplay/expert.py``); the
    defaults are the research run, ``configs/minif2f-rocq.toml``."""

    workdir: str = "runs/expert"  # eval.sqlite (every search), policy-N/ folders, rounds.json
    train_benchmark: str = "minif2f-rocq"
    train_split: str = "valid"
    seeds_file: str = "data/rocq-seeds/problems.jsonl"  # its train split joins the pool; "" for none
    heldout_benchmark: str = "minif2f-rocq"
    heldout_split: str = "test"  # never in any training record, tokenizer corpus or decision
    rounds: int = 2  # policy rounds after round 0 (the table's search)
    search_budget_s: float = 10.0  # seconds per training problem
    eval_budget_s: float = 30.0  # seconds per held-out problem, for the policy and every baseline
    workers: int = 2
    seed: int = 0
    # "ranker": the linear ranker (search/ranker.py), fast enough for a CPU search; "lm": a small causal
    # LM trained on the step examples (the GPU path's kind of policy, slow to score on a CPU)
    policy: str = "ranker"
    epochs: float = 30.0  # the LM's (the ranker has its own defaults)
    learning_rate: float = 2e-3
    batch_size: int = 16
    max_length: int = 384
    limit: int = 0  # only the first N problems of each set (0: all): quick runs and tests
    export: str = ""  # copy the last policy's weights and tokenizer here (e.g. "models/step-rocq")

    def validate(self) -> None:
        """Raises ``ValueError`` with a one-line message."""
        if self.policy not in ("ranker", "lm"):
            raise ValueError(f"expert policy must be ranker or lm, not {self.policy!r}")
        if self.rounds < 0 or self.workers < 1 or min(self.search_budget_s, self.eval_budget_s) <= 0:
            raise ValueError("expert rounds must be >= 0, workers >= 1 and budgets positive")


@dataclass
class Settings:
    pool: PoolSettings = field(default_factory=PoolSettings)
    rocq: RocqSettings = field(default_factory=RocqSettings)
    lean: LeanSettings = field(default_factory=LeanSettings)
    generate: GenerationConfig = field(default_factory=GenerationConfig)
    selfplay: SelfPlaySettings = field(default_factory=SelfPlaySettings)
    expert: ExpertSettings = field(default_factory=ExpertSettings)


def _matches(value: Any, hint: Any) -> bool:
    """Whether a TOML value fits a field's type hint (the few shapes settings use)."""
    if hint is Any:
        return True
    origin = get_origin(hint)
    if origin in (Union, UnionType):
        return any(_matches(value, arm) for arm in get_args(hint))
    if origin is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _fill(target: Any, table: dict[str, Any], where: str) -> None:
    hints = get_type_hints(type(target))
    known = {f.name for f in fields(target)}
    for key, value in table.items():
        if key not in known:
            raise ValueError(f"unknown setting {where}.{key}")
        hint = hints[key]
        if not _matches(value, hint):
            wanted = hint.__name__ if isinstance(hint, type) else str(hint)
            raise ValueError(f"setting {where}.{key} should be {wanted}, not {value!r}")
        setattr(target, key, float(value) if hint is float else value)


def load_settings(path: Path | None = None) -> Settings:
    """Defaults, overridden by the TOML file. Raises ``ValueError`` with a one-line message."""
    settings = Settings()
    if path is None:
        default = Path("prover.toml")
        if not default.is_file():
            return _with_cli_preset(settings)
        path = default
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config {path} is not valid TOML: {exc}") from exc
    for section, table in data.items():
        known = ("pool", "rocq", "lean", "generate", "selfplay", "expert")
        if section not in known or not isinstance(table, dict):
            raise ValueError(f"unknown config section [{section}] in {path}")
        if section == "generate" and isinstance(table.get("preset"), str):
            # The preset first, so that the settings written beside it override it.
            _apply_preset(settings, table["preset"])
        _fill(getattr(settings, section), table, section)
    if settings.lean.pin is not None:
        from prover.itp.lean.pins import get_pin

        get_pin(settings.lean.pin)  # an unknown pin is a one-line error here, not at the first check
    return _with_cli_preset(settings)


# A --preset flag: the command line wraps a command in ``cli_preset`` so that every settings load
# of that command (some commands load settings themselves) gets it, after the file's settings.
_CLI_PRESET: ContextVar[str | None] = ContextVar("cli_preset", default=None)


@contextmanager
def cli_preset(name: str | None) -> Iterator[None]:
    token = _CLI_PRESET.set(name)
    try:
        yield
    finally:
        _CLI_PRESET.reset(token)


def _with_cli_preset(settings: Settings) -> Settings:
    name = _CLI_PRESET.get()
    if name is not None:
        _apply_preset(settings, name)
    return settings


def _apply_preset(settings: Settings, name: str) -> None:
    from prover.generate.presets import apply_preset

    apply_preset(settings.generate, name)
