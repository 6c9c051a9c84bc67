(* Declare Module postulates a module of type T: X.cheat is an axiom. *)
Module Type T.
  Parameter cheat : False.
End T.
Declare Module X : T.

Theorem false_nat : 2 + 2 = 5.
Proof. destruct X.cheat. Qed.
