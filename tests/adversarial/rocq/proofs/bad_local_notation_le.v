Require Import Reals.
Open Scope R_scope.
Require Import Lra.

(* "<=" now means ">=" in R_scope (Local: not exported, but active for this file). *)
Local Notation "x <= y" := (Rge x y) : R_scope.

Theorem false_real (x : R) (h : 0 < x) : x <= 0.
Proof. lra. Qed.
