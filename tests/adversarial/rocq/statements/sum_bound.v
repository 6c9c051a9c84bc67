Require Import Arith.

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof.
Admitted.
