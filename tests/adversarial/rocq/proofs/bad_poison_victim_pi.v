Require Import Reals.
Open Scope R_scope.
Require Import Lra.

(* Only "provable" if the previous check's Definition PI : R := 0 leaked into this
   check's session (run it right after good_poison_setup_notation). *)
Theorem false_pi : PI < 1.
Proof. unfold PI. lra. Qed.
