Require Import Arith.
Require Import Lia.

(* 10^18 iterations of idtac: years of CPU, little memory. *)
Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof.
  do 1000000000 (do 1000000000 idtac).
  lia.
Qed.
