"""Best-first search over tactic steps within a wall-clock budget.

A node is a proof state; an edge is one (rule, tactic) candidate for the node's first goal: the
table's rows, tactics with arguments made from the goal's terms (``arguments.py``) and, with a
model policy, tactics the model wrote. Edges wait in one priority queue ordered by the node's cost
plus the step's cost, which the ``Policy`` gives (``policy.py``): the table's priorities for
``--engine portfolio``, a learned model's ``-log p`` for ``--engine step`` — the same search, the
same candidates, only the order differs. Cheap closers on shallow states run before deep
preprocessing chains. Normalising steps (``norm`` rows:
intros, destructing hypotheses, subst, unfolding) run eagerly, since they nearly always help and cost
milliseconds. A tactic that times out comes back once, later, with a longer limit: most closers that
succeed do so in well under a second, and a first pass with short limits leaves time for the rest.

The search never trusts itself: a finished tactic path becomes a proof file that must pass
``certify`` (the verifier pool); a refused one is recorded and the search goes on.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prover.itp.base import Verdict
from prover.itp.goals import GoalSession, Outcome, ProofState
from prover.search.language import ROCQ, SearchLanguage
from prover.search.policy import MODEL_RULE, Policy, TablePolicy, state_prompt
from prover.search.result import Attempt, SearchResult, Step
from prover.search.shape import Shape
from prover.search.tactics import Rule, proposals

Certify = Callable[[str], Verdict]

# Bumped whenever the candidates or the order change: an eval run's settings include it, so a run
# resumed after such a change starts afresh instead of mixing two searches.
SEARCH_VERSION = 4
_RETRY_PENALTY = 2.5


@dataclass
class SearchConfig:
    budget_s: float = 30.0
    table: tuple[Rule, ...] = ()  # (): the language's own table
    max_depth: int = 10
    max_norm_rounds: int = 6
    # Done when the focused goals are closed, even if unfocused ones remain (repairing one branch
    # of a proof with bullets, where the rest of the proof closes the others).
    focus_only: bool = False
    policy: Policy = field(default_factory=TablePolicy)
    arguments: bool = True  # tactics with arguments from the goal's terms (arguments.py)
    # The proof assistant's tactic language: its table, goal reader, first-try limit (language.py).
    language: SearchLanguage = ROCQ

    def __post_init__(self) -> None:
        self.table = self.table or self.language.table


@dataclass(order=True)
class _Edge:
    cost: float
    seq: int
    node: ProofState = field(compare=False)
    node_cost: float = field(compare=False)
    rule: Rule = field(compare=False)
    tactic: str = field(compare=False)
    timeout_s: float = field(compare=False)
    step_cost: float = field(compare=False)  # what the policy charged for this step
    retry: bool = field(compare=False, default=False)
    path: tuple[str, ...] = field(compare=False, default=())  # rule names along the node's path
    # (state, tactic, rule) of the ranked steps that led to ``node``: training data once it proves
    trail: tuple[tuple[ProofState, str, str], ...] = field(compare=False, default=())


class _Search:
    def __init__(self, session: GoalSession, statement: str, config: SearchConfig, result: SearchResult,
                 certify: Certify | None, on_attempt: Callable[[Attempt], None] | None = None) -> None:
        self.session = session
        self.on_attempt = on_attempt
        self.config = config
        self.result = result
        self.certify = certify
        self.features = config.language.statement_features(statement)
        self.definitions = config.language.statement_definitions(statement)
        self.deadline = time.monotonic() + config.budget_s
        self.seen: set[str] = set()
        # What each tried candidate did on each state (keyed by the state's tactic path): a proof's
        # steps carry their state's failed siblings with the outcome, the preference pairs of training.
        self.tried: dict[tuple[str, ...], list[tuple[str, str, float]]] = {}
        self.queue: list[_Edge] = []
        self.counter = itertools.count()

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def shape(self, state: ProofState) -> Shape:
        return self.config.language.shape(state.goals[0], self.features, self.definitions)

    def run_step(self, node: ProofState, rule: Rule, tactic: str, timeout_s: float) -> ProofState | None:
        """One tactic on ``node``; the new state when it ran and changed something."""
        text = tactic
        if rule.kind == "close" and len(node.goals) > 1:
            text = self.config.language.every_goal(tactic)  # a closer that fits one goal often fits all
        outcome = self.session.step(node, text, max(0.5, min(timeout_s, self.left())))
        state = outcome.state
        label = str(outcome.outcome)
        if outcome.outcome is Outcome.OK and state is not None:
            key = state.fingerprint()
            if key in self.seen:
                label, state = "duplicate", None
            else:
                self.seen.add(key)
                label = "closed" if len(state.goals) < len(node.goals) else "ok"
        attempt = Attempt(len(node.tactics), text, rule.name, label, outcome.time_s,
                          None if state is None else len(state.goals) + state.shelved)
        self.result.attempts.append(attempt)
        self.tried.setdefault(tuple(node.tactics), []).append((tactic, label, round(outcome.time_s, 3)))
        if self.on_attempt is not None:
            self.on_attempt(attempt)
        if outcome.outcome is Outcome.TIMEOUT:
            raise _TimedOut()
        return state

    def finish(self, state: ProofState, path: tuple[str, ...],
               trail: tuple[tuple[ProofState, str, str], ...]) -> bool:
        """Certify a finished path; true when the pool verified it."""
        proof_text = self.session.proof_text(state.tactics)
        if self.certify is None:
            verdict = Verdict(True, None)
        else:
            started = time.monotonic()
            verdict = self.certify(proof_text)
            self.result.verify_time_s += time.monotonic() - started
        if not verdict.verified:
            self.result.rejected.append(f"{verdict.reason}: {verdict.detail or ''}"[:300])
            return False
        self.result.proved = True
        self.result.proof = proof_text
        self.result.tactics = list(state.tactics)
        self.result.rules = list(path)
        self.result.technique = path[-1] if path else None
        # Each step keeps the candidates its state offered: the negatives a ranker learns from.
        self.result.steps = [
            Step(state_prompt(node), tactic, rule, tuple((r.name, t) for r, t in self.generated(node)),
                 tuple(self.tried.get(tuple(node.tactics), ())))
            for node, tactic, rule in trail
        ]
        return True

    def done(self, state: ProofState) -> bool:
        return not state.goals if self.config.focus_only else state.finished

    def normalise(self, state: ProofState, path: tuple[str, ...]) -> tuple[ProofState, tuple[str, ...]]:
        """Apply the ``norm`` rows greedily to the first goal until none changes it."""
        for _ in range(self.config.max_norm_rounds):
            if self.done(state) or self.left() <= 0:
                break
            changed = False
            for rule, tactic in proposals(self.shape(state), self.config.table):
                if rule.kind != "norm":
                    continue
                try:
                    new = self.run_step(state, rule, tactic, rule.timeout_s)
                except _TimedOut:
                    continue
                if new is not None and len(new.goals) <= len(state.goals):
                    state, path, changed = new, (*path, rule.name), True
                    break
            if not changed:
                break
        return state, path

    def generated(self, state: ProofState) -> list[tuple[Rule, str]]:
        """The table's rows and the tactics with arguments for ``state`` (deterministic and cheap)."""
        shape = self.shape(state)
        found = [(r, tactic) for r, tactic in proposals(shape, self.config.table) if r.kind != "norm"]
        if self.config.arguments:
            found += self.config.language.arguments(shape, state.goals[0])
        return found

    def candidates(self, state: ProofState) -> list[tuple[Rule, str]]:
        found = self.generated(state)
        known = {tactic for _, tactic in found}
        found += [(MODEL_RULE, t) for t in self.config.policy.propose(state) if t not in known]
        return found

    def add(self, state: ProofState, cost: float, path: tuple[str, ...],
            trail: tuple[tuple[ProofState, str, str], ...] = ()) -> bool:
        """Queue the edges of a new node; true when it is a certified finished proof."""
        state, path = self.normalise(state, path)
        left = len(state.goals) + state.shelved
        best = self.result.goals_left
        if best is None or (left, -len(state.tactics)) < (best, -len(self.result.partial)):
            self.result.partial, self.result.goals_left = list(state.tactics), left
        if self.done(state):
            return self.finish(state, path, trail)
        if not state.goals or len(state.tactics) >= self.config.max_depth:
            return False
        candidates = self.candidates(state)
        for (rule, tactic), step_cost in zip(candidates, self.config.policy.costs(state, candidates),
                                             strict=True):
            edge = _Edge(cost + step_cost, next(self.counter), state, cost, rule, tactic,
                         min(rule.timeout_s, self.config.language.first_try_s), step_cost, path=path,
                         trail=trail)
            heapq.heappush(self.queue, edge)
        return False

    def run(self, start: ProofState) -> None:
        root = start
        self.seen.add(root.fingerprint())
        if self.add(root, 0.0, ()):
            return
        while self.queue and self.left() > 0.3:
            edge = heapq.heappop(self.queue)
            try:
                state = self.run_step(edge.node, edge.rule, edge.tactic, edge.timeout_s)
            except _TimedOut:
                if not edge.retry and edge.rule.timeout_s > edge.timeout_s:
                    edge.cost += _RETRY_PENALTY
                    edge.timeout_s, edge.retry, edge.seq = edge.rule.timeout_s, True, next(self.counter)
                    heapq.heappush(self.queue, edge)
                continue
            if state is None:
                continue
            # Closing a goal is progress: the node's cost does not grow with it.
            closed = len(state.goals) < len(edge.node.goals)
            cost = edge.node_cost + (0.2 if closed else 0.5 + edge.step_cost)
            trail = (*edge.trail, (edge.node, edge.tactic, edge.rule.name))
            if self.add(state, cost, (*edge.path, edge.rule.name), trail):
                return


class _TimedOut(Exception):
    pass


def search(
    session: GoalSession,
    statement: str,
    name: str = "",
    config: SearchConfig | None = None,
    certify: Certify | None = None,
    start: ProofState | None = None,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> SearchResult:
    """Search for a proof of the statement open in ``session``, from ``start`` (default: the root).
    ``proved`` is true only when ``certify`` (the verifier pool) accepted the proof file; without
    ``certify`` (tests of the search itself, or a fragment the caller certifies whole) a finished
    path counts. ``on_attempt`` sees every tactic tried, as it is tried (progress display)."""
    started = time.monotonic()
    result = SearchResult(name)
    _Search(session, statement, config or SearchConfig(), result, certify, on_attempt).run(
        start or session.root
    )
    result.time_s = time.monotonic() - started
    return result
