Require Import Reals.
Open Scope R_scope.

(* Trusted prelude: the statement file itself declares these. *)
Parameter myfloor : R -> Z.
Axiom myfloor_spec : forall x : R,
  IZR (myfloor x) <= x < IZR (myfloor x) + 1.

Require Import Lra Lia.

Theorem floor_half : myfloor (1 / 2) = 0%Z.
Proof.
  destruct (myfloor_spec (1 / 2)) as [lo hi].
  assert (h1 : (myfloor (1 / 2) < 1)%Z) by (apply lt_IZR; lra).
  assert (h2 : (-1 < myfloor (1 / 2))%Z) by (apply lt_IZR; lra).
  lia.
Qed.
