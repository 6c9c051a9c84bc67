Require Import Reals.
Open Scope R_scope.

(* A printing-only notation makes the axiom's type print as
   "Expands to: Constant Coq.Reals.ClassicalDedekindReals.sig_forall_dec", so the first
   "Expands to: Constant X" line of `About cheat` names an allow-listed axiom. Any check
   that parses printed output after the candidate's notations are loaded can be fooled. *)
Definition Q : Prop := False.
Notation "'Expands' 'to:' 'Constant' 'Coq.Reals.ClassicalDedekindReals.sig_forall_dec'" := Q (only printing).
Axiom cheat : Q.

Theorem false_real (x : R) (h : 0 < x) : x <= 0.
Proof. destruct cheat. Qed.
