(* A raw control character in the candidate text itself. *)
Theorem two_plus_two : 2 + 2 = 4.
Proof. idtac "". reflexivity. Qed.
