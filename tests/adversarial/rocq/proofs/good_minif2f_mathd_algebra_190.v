(* Source: miniF2F-rocq, https://github.com/LLM4Rocq/miniF2F-rocq (MIT License, Copyright (c) 2025 LLM4Rocq),
   file valid/mathd_algebra_190.v at commit b60affae5d9b81eb097424e3143c40165ccbe97b; copied unchanged below. *)
Require Import QArith.

Theorem mathd_algebra_190 :
  ((3/8 + 7/8) / (4/5) == 25/16)%Q.
Proof.
  vm_compute.
  reflexivity.
Qed.
