Require Import Arith.

(* Two target theorems: a proof must prove both. *)
Theorem first_t (n : nat) : n * 0 = 0.
Proof.
Admitted.

Theorem second_t (n m : nat) : n + m * 1 = m + n.
Proof.
Admitted.
