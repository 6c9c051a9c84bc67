Require Import Reals.

(* The delimiting key R now points at nat_scope: "(...)%R" is read in nat. *)
Delimit Scope nat_scope with R.

Theorem false_delim : (7 / 2 = 3)%R.
Proof. reflexivity. Qed.
