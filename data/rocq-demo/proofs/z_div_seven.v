Require Import ZArith.
Open Scope Z_scope.

(* informal: 7 divides 2^12 - 1. *)
Theorem z_div_seven : (7 | 2 ^ 12 - 1).
Proof.
  exists 585.
  reflexivity.
Qed.
