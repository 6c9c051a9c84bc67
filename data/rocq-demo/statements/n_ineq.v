Require Import Arith Lia.

(* informal: For every natural n >= 3, 2n + 1 < n^2. *)
Theorem n_ineq (n : nat) (h0 : 3 <= n) : 2 * n + 1 < n * n.
Proof.
Admitted.
