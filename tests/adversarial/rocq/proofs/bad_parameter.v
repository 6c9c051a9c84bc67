Parameter cheat : 2 + 2 = 5.

Theorem false_nat : 2 + 2 = 5.
Proof. exact cheat. Qed.
