Require Import Reals.
Open Scope R_scope.

(* Nested modules that rebuild the full path of the allow-listed axiom: its name is
   <candidate library>.Coq.Reals.ClassicalDedekindReals.sig_forall_dec, so a checker that
   strips the candidate's library prefix (or matches names by suffix) is fooled.
   Module Export makes the short name sig_forall_dec refer to the fake one. *)
Module Export Coq.
  Module Export Reals.
    Module Export ClassicalDedekindReals.
      Axiom sig_forall_dec : False.
    End ClassicalDedekindReals.
  End Reals.
End Coq.

Theorem false_real (x : R) (h : 0 < x) : x <= 0.
Proof. destruct sig_forall_dec. Qed.
Print Assumptions false_real.
