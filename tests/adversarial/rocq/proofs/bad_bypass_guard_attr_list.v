(* bypass_check inside an attribute list, with spaces and an explicit value. *)
#[ local , bypass_check ( guard = yes ) ]
Fixpoint loop (n : nat) : False := loop n.

Theorem false_nat : 2 + 2 = 5.
Proof. destruct (loop 0). Qed.
