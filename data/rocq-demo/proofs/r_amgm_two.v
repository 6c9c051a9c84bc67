Require Import Reals Psatz.
Open Scope R_scope.

(* informal: For all reals a and b, 2ab <= a^2 + b^2. *)
Theorem r_amgm_two : forall a b : R, 2 * a * b <= a ^ 2 + b ^ 2.
Proof.
  intros a b.
  pose proof (pow2_ge_0 (a - b)) as hsq.
  nra.
Qed.
