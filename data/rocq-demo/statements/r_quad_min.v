Require Import Reals.
Require Import Lra.
Open Scope R_scope.

(* informal: For every real x, x^2 - 6x + 10 >= 1. *)
Theorem r_quad_min : forall x : R, x ^ 2 - 6 * x + 10 >= 1.
Proof.
Admitted.
