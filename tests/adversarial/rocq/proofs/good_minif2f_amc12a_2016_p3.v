(* Source: miniF2F-rocq, https://github.com/LLM4Rocq/miniF2F-rocq (MIT License, Copyright (c) 2025 LLM4Rocq),
   file valid/amc12a_2016_p3.v at commit b60affae5d9b81eb097424e3143c40165ccbe97b; copied unchanged below. *)
Require Import Coq.Reals.Reals.
Open Scope R_scope.


Parameter Rfloor : R -> Z.
Axiom Rfloor_spec : forall x : R,
  IZR (Rfloor x) <= x < IZR (Rfloor x) + 1.



Require Import Lra Lia.

Theorem amc12a_2016_p3:
  forall (f : R -> R -> R),
    (forall (x y : R), y <> 0 -> f x y = x - y * IZR (Rfloor (x / y))) ->
    f (3 / 8) (-(2 / 5)) = -(1 / 40).

Proof.
  intros f hf.
  rewrite hf by lra.
  assert (hq : 3 / 8 / - (2 / 5) = - (15 / 16)) by (field; lra).
  rewrite hq.
  destruct (Rfloor_spec (- (15 / 16))) as [lo hi].
  assert (e : Rfloor (- (15 / 16)) = (-1)%Z).
  { assert (a1 : (Rfloor (- (15 / 16)) < 0)%Z) by (apply lt_IZR; lra).
    assert (a2 : (-2 < Rfloor (- (15 / 16)))%Z) by (apply lt_IZR; lra).
    lia. }
  rewrite e.
  lra.
Qed.
