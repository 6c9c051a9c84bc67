Theorem sig_proj (P : nat -> Prop) (s : {n : nat | P n}) : P (proj1_sig s).
Proof.
Admitted.
