"""The tactic table: which tactic to try on a goal of which shape, and in what order.

The order is data — rows of (name, kind, tactic template, priority, features required, features
excluded, timeout) — so that a learned policy can replace it. A lower priority runs earlier; a
``pre`` step transforms the goal and the search continues from its result, a ``close`` step is
expected to finish the goal it runs on.

Templates may name ``{v}`` (each nat/Z variable), ``{h}`` (each ∀-hypothesis that is not a
function definition), ``{fundefs}`` (rewriting with every function-defining hypothesis) and
``{defs}`` (the statement's own definitions).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prover.search.shape import Shape

# Libraries the tactics below need, added to the proof file right before the theorem. Only tactic
# libraries: importing e.g. Reals could change what an unqualified name in the statement means.
EXTRA_IMPORTS: tuple[str, ...] = ("From Coq Require Import Lia Lra Psatz Zify ZifyNat ZifyN PreOmega.",)
HAMMER_IMPORTS: tuple[str, ...] = ("From Hammer Require Import Tactics.",)


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # "norm" (applied eagerly) | "pre" | "close"
    tactic: str
    priority: float
    when: tuple[str, ...] = ()  # every one of these features
    unless: tuple[str, ...] = ()  # none of these
    timeout_s: float = 3.0
    any_of: tuple[str, ...] = ()  # at least one of these (when not empty)

    def applies(self, features: set[str]) -> bool:
        return (
            all(f in features for f in self.when)
            and not any(f in features for f in self.unless)
            and (not self.any_of or any(f in features for f in self.any_of))
        )


_DESTRUCT_HYPS = (
    "repeat match goal with H : _ /\\ _ |- _ => destruct H | H : exists _, _ |- _ => destruct H "
    "| H : _ <-> _ |- _ => destruct H end."
)
_RABS_CASES = (
    "unfold Rabs in *; repeat match goal with |- context [Rcase_abs ?x] => destruct (Rcase_abs x) "
    "| H : context [Rcase_abs ?x] |- _ => destruct (Rcase_abs x) end."
)
_ZABS_CASES = (
    "repeat match goal with |- context [Z.abs ?x] => destruct (Z.abs_spec x) as [[? ->]|[? ->]] "
    "| H : context [Z.abs ?x] |- _ => destruct (Z.abs_spec x) as [[? ->]|[? ->]] end."
)
_SQRT_FACTS = (
    "repeat match goal with |- context [sqrt ?x] => lazymatch goal with _ : 0 <= sqrt x |- _ => fail "
    "| _ => pose proof (sqrt_pos x); try (assert (sqrt x * sqrt x = x) by (apply sqrt_sqrt; lra)) end "
    "| H : context [sqrt ?x] |- _ => lazymatch goal with _ : 0 <= sqrt x |- _ => fail "
    "| _ => pose proof (sqrt_pos x); try (assert (sqrt x * sqrt x = x) by (apply sqrt_sqrt; lra)) end end."
)
C_UNFOLD = "unfold Cmult, Cplus, Cminus, Copp, Ci, RtoC, Cdiv, Cinv in *; simpl in *"
_C_SPLIT = f"apply injective_projections; simpl; {C_UNFOLD}."

# Qualified names: the statement may not import ZArith/Arith, only what EXTRA_IMPORTS pulls in.
Z_QUALIFIED = "Coq.ZArith.BinInt.Z"
_N2Z = "Coq.ZArith.Znat.Nat2Z"
# A nat literal Coq keeps as `Nat.of_num_uint …` (too big for unary) becomes `Z.to_nat <Z literal>`,
# which lia/zify understand; the equation is checked by `Nat.eqb` in the VM (fine up to ~10^6).
_NAT_LIT_STEP = (
    f"let z := eval vm_compute in ({Z_QUALIFIED}.of_num_uint u) in "
    f"replace (Nat.of_num_uint u) with ({Z_QUALIFIED}.to_nat z) "
    "in * by (apply Coq.Arith.PeanoNat.Nat.eqb_eq; vm_compute; reflexivity)"
)
_NAT_LITS = (
    f"repeat match goal with |- context [Nat.of_num_uint ?u] => {_NAT_LIT_STEP} "
    f"| H : context [Nat.of_num_uint ?u] |- _ => {_NAT_LIT_STEP} end."
)
# A closed nat equation computed in Z (binary) instead of unary nat.
_NAT_TO_Z = (
    f"apply {_N2Z}.inj; {{unfold}}rewrite ?{_N2Z}.inj_mod, ?{_N2Z}.inj_div, ?{_N2Z}.inj_add, "
    f"?{_N2Z}.inj_mul, ?{_N2Z}.inj_pow, ?Coq.ZArith.Znat.Z2Nat.id by lia; vm_compute; reflexivity."
)
_LIST_UNFOLD = "cbn [fold_right fold_left map seq]"
# Denominators in hypotheses: prove each non-zero (from a `<>` hypothesis), then clear the fractions.
_DIV_HYPS = (
    "repeat match goal with H : context [_ / ?d] |- _ => lazymatch goal with _ : d <> 0 |- _ => fail "
    "| _ => assert (d <> 0) by (first [lra | intro; match goal with H1 : _ <> _ |- _ => apply H1; lra end]) "
    "end end; repeat match goal with H : context [_ / _] |- _ => field_simplify_eq in H; try assumption; "
    "revert H end; intros."
)

# Coquelicot's floor of a closed real: pin the integer between two strict bounds, then lia.
_FLOOR = (
    "match goal with |- floor ?x = ?k => unfold floor; destruct (floor_ex x) as [n Hn]; simpl; "
    "assert (n < k + 1)%Z by (apply lt_IZR; rewrite plus_IZR; lra); "
    "assert (k - 1 < n)%Z by (apply lt_IZR; rewrite minus_IZR; lra); lia end."
)

TABLE: tuple[Rule, ...] = (
    # -- preprocessing ----------------------------------------------------------------------------
    Rule("intros", "norm", "intros.", 0, when=("intro",), timeout_s=2),
    Rule("destruct_hyps", "norm", _DESTRUCT_HYPS, 0.2, any_of=("hyp_and", "hyp_ex"), timeout_s=2),
    Rule("subst", "norm", "subst.", 0.3, when=("hyp_var_eq",), timeout_s=2),
    Rule("unfold_defs", "norm", "unfold {defs} in *.", 0.3, when=("definitions",), timeout_s=2),
    Rule("rewrite_fundefs", "norm", "{fundefs}", 0.3, when=("fun_def",), timeout_s=3),
    Rule("nat_literals", "norm", _NAT_LITS, 0.25, when=("big_nat",), timeout_s=4),
    Rule("map_fundef", "pre", "rewrite ?(map_ext _ _ {fundef}) in *.", 0.2, when=("list", "fun_def"),
         timeout_s=2),
    Rule("list_unfold", "pre", f"{_LIST_UNFOLD} in *.", 1.0, when=("list",), timeout_s=3),
    Rule("list_sum_unfold", "pre", f"{_LIST_UNFOLD[:-1]} list_sum] in *.", 1.1, when=("list_sum",),
         timeout_s=3),
    Rule("div_hyps", "pre", _DIV_HYPS, 0.9, when=("R", "hyp_div"), timeout_s=4),
    Rule("inr_push", "pre", "rewrite ?S_INR, ?plus_INR, ?mult_INR, ?pow_INR in *; simpl INR in *.", 1.4,
         when=("INR",), timeout_s=2),
    Rule("izr_push", "pre", "rewrite ?plus_IZR, ?mult_IZR, ?opp_IZR, ?minus_IZR in *.", 1.4, when=("IZR",),
         timeout_s=2),
    Rule("split", "pre", "split.", 0.5, any_of=("concl_and", "concl_iff"), timeout_s=2),
    Rule("destruct_or", "pre", "repeat match goal with H : _ \\/ _ |- _ => destruct H end.", 1.0,
         when=("hyp_or",), timeout_s=2),
    Rule("complex_parts", "pre", _C_SPLIT, 0.5, when=("C", "concl_eq"), timeout_s=2),
    Rule("rabs_cases", "pre", _RABS_CASES, 1.0, when=("abs", "R"), timeout_s=3),
    Rule("zabs_cases", "pre", _ZABS_CASES, 1.0, when=("abs", "Z"), unless=("R",), timeout_s=3),
    Rule("sqrt_lem", "pre", "apply sqrt_lem_1.", 1.5, when=("sqrt", "concl_eq"), timeout_s=2),
    Rule("sqrt_lem_sym", "pre", "symmetry; apply sqrt_lem_1.", 1.6, when=("sqrt", "concl_eq"), timeout_s=2),
    Rule("sqrt_facts", "pre", _SQRT_FACTS, 0.8, when=("sqrt",), timeout_s=2),
    Rule("field_simplify", "pre", "field_simplify_eq.", 1.5, when=("div", "concl_eq", "R"), timeout_s=3),
    Rule("field_hyp", "pre", "match goal with H : context [_ / _] |- _ => field_simplify_eq in H end.", 1.2,
         when=("R", "div"), timeout_s=3),
    Rule("rewrite_cond", "pre", "rewrite {h} in * by (first [lra | nra | lia]).", 1.0, when=("hyp_forall",),
         timeout_s=3),
    Rule("rewrite_cond_goal", "pre", "rewrite {h} by (first [lra | nra | lia]).", 0.9, when=("hyp_forall",),
         timeout_s=3),
    Rule("inst_forall", "pre",
         "pose proof ({h} 0) as ?; pose proof ({h} 1) as ?; pose proof ({h} 2) as ?.", 2.0,
         when=("hyp_forall",), timeout_s=2),
    Rule("inst_forall_more", "pre",
         "pose proof ({h} (-1)) as ?; pose proof ({h} (-2)) as ?; pose proof ({h} 3) as ?.", 2.2,
         when=("hyp_forall", "R"), timeout_s=2),
    Rule("induction", "pre", "induction {v}; simpl.", 2.5, when=("nat",), unless=("R",), timeout_s=2),
    Rule("cases_small", "pre", "destruct {v} as [|[|[|[|[|[|{v}]]]]]]; simpl in *.", 2.5,
         when=("nat",), timeout_s=2),
    Rule("exists_solve", "pre", "eexists.", 3.0, when=("concl_ex",), timeout_s=2),
    Rule("exists_0", "pre", "exists 0.", 2.8, when=("concl_ex",), unless=("R", "C"), timeout_s=2),
    Rule("exists_1", "pre", "exists 1.", 2.9, when=("concl_ex",), unless=("R", "C"), timeout_s=2),
    Rule("enum_bounded", "pre",
         "do 30 try (destruct {v} as [|{v}]; [|try (exfalso; lia)]); simpl in *.", 1.8,
         when=("nat", "hyp_bound"), timeout_s=4),
    Rule("left", "pre", "left.", 3.0, when=("concl_or",), timeout_s=2),
    Rule("right", "pre", "right.", 3.0, when=("concl_or",), timeout_s=2),
    Rule("simpl", "pre", "simpl in *.", 3.0, timeout_s=2),
    # -- closers ----------------------------------------------------------------------------------
    Rule("reflexivity", "close", "reflexivity.", 0.1, when=("closed",), timeout_s=3),
    Rule("easy", "close", "easy.", 0.5, timeout_s=2),
    Rule("lia", "close", "lia.", 0.4, unless=("R",), timeout_s=4),
    Rule("lra", "close", "lra.", 0.4, when=("R",), timeout_s=3),
    Rule("vm_compute", "close", "vm_compute; reflexivity.", 0.6, when=("closed",), unless=("R",),
         timeout_s=4),
    Rule("nat_to_Z", "close", _NAT_TO_Z.replace("{unfold}", ""), 0.35, when=("concl_eq", "concl_closed"),
         unless=("R", "C"), timeout_s=6),
    Rule("nat_to_Z_list", "close", _NAT_TO_Z.replace("{unfold}", f"{_LIST_UNFOLD}; "), 0.05,
         when=("concl_eq", "concl_closed", "list"), unless=("R", "C"), timeout_s=6),
    Rule("zify_divmod", "close", "zify; Z.to_euclidean_division_equations; nia.", 1.2,
         any_of=("mod", "div_int"), unless=("R",), timeout_s=6),
    Rule("nia", "close", "nia.", 1.0, unless=("R",), timeout_s=6),
    Rule("field", "close", "field.", 0.8, when=("R", "div"), timeout_s=3),
    Rule("field_lra", "close", "field_simplify; lra.", 1.0, when=("R", "div"), timeout_s=4),
    Rule("ring", "close", "ring.", 0.6, when=("concl_eq",), timeout_s=3),
    Rule("nra", "close", "nra.", 1.0, when=("R",), timeout_s=6),
    Rule("psatz", "close", "psatz R 2.", 2.5, when=("R", "concl_ineq"), timeout_s=8),
    Rule("complex_lra", "close", f"apply injective_projections; simpl; {C_UNFOLD}; lra.", 0.5, when=("C",),
         timeout_s=3),
    Rule("complex_ring", "close", f"apply injective_projections; simpl; {C_UNFOLD}; ring.", 0.6, when=("C",),
         timeout_s=3),
    Rule("complex_destruct", "pre", "repeat match goal with x : C |- _ => destruct x end.", 1.5, when=("C",),
         timeout_s=2),
    Rule("complex_field", "close", "field.", 0.9, when=("C",), timeout_s=3),
    Rule("sqrt_compute", "close",
         "repeat match goal with |- context [sqrt ?x] => rewrite ?(sqrt_square_abs x), ?sqrt_Rsqr end; "
         "unfold Rabs; destruct Rcase_abs; lra.", 3.0, when=("sqrt",), timeout_s=3),
    Rule("floor", "close", _FLOOR, 0.7, when=("floor",), timeout_s=4),
    Rule("neq_lra", "close", "intro; lra.", 0.5, when=("R", "concl_neq"), timeout_s=3),
    Rule("neq_nra", "close", "intro; nra.", 1.5, when=("R", "concl_neq"), timeout_s=4),
    Rule("auto", "close", "auto with *.", 2.0, timeout_s=2),
    Rule("intuition", "close", "intuition (auto with *).", 2.5, any_of=("hyp_and", "concl_and", "iff"),
         timeout_s=3),
    Rule("congruence", "close", "congruence.", 2.5, timeout_s=2),
    Rule("sauto", "close", "sauto.", 4.0, timeout_s=4),
)


def _fundefs(shape: Shape) -> str:
    return " ".join(f"repeat rewrite {h} in *;" for h in shape.fun_defs).rstrip(";") + "."


def expand(rule: Rule, shape: Shape) -> Iterator[str]:
    """The concrete tactics a row stands for on a goal of ``shape``."""
    tactic = rule.tactic
    if "{fundefs}" in tactic:
        if shape.fun_defs:
            yield tactic.replace("{fundefs}", _fundefs(shape))
        return
    if "{defs}" in tactic:
        if shape.definitions:
            yield tactic.replace("{defs}", ", ".join(shape.definitions))
        return
    if "{fundef}" in tactic:
        for h in shape.fun_defs[:2]:
            yield tactic.replace("{fundef}", h)
        return
    if "{h}" in tactic:
        for h in shape.foralls[:3]:
            yield tactic.replace("{h}", h)
        return
    if "{v}" in tactic:
        names = shape.vars_by_type.get("nat", []) + shape.vars_by_type.get("Z", [])
        for v in names[:2]:
            yield tactic.replace("{v}", v)
        return
    yield tactic


def proposals(shape: Shape, table: tuple[Rule, ...] = TABLE) -> list[tuple[Rule, str]]:
    """(rule, tactic) pairs that apply to ``shape``, best first."""
    rows = sorted((r for r in table if r.applies(shape.features)), key=lambda r: r.priority)
    return [(rule, tactic) for rule in rows for tactic in expand(rule, shape)]
