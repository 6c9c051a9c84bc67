"""A learned linear ranker of candidate tactics: the step-level policy that trains and runs on a CPU.

A causal LM scoring ~100 candidates per state (``policy.ModelPolicy``) costs 0.1–0.6 s a node on
two CPU cores, a tenth of a 30-second search's nodes; this ranker costs well under a millisecond.
It scores a candidate by a weighted sum of features of (state, candidate) pairs — every token of
the goal state (hypotheses and conclusion apart, variable names and numbers abstracted) crossed
with the candidate's rule and with its tactic written as a template (``pose proof (pow2_ge_0 (V -
V)); nra.``) — hashed into one weight vector. Training is listwise, as the search uses it: at each
state of a verified proof, the softmax over the candidates the search generated there must put the
tactic taken first; the others are the negatives.

Costs are those of ``ModelPolicy`` (``policy.policy_costs``: ``-log p`` over the state's candidates
plus a share of the table's priority), so with all weights zero the ranker orders exactly like the
table.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import zlib
from collections.abc import Iterable, Sequence, Set
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

import numpy as np

from prover.itp.goals import ProofState
from prover.search.policy import PROMPT_END, policy_costs, state_prompt
from prover.search.tactics import Rule

RANKER_FILE = "ranker.npz"
RANKER_SETTINGS = "ranker.json"
FEATURES_VERSION = 1  # bumped when the features change: weights of another version are refused
_TOKEN = re.compile(r"[A-Za-z_][\w'.]*|\d+|<=|>=|<>|<->|->|/\\|\\/|[-+*/^=<>~%|!]")
_DECL = re.compile(r"^([A-Za-z_][\w']*(?:\s*,\s*[A-Za-z_][\w']*)*)\s*:\s*(.*)$", re.DOTALL)
_BASE_TYPES = {"R", "Z", "nat", "C", "Q", "N", "positive", "bool", "Prop"}
_PRIME = 1_000_003


@dataclass
class RankerConfig:
    dim_bits: int = 18  # 2^18 hashed weights (1 MB as float32)
    epochs: int = 12
    learning_rate: float = 0.3  # Adagrad's step
    l2: float = 1e-5
    seed: int = 0  # the order examples are visited in
    table_weight: float = 0.5  # how much of the table's priority stays in a step's cost
    scale: float = 1.0  # -log p is multiplied by this


@dataclass(frozen=True)
class RankExample:
    """One state of a verified proof: its rendering, the candidates the search had there and which
    of them the proof took."""

    state: str
    candidates: tuple[tuple[str, str], ...]  # (rule name, tactic)
    chosen: int


def _number(token: str) -> str:
    value = int(token)
    return token if value <= 2 else ("num" if value <= 100 else "bignum")


def _parse(prompt: str) -> tuple[list[str], list[tuple[list[str], str]], str]:
    """(header lines, [(names, type)] declarations, conclusion) of a ``state_prompt`` rendering."""
    body = prompt.removesuffix(PROMPT_END)
    head, _, concl = body.rpartition("\n⊢ ")
    lines = head.split("\n") if head else []
    header = [line for line in lines if line.startswith("goals:")]
    decls = []
    for line in lines:
        match = _DECL.match(line)
        if match and not line.startswith("goals:"):
            decls.append(([n.strip() for n in match.group(1).split(",")], match.group(2).strip()))
    return header, decls, concl


def _abstract(tokens: Iterable[str], variables: Set[str], hyps: Set[str]) -> list[str]:
    out = []
    for token in tokens:
        if token.isdigit():
            out.append(_number(token))
        elif token in variables:
            out.append("V")
        elif token in hyps:
            out.append("H")
        else:
            out.append(token)
    return out


def _names(decls: Sequence[tuple[list[str], str]]) -> tuple[set[str], set[str]]:
    variables: set[str] = set()
    hyps: set[str] = set()
    for names, type_ in decls:
        simple = type_.replace("(", "").replace(")", "").strip()
        arrow = "->" in simple and all(p.strip() in _BASE_TYPES for p in simple.split("->"))
        if simple in _BASE_TYPES or arrow:  # a variable (or a function between base types)
            variables.update(names)
        else:
            hyps.update(names)
    return variables, hyps


@dataclass(frozen=True)
class _Reading:
    features: tuple[str, ...]
    variables: frozenset[str]  # names the tactic templates abstract to V
    hyps: frozenset[str]  # … and to H


@lru_cache(maxsize=4096)
def _read(prompt: str) -> _Reading:
    """A rendered state read once (training and every node's scoring ask for it again): the goal
    count, each variable's type, the tokens and token pairs of the conclusion, the tokens of the
    hypotheses; and the names a candidate's tactic is abstracted over."""
    header, decls, concl = _parse(prompt)
    variables, hyps = _names(decls)
    features = {"bias", *header}
    for names, type_ in decls:
        simple = type_.replace("(", "").replace(")", "").strip()
        if set(names) <= variables:
            features.add(f"var:{simple}")
        else:
            features.update(f"h:{t}" for t in _abstract(_TOKEN.findall(type_), variables, hyps))
    concl_tokens = _abstract(_TOKEN.findall(concl), variables, hyps)
    features.update(f"c:{t}" for t in concl_tokens)
    features.update(f"cc:{a} {b}" for a, b in itertools.pairwise(concl_tokens))
    if concl_tokens:
        features.add(f"c0:{concl_tokens[0]}")
    return _Reading(tuple(sorted(features)), frozenset(variables), frozenset(hyps))


def state_features(prompt: str) -> tuple[str, ...]:
    """The features of a rendered state (see ``_read``)."""
    return _read(prompt).features


def candidate_keys(rule: str, tactic: str, variables: Set[str], hyps: Set[str]) -> tuple[str, str]:
    """What a candidate is for the ranker: its rule, and its tactic with names and numbers abstracted."""
    template = " ".join(_abstract(_TOKEN.findall(tactic), variables, hyps))
    return f"r:{rule}", f"t:{template}"


@lru_cache(maxsize=65536)
def _hash(text: str) -> int:
    return zlib.crc32(text.encode())


def _indices(prompt: str, candidates: Sequence[tuple[str, str]], dim: int) -> np.ndarray:
    """The weight indices of each candidate's features: shape (candidates, features × 2)."""
    reading = _read(prompt)
    feats = np.array([_hash(f) for f in reading.features], dtype=np.int64)
    keys = np.array([[_hash(k) for k in candidate_keys(r, t, reading.variables, reading.hyps)]
                     for r, t in candidates],
                    dtype=np.int64).reshape(len(candidates), 2)
    crossed = (feats[None, :, None] * _PRIME + keys[:, None, :]) % dim
    return crossed.reshape(len(candidates), -1)


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    top = scores.max()
    return cast(np.ndarray, scores - (top + math.log(float(np.exp(scores - top).sum()))))


class RankerPolicy:
    """The ``Policy`` of a trained ranker (``prover/search/policy.py``'s protocol)."""

    def __init__(self, weights: np.ndarray, config: RankerConfig | None = None) -> None:
        self.weights = weights.astype(np.float32)
        self.config = config or RankerConfig()
        self._digest = hashlib.sha256(self.weights.tobytes()).hexdigest()[:12]

    def identity(self) -> str:
        c = self.config
        return f"ranker:v{FEATURES_VERSION}:{self._digest}:w{c.table_weight}:x{c.scale}"

    def scores(self, prompt: str, candidates: Sequence[tuple[str, str]]) -> np.ndarray:
        if not candidates:
            return np.zeros(0, dtype=np.float32)
        return cast(np.ndarray, self.weights[_indices(prompt, candidates, len(self.weights))].sum(axis=1))

    def costs(self, state: ProofState, candidates: Sequence[tuple[Rule, str]]) -> list[float]:
        if not candidates:
            return []
        scores = self.scores(state_prompt(state), [(r.name, t) for r, t in candidates])
        return policy_costs([float(x) for x in scores], [rule.priority for rule, _ in candidates],
                            self.config.scale, self.config.table_weight)

    def propose(self, state: ProofState) -> list[str]:
        return []

    def save(self, out_dir: Path, meta: dict[str, object] | None = None) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(out_dir / RANKER_FILE, weights=self.weights)
        settings = {"features_version": FEATURES_VERSION, "config": asdict(self.config), **(meta or {})}
        (out_dir / RANKER_SETTINGS).write_text(json.dumps(settings, indent=2) + "\n")

    @classmethod
    def load(cls, model_dir: Path) -> RankerPolicy:
        """Raises ``ValueError`` (one line) for a folder that holds no ranker of this version."""
        try:
            settings = json.loads((model_dir / RANKER_SETTINGS).read_text())
            weights = np.load(model_dir / RANKER_FILE)["weights"]
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{model_dir}: not a ranker policy ({exc})") from exc
        if settings.get("features_version") != FEATURES_VERSION:
            raise ValueError(f"{model_dir}: ranker features version {settings.get('features_version')}, "
                             f"this prover reads {FEATURES_VERSION}; retrain it")
        return cls(weights, RankerConfig(**settings["config"]))


def is_ranker(model: str) -> bool:
    return (Path(model) / RANKER_FILE).is_file()


def train_ranker(examples: Sequence[RankExample],
                 config: RankerConfig | None = None) -> tuple[RankerPolicy, dict[str, float]]:
    """Listwise logistic training with Adagrad; returns the policy and its training numbers
    (mean loss of the last epoch, how often the chosen tactic ranks first)."""
    c = config or RankerConfig()
    dim = 1 << c.dim_bits
    weights = np.zeros(dim, dtype=np.float64)
    squares = np.full(dim, 1e-8)
    rows = [(_indices(e.state, e.candidates, dim), e.chosen) for e in examples if len(e.candidates) > 1]
    rng = np.random.default_rng(c.seed)
    loss = 0.0
    for _ in range(c.epochs):
        loss = 0.0
        for i in rng.permutation(len(rows)):
            idx, chosen = rows[i]
            logp = _log_softmax(weights[idx].sum(axis=1))
            loss -= float(logp[chosen])
            grad_c = np.exp(logp)
            grad_c[chosen] -= 1.0
            flat = idx.ravel()
            grad = np.zeros(dim)
            np.add.at(grad, flat, np.repeat(grad_c, idx.shape[1]))
            touched = np.unique(flat)
            g = grad[touched] + c.l2 * weights[touched]
            squares[touched] += g * g
            weights[touched] -= c.learning_rate * g / np.sqrt(squares[touched])
        loss /= max(1, len(rows))
    policy = RankerPolicy(weights, c)
    top1 = sum(int(np.argmax(policy.weights[idx].sum(axis=1)) == chosen) for idx, chosen in rows)
    return policy, {"examples": len(rows), "loss": round(loss, 4),
                    "top1": round(top1 / max(1, len(rows)), 4)}
