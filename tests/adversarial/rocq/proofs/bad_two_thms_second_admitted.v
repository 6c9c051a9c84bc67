Require Import Arith.

Theorem first_t (n : nat) : n * 0 = 0.
Proof.
  induction n; simpl; auto.
Qed.

Theorem second_t (n m : nat) : n + m * 1 = m + n.
Proof.
Admitted.
