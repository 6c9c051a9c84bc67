Require Import Reals.
Open Scope R_scope.

(* Same names as the trusted prelude, but myfloor_spec now says something else
   (inconsistent: it makes every real an integer-valued floor of 0). *)
Parameter myfloor : R -> Z.
Axiom myfloor_spec : forall x : R, myfloor x = 0%Z.

Theorem floor_half : myfloor (1 / 2) = 0%Z.
Proof. apply myfloor_spec. Qed.
