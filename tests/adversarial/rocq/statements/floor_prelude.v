Require Import Reals.
Open Scope R_scope.

(* Trusted prelude: the statement file itself declares these. *)
Parameter myfloor : R -> Z.
Axiom myfloor_spec : forall x : R,
  IZR (myfloor x) <= x < IZR (myfloor x) + 1.

Theorem floor_half : myfloor (1 / 2) = 0%Z.
Proof.
