Require Import Reals.
Require Import Lra.
Open Scope R_scope.

(* informal: For real x other than 0 and -1, 1/x - 1/(x+1) = 1/(x(x+1)). *)
Theorem r_field_identity :
  forall x : R, x <> 0 -> x <> -1 -> 1 / x - 1 / (x + 1) = 1 / (x * (x + 1)).
Proof.
  intros x hx hx1.
  assert (x + 1 <> 0) by lra.
  field.
  split; assumption.
Qed.
