Require Import Arith.

(* An auxiliary lemma before the targets; the second target ends in Defined. *)
Lemma mul_one_aux (m : nat) : m * 1 = m.
Proof.
  induction m as [| m IH]; simpl.
  - reflexivity.
  - rewrite IH. reflexivity.
Qed.

Theorem first_t (n : nat) : n * 0 = 0.
Proof.
  induction n; simpl; auto.
Qed.

Theorem second_t (n m : nat) : n + m * 1 = m + n.
Proof.
  rewrite mul_one_aux.
  apply Nat.add_comm.
Defined.
