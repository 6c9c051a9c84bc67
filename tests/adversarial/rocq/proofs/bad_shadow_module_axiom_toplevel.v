Require Import Arith.

Module M.
  Parameter f : nat -> nat.
  Axiom f_spec : forall n, f n = n + 1.
End M.

(* A top-level axiom with the same short name as the trusted M.f_spec. *)
Axiom f_spec : False.

Theorem f_zero_two : M.f 0 = 2.
Proof. destruct f_spec. Qed.
