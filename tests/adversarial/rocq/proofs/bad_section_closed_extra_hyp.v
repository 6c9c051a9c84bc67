Require Import Reals.
Open Scope R_scope.
Require Import Lra.

(* Closed section: false_real gains the extra argument (cheat : x <= 0). *)
Section S.
Variable x : R.
Hypothesis cheat : x <= 0.

Theorem false_real (h : 0 < x) : x <= 0.
Proof. exact cheat. Qed.
End S.
