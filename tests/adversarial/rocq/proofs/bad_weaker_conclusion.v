Require Import Reals.
Open Scope R_scope.
Require Import Lra.

(* Right name, weaker conclusion (0 <= x instead of x <= 0). *)
Theorem false_real (x : R) (h : 0 < x) : 0 <= x.
Proof. lra. Qed.
