Require Import Arith.

(* The binder name `bad` inside a parameter's type is not a declaration. *)
Parameters (a : nat) (b : forall (bad : nat), nat).

Theorem a_is_five : a = 5.
Proof.
Admitted.
