Require Import Reals.
Open Scope R_scope.
Require Import Lra.

(* "+" now means subtraction in R_scope: the statement text is identical, its meaning is not. *)
Notation "x + y" := (Rminus x y) : R_scope.

Theorem false_add (x : R) : x + x = 0.
Proof. lra. Qed.
