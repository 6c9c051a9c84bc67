Theorem false_nat : 2 + 2 = 5.
Proof.
  admit.
Admitted.
