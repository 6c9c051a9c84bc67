Require Import Reals.
Open Scope R_scope.

(* Trusted prelude: the statement file itself declares these. *)
Parameter myfloor : R -> Z.
Axiom myfloor_spec : forall x : R,
  IZR (myfloor x) <= x < IZR (myfloor x) + 1.

(* Untrusted: an extra axiom that is not in the statement file. *)
Axiom myfloor_half : myfloor (1 / 2) = 0%Z.

Theorem floor_half : myfloor (1 / 2) = 0%Z.
Proof. exact myfloor_half. Qed.
