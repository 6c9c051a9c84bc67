Require Import Reals.
Open Scope R_scope.
Require Import ZArith.
Local Open Scope Z_scope.

(* Numerals and "/" now read in Z: 7 / 2 = 3 by Z.div. *)
Theorem false_div : 7 / 2 = 3.
Proof. reflexivity. Qed.
