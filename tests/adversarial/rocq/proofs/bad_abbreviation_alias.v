Require Import Reals.
Open Scope R_scope.
Require Import Lra.

(* "false_real" is an abbreviation (Notation) for a weaker lemma, not a theorem. *)
Lemma weaker (x : R) (h : 0 < x) : 0 <= x.
Proof. lra. Qed.

Notation false_real := weaker.
Check false_real.
