(* The in-sentence comment/string trick hiding Unset Guard Checking behind Time. *)
Time (* "(*" *) Unset Guard Checking. (* "*)" *) Check 1.
Fixpoint loop (n : nat) : False := loop n.

Theorem false_nat : 2 + 2 = 5.
Proof. destruct (loop 0). Qed.
