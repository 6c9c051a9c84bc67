Require Import Reals.
Open Scope R_scope.

(* FALSE target over R (7/2 = 3.5); true if the numerals are read in nat or Z. *)
Theorem false_div : 7 / 2 = 3.
Proof.
Admitted.
