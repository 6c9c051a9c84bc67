Require Import Reals.
Open Scope R_scope.

(* FALSE target (take x = 1). *)
Theorem false_add (x : R) : x + x = 0.
Proof.
