Require Import Reals.
Require Import Lra.
Open Scope R_scope.

(* informal: If 3x + 7 = 22 for a real number x, then x = 5. *)
Theorem r_linear_solve (x : R) (h0 : 3 * x + 7 = 22) : x = 5.
Proof.
  lra.
Qed.
