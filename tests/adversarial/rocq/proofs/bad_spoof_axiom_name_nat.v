(* An axiom named like an allow-listed one. Without Reals loaded, in this file
   Print Assumptions prints exactly "ClassicalDedekindReals.sig_forall_dec : False". *)
Module ClassicalDedekindReals.
  Axiom sig_forall_dec : False.
End ClassicalDedekindReals.

Theorem false_nat : 2 + 2 = 5.
Proof. destruct ClassicalDedekindReals.sig_forall_dec. Qed.
