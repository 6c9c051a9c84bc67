(* Unset Guard Checking spelled with a locality attribute, line breaks and comments. *)
#[local]
Unset
  Guard (* a comment *)
  Checking.
Fixpoint loop (n : nat) : False := loop n.

Theorem false_nat : 2 + 2 = 5.
Proof. destruct (loop 0). Qed.
