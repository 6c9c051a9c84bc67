Require Import Reals.
Open Scope R_scope.
Require Import Lra.

Theorem r_pos (x : R) (h : 0 < x) : 0 < x + 1 / x.
Proof.
  assert (hx : 0 < / x) by (apply Rinv_0_lt_compat; exact h).
  unfold Rdiv.
  lra.
Qed.
