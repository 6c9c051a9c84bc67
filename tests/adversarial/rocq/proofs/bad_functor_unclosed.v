(* The proof sits inside a functor that is never closed: X.cheat is a functor
   parameter. coqc rejects the file at end of input ("The module F needs to be
   closed"), but a checker that appends commands to this text runs them inside F. *)
Module Type T.
  Parameter cheat : False.
End T.

Module F (X : T).
Theorem false_nat : 2 + 2 = 5.
Proof. destruct X.cheat. Qed.
