Require Import Reals.
Open Scope R_scope.
Require Import Lra.

(* Shadows Rtrigo1.PI: the statement text is identical but PI is now 0. *)
Definition PI : R := 0.

Theorem false_pi : PI < 1.
Proof. unfold PI. lra. Qed.
