"""The self-play loop's settings: the ``[selfplay]`` table of the TOML settings file, with the
embedded default (the project's Rocq seed problems, the small CPU model, two rounds) as defaults.

Thresholds follow the STP paper where it gives them (seeds proved with pass rate above 0.35,
conjectures kept with 0 < pass rate < 0.25, the bottom 20 % by proof/statement length dropped, a
lemma at most 10 % of a batch); sizes are chosen so the default finishes in minutes on 2 cores.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SelfPlaySettings:
    seeds: str = "data/rocq-seeds/problems.jsonl"  # JSONL {name, split, statement, informal}
    workdir: str = "runs/selfplay"  # the store, checkpoints, report, plot and dataset live here
    model: str | None = None  # a local directory or Hugging Face id; None: the small model, made here
    rounds: int = 2
    seed: int = 0  # sampling and training seed (the held-out measurement always uses this one)
    # proving
    k: int = 4  # samples per target per round
    conjecture_k: int = 8  # samples per conjecture (pass rates need more than 4 to fall in (0, 0.25))
    revision_rounds: int = 1  # conjecture correction: rounds of revisions from the checker's errors
    tool_correction: bool = False  # hybrid engine (a portfolio search per failing step: slower)
    teacher: str = "portfolio"  # "portfolio": proves what the model missed (training data); "none"
    teacher_budget_s: float = 20.0
    budget_s: float = 60.0  # per problem, the model engine
    temperature: float = 1.0
    max_tokens: int = 96
    heldout_k: int = 4  # samples per held-out problem when measuring the model alone
    # conjecturing
    conjectures_per_round: int = 40
    mutations_per_seed: int = 6
    model_conjectures_per_seed: int = 1  # asked from the model (conjecturer prompt); 0: symbolic only
    seed_pass_rate: float = 0.35  # a seed the model proves at least this often (teacher-proved: too)
    lemma_cap: float = 0.10  # no lemma in more than this share of a batch
    # selection and training
    select_low: float = 0.0  # keep conjectures with select_low < pass rate < select_high
    select_high: float = 0.25
    drop_fraction: float = 0.2  # drop this share with the highest proof/statement length ratio
    replay: int = 400  # verified proofs of earlier rounds replayed in training (most recent first)
    unproved_weight: float = 2.0  # loss weight of proofs of targets the model itself did not prove
    nl_comments: bool = True  # NL-FL bootstrapping of the training proofs
    train_steps: int = 400
    learning_rate: float = 3e-3
    batch_size: int = 8
    # the small model made when none is given
    init_layers: int = 2
    init_dim: int = 128
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
