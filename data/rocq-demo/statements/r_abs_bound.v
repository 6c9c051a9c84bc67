Require Import Reals.
Require Import Lra.
Open Scope R_scope.

(* informal: If |x - 2| < 1, then 1 < x < 3. *)
Theorem r_abs_bound (x : R) : Rabs (x - 2) < 1 -> 1 < x < 3.
Proof.
Admitted.
