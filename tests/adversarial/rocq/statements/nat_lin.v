Require Import Arith.

Theorem nat_lin (n : nat) (h : 3 * n + 2 = 14) : n = 4.
Proof.
Admitted.
