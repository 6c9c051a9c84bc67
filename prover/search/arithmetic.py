"""Candidates for integer, nat-in-R and complex goals that need a decomposition the table cannot
write: the cofactors of a gcd, a bound that makes a variable enumerable, a modular power computed
by square-and-multiply, the two real components of a complex equation.

Like ``arguments.py`` these are made per goal (from its variables, hypotheses and literals) and
ranked with the table's rows; each is only a guess that Coq runs and the pool certifies. They were
designed from the training pool's (miniF2F-rocq valid) failures, never from the test split.
"""

from __future__ import annotations

import re

from prover.itp.goals import Goal
from prover.search.shape import Shape, literals, top_level
from prover.search.tactics import C_UNFOLD, Z_QUALIFIED, Rule

_ZNAT = "Coq.ZArith.Znat"
_RINEQ = "Coq.Reals.RIneq"
ARITHMETIC_PRIORITY = {"modpow_nat": 0.3, "modpow_N": 0.3, "modpow_Z": 0.3, "complex_hyps": 0.45,
                       "gcd_parts": 0.7, "inr_facts": 0.8, "nat_in_R": 0.9, "bounded_cases": 2.0}
# Enumerating more cases than this costs more than the search's budget buys.
_MAX_CASES = 150

# `Nat.gcd a b = g` gives g | a and g | b; naming the cofactors (a = x * g) and unfolding
# `Nat.lcm a b = a * (b / gcd a b)` turns gcd/lcm facts into products lia/nia read. The divisor
# facts come from `Nat.gcd_divide_*` rewritten by the hypothesis, never by rewriting `g` (a nat
# literal g occurs inside every larger literal).
_GCD_PARTS = (
    "unfold Nat.lcm in *; repeat match goal with H : Nat.gcd ?a ?b = ?g |- _ => "
    "lazymatch goal with _ : Nat.divide g a |- _ => fail | _ => "
    "let Ha := fresh \"Hg\" in let Hb := fresh \"Hg\" in "
    "pose proof (Nat.gcd_divide_l a b) as Ha; pose proof (Nat.gcd_divide_r a b) as Hb; "
    "rewrite H in Ha, Hb; rewrite ?H in * end end; "
    "repeat match goal with H : Nat.divide _ _ |- _ => destruct H end; subst; "
    "rewrite ?Nat.div_mul in * by lia; simpl Nat.div in *."
)

# `a ^ b mod m` with literals: in Z, `Zpow_mod` squares and reduces (b may have a million digits'
# worth of value; `a ^ b` itself never gets computed).
_MODPOW = (
    "{inj}rewrite <- ?Coq.ZArith.Zpow_facts.Zpow_mod_correct by (vm_compute; congruence); "
    "vm_compute; reflexivity."
)
_TO_Z = {
    "nat": f"apply {_ZNAT}.Nat2Z.inj; rewrite ?{_ZNAT}.Nat2Z.inj_mod, ?{_ZNAT}.Nat2Z.inj_pow; ",
    "N": f"apply {_ZNAT}.N2Z.inj; rewrite ?{_ZNAT}.N2Z.inj_mod, ?{_ZNAT}.N2Z.inj_pow; ",
    "Z": "",
}

# Every positive or non-zero nat hypothesis as a fact about its INR, which lra/field need and do
# not derive themselves.
_INR_FACTS = (
    "repeat match goal with "
    f"H : (0 < ?n)%nat |- _ => lazymatch goal with _ : (0 < INR n)%R |- _ => fail "
    f"| _ => pose proof ({_RINEQ}.lt_0_INR n H) end "
    f"| H : (?n > 0)%nat |- _ => lazymatch goal with _ : (0 < INR n)%R |- _ => fail "
    f"| _ => pose proof ({_RINEQ}.lt_0_INR n H) end "
    f"| H : ?n <> 0%nat |- _ => lazymatch goal with _ : (INR n <> 0)%R |- _ => fail "
    f"| _ => pose proof ({_RINEQ}.not_0_INR n H) end end."
)
# A nat equation decided in R: both sides as reals, each `INR`/`IZR (Z.of_nat _)` one atom.
_NAT_IN_R = (
    f"apply {_RINEQ}.INR_eq; rewrite ?{_RINEQ}.INR_IZR_INZ in *; simpl {Z_QUALIFIED}.of_nat in *; lra."
)

