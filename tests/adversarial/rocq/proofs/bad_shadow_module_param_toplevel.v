Require Import Arith.

Module M.
  Parameter f : nat -> nat.
  Axiom f_spec : forall n, f n = n + 1.
End M.

(* A top-level parameter named like the trusted M.f, typed as a proof of anything. *)
Parameter f : forall P : Prop, P.

Theorem f_zero_two : M.f 0 = 2.
Proof. apply f. Qed.
