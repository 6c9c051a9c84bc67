Require Import Reals.
Open Scope R_scope.
Require Import Lra.

(* A weaker theorem with the target's name lives in module M; after Import M,
   "false_real" resolves to M.false_real, but there is no top-level false_real. *)
Module M.
Theorem false_real (x : R) (h : 0 < x) : 0 <= x.
Proof. lra. Qed.
End M.
Import M.

Check false_real.
