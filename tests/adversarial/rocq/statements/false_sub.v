Require Import Reals.
Open Scope R_scope.

(* FALSE target over R (1 - 2 = -1); true in nat (truncated subtraction). *)
Theorem false_sub : 1 - 2 = 0.
Proof.
Admitted.
