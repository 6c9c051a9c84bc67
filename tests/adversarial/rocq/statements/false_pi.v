Require Import Reals.
Open Scope R_scope.

(* FALSE target: PI is about 3.14. *)
Theorem false_pi : PI < 1.
Proof.
Admitted.