# Complex variables as pairs and every complex equation as its two real ones.
_COMPLEX_HYPS = (
    "repeat match goal with x : C |- _ => destruct x end; "
    "repeat match goal with H : @eq C _ _ |- _ => let a := fresh \"Hre\" in let b := fresh \"Him\" in "
    "pose proof (f_equal fst H) as a; pose proof (f_equal snd H) as b; clear H end; "
    f"{C_UNFOLD}."
)


def _gcd_parts(shape: Shape) -> list[Rule]:
    if "gcd" not in shape.features or "nat" not in shape.features:
        return []
    return [Rule("gcd_parts", "pre", _GCD_PARTS, ARITHMETIC_PRIORITY["gcd_parts"], timeout_s=4)]


def _modpow(shape: Shape, goal: Goal) -> list[Rule]:
    concl = goal.conclusion
    if "concl_closed" not in shape.features or "mod" not in concl or "^" not in concl:
        return []
    return [Rule(f"modpow_{kind}", "close", _MODPOW.replace("{inj}", inj),
                 ARITHMETIC_PRIORITY[f"modpow_{kind}"], timeout_s=6)
            for kind, inj in _TO_Z.items()]


def _nat_in_r(shape: Shape, goal: Goal) -> list[Rule]:
    if "nat" not in shape.features or "R" not in shape.features:
        return []
    rules = [Rule("inr_facts", "pre", _INR_FACTS, ARITHMETIC_PRIORITY["inr_facts"], timeout_s=2)]
    if "concl_eq" in shape.features and not any(w in goal.conclusion for w in ("INR", "IZR", "/")):
        rules.append(Rule("nat_in_R", "close", _NAT_IN_R, ARITHMETIC_PRIORITY["nat_in_R"], timeout_s=4))
    return rules


def _complex_hyps(shape: Shape) -> list[Rule]:
    if "C" not in shape.features or not any(top_level(h.type, " = ") for h in shape.hyps):
        return []
    return [Rule("complex_hyps", "pre", _COMPLEX_HYPS, ARITHMETIC_PRIORITY["complex_hyps"], timeout_s=3)]


def _bounded_cases(shape: Shape) -> list[Rule]:
    """``assert (v <= K)`` for a nat variable that an equation with the literal K bounds
    (``a * b = 14``: a <= 14 once b is not 0, so nia sees each other factor as 0 or a successor),
    then one case per value; each case is then a closed fact for lia."""
    rules: list[Rule] = []
    names = shape.vars_by_type.get("nat", [])
    words = {v: re.compile(rf"(?<![\w'.]){re.escape(v)}(?![\w'])") for v in names}
    for v in names[:3]:
        equations = [h.type for h in shape.hyps if top_level(h.type, " = ") and words[v].search(h.type)]
        bounds = [k for text in equations for k in literals(text) if 1 < k <= _MAX_CASES]
        if not bounds:
            continue
        k = max(bounds)
        others = [w for w in names if w != v and any(words[w].search(t) for t in equations)][:2]
        split = "".join(f"destruct {w} as [|{w}]; " for w in others)
        tactic = (f"assert ({v} <= {k}) by ({split}nia); "
                  f"do {k + 1} try (destruct {v} as [|{v}]; [|try (exfalso; lia)]).")
        rules.append(Rule("bounded_cases", "pre", tactic, ARITHMETIC_PRIORITY["bounded_cases"],
                          timeout_s=6))
    return rules


def arithmetic_candidates(shape: Shape, goal: Goal) -> list[Rule]:
    return [*_modpow(shape, goal), *_gcd_parts(shape), *_complex_hyps(shape),
            *_nat_in_r(shape, goal), *_bounded_cases(shape)]
