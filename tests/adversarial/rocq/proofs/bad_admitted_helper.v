Lemma helper : 2 + 2 = 5.
Proof.
Admitted.

Theorem false_nat : 2 + 2 = 5.
Proof. exact helper. Qed.
