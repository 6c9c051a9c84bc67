Require Import Reals.
Open Scope R_scope.

Theorem r_field (x : R) (h : x <> 0) : (x ^ 2 + x) / x = x + 1.
Proof.
  field.
  exact h.
Qed.

(* Harmless here (after the theorem), but poison for a checker that reuses this
   session's state for the next check: "+" becomes subtraction, PI becomes 0,
   and nat_scope is opened on top. *)
Notation "x + y" := (Rminus x y) : R_scope.
Definition PI : R := 0.
Global Open Scope nat_scope.
Global Open Scope R_scope.
