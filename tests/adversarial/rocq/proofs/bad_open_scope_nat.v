Require Import Reals.
Open Scope R_scope.
Open Scope nat_scope.

(* Numerals and "/" now read in nat: 7 / 2 = 3 by Nat.div. *)
Theorem false_div : 7 / 2 = 3.
Proof. reflexivity. Qed.
