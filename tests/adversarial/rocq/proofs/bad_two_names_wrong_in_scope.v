(* Two candidate theorems named like the target; the one in scope at the end proves True. *)
Module Right.
  Theorem two_plus_two : 2 + 2 = 4.
  Proof. reflexivity. Qed.
End Right.

Module Wrong.
  Theorem two_plus_two : True.
  Proof. exact I. Qed.
End Wrong.
Import Wrong.
