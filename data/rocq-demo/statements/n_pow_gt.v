Require Import Arith.
Require Import Lia.

(* informal: Every natural number n is smaller than 2^n. *)
Theorem n_pow_gt : forall n : nat, n < 2 ^ n.
Proof.
Admitted.
