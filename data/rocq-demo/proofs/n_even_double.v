Require Import Arith.

(* informal: Twice any natural number is even. *)
Theorem n_even_double (n : nat) : Nat.even (2 * n) = true.
Proof.
  induction n as [| k IH].
  - reflexivity.
  - replace (2 * S k) with (S (S (2 * k))) by ring.
    exact IH.
Qed.
