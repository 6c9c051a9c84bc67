Require Import Reals.
Open Scope R_scope.

(* FALSE target (take x = 1). *)
Theorem false_real (x : R) (h : 0 < x) : x <= 0.
Proof.
Admitted.
