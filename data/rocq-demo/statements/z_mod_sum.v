Require Import ZArith.
Require Import Lia.
Open Scope Z_scope.

(* informal: If a = 3 (mod 5) and b = 4 (mod 5), then a + b = 2 (mod 5). *)
Theorem z_mod_sum (a b : Z) (h0 : a mod 5 = 3) (h1 : b mod 5 = 4) :
  (a + b) mod 5 = 2.
Proof.
Admitted.
