Require Import ZArith Lia.
Open Scope Z_scope.

(* informal: There are no integers x, y with 4x + 6y = 9. *)
Theorem z_dioph_linear : forall x y : Z, 4 * x + 6 * y <> 9.
Proof.
  intros x y.
  lia.
Qed.
