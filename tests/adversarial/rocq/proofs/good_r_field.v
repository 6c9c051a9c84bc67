Require Import Reals.
Open Scope R_scope.

Theorem r_field (x : R) (h : x <> 0) : (x ^ 2 + x) / x = x + 1.
Proof.
  field.
  exact h.
Qed.
