Require Import Arith.

Module M.
  Parameter f : nat -> nat.
  Axiom f_spec : forall n, f n = n + 1.
End M.

Theorem f_zero_one : M.f 0 = 1.
Proof. rewrite M.f_spec. reflexivity. Qed.
