Require Import Reals.
Require Import Lra.
Open Scope R_scope.

(* informal: If x + 2y = 7 and 3x - y = 7, then x = 3 and y = 2. *)
Theorem r_sys_two_vars (x y : R) (h0 : x + 2 * y = 7) (h1 : 3 * x - y = 7) :
  x = 3 /\ y = 2.
Proof.
  split; lra.
Qed.
