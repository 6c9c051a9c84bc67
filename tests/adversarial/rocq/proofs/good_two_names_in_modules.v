(* Two candidate theorems named like the target, in different modules; the one in scope at the end
   is the candidate's own proof of the target. *)
Module Wrong.
  Theorem two_plus_two : True.
  Proof. exact I. Qed.
End Wrong.

Module Right.
  Theorem two_plus_two : 2 + 2 = 4.
  Proof. reflexivity. Qed.
End Right.
Import Right.
