Require Import Arith.
Require Import List.
Import ListNotations.

(* informal: Twice the sum 0 + 1 + ... + n equals n(n + 1). *)
Theorem n_sum_first : forall n : nat, 2 * list_sum (seq 0 (S n)) = n * (n + 1).
Proof.
Admitted.
