(* Same comment/string lexing trick hiding Unset Guard Checking. *)
(* "(*" *) Unset Guard Checking. (* "*)" *)
Fixpoint loop (n : nat) : False := loop n.

Theorem false_nat : 2 + 2 = 5.
Proof. destruct (loop 0). Qed.
