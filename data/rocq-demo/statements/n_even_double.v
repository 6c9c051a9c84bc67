Require Import Arith.

(* informal: Twice any natural number is even. *)
Theorem n_even_double (n : nat) : Nat.even (2 * n) = true.
Proof.
Admitted.
