Require Import ZArith.
Require Import Lia.
Open Scope Z_scope.

(* informal: Every perfect square leaves remainder 0 or 1 when divided by 4. *)
Theorem z_mod_sq : forall n : Z, (n * n) mod 4 = 0 \/ (n * n) mod 4 = 1.
Proof.
Admitted.
