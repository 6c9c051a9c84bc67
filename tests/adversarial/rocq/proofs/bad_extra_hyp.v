Require Import Reals.
Open Scope R_scope.

(* Right name, extra hypothesis hneg. *)
Theorem false_real (x : R) (h : 0 < x) (hneg : x <= 0) : x <= 0.
Proof. exact hneg. Qed.
