Require Import Reals.
Open Scope R_scope.
Require Import Lra.

(* Only "provable" if the previous check's Notation "x + y" := (Rminus x y) leaked
   into this check's session (run it right after good_poison_setup_notation). *)
Theorem false_add (x : R) : x + x = 0.
Proof. lra. Qed.
