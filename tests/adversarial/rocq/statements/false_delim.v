Require Import Reals.

(* FALSE target: the %R delimiter makes this 7 / 2 = 3 over R. *)
Theorem false_delim : (7 / 2 = 3)%R.
Proof.
Admitted.
