Require Import Reals.
Open Scope R_scope.

(* informal: The square root of 16 is 4. *)
Theorem r_sqrt_sixteen : sqrt 16 = 4.
Proof.
Admitted.
