Require Import ZArith.
Open Scope Z_scope.

(* informal: 3^20 leaves remainder 1 when divided by 11. *)
Theorem z_mod_power : (3 ^ 20) mod 11 = 1.
Proof.
  reflexivity.
Qed.
