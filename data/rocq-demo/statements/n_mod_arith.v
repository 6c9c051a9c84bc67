Require Import Nat.

(* informal: 17 * 23 leaves remainder 1 when divided by 5. *)
Theorem n_mod_arith : (17 * 23) mod 5 = 1.
Proof.
Admitted.
