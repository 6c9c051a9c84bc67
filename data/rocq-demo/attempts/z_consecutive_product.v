Require Import ZArith.
Require Import Lia.
Open Scope Z_scope.

(* informal: The product of two consecutive integers is even. *)
Theorem z_consecutive_product : forall n : Z, (2 | n * (n + 1)).
Proof.
  intros n.
  exists (n * (n + 1) / 2).
  lia.
Qed.
