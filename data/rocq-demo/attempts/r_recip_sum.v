Require Import Reals.
Require Import Psatz.
Open Scope R_scope.

(* informal: If a and b are positive reals with a + b = 1, then 1/a + 1/b >= 4. *)
Theorem r_recip_sum (a b : R) (h0 : 0 < a) (h1 : 0 < b) (h2 : a + b = 1) :
  1 / a + 1 / b >= 4.
Proof.
  apply Rinv_le_contravar.
  - lra.
  - lra.
Qed.
