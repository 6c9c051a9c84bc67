Require Import Arith.
Require Import List.
Import ListNotations.

(* auxiliary: the sum over seq 0 (S n) adds n to the sum over seq 0 n *)
Lemma sum_seq_succ : forall n : nat,
  list_sum (seq 0 (S n)) = list_sum (seq 0 n) + n.
Proof.
  intros n.
  rewrite seq_S, list_sum_app.
  simpl.
  rewrite Nat.add_0_r.
  reflexivity.
Qed.

(* informal: Twice the sum 0 + 1 + ... + n equals n(n + 1). *)
Theorem n_sum_first : forall n : nat, 2 * list_sum (seq 0 (S n)) = n * (n + 1).
Proof.
  induction n as [| k IH].
  - reflexivity.
  - rewrite sum_seq_succ.
    rewrite Nat.mul_add_distr_l, IH.
    ring.
Qed.
