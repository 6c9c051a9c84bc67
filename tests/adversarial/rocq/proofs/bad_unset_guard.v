Unset Guard Checking.
Fixpoint loop (n : nat) : False := loop n.
Set Guard Checking.

Theorem false_nat : 2 + 2 = 5.
Proof. destruct (loop 0). Qed.
