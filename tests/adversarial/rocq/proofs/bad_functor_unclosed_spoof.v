(* Unclosed functor whose parameter is named like an allow-listed axiom:
   inside F, `Print Assumptions false_nat` prints
   "ClassicalDedekindReals.sig_forall_dec : False". *)
Module Type T.
  Parameter sig_forall_dec : False.
End T.

Module F (ClassicalDedekindReals : T).
Theorem false_nat : 2 + 2 = 5.
Proof. destruct ClassicalDedekindReals.sig_forall_dec. Qed.
