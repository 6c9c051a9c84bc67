(* Source: miniF2F-rocq, https://github.com/LLM4Rocq/miniF2F-rocq (MIT License, Copyright (c) 2025 LLM4Rocq),
   file valid/mathd_algebra_455.v at commit b60affae5d9b81eb097424e3143c40165ccbe97b; copied unchanged below. *)
Require Import Arith.

Theorem mathd_algebra_455 :
  forall x : nat,
  2 * (2 * (2 * (2 * x))) = 48 ->
  x = 3.
Proof.
Admitted.
