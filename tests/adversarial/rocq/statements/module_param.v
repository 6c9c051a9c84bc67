Require Import Arith.

(* Trusted prelude: the parameter and its specification live in a module. *)
Module M.
  Parameter f : nat -> nat.
  Axiom f_spec : forall n, f n = n + 1.
End M.

Theorem f_zero_two : M.f 0 = 2.
Proof.
Admitted.
