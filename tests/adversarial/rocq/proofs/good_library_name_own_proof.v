(* The target bears a library lemma's name; the candidate declares and proves its own. *)
Theorem plus_n_O : forall n : nat, n = n + 0.
Proof. induction n; simpl; auto. Qed.
