(* Source: miniF2F-rocq, https://github.com/LLM4Rocq/miniF2F-rocq (MIT License, Copyright (c) 2025 LLM4Rocq),
   file valid/mathd_algebra_104.v at commit b60affae5d9b81eb097424e3143c40165ccbe97b; copied unchanged below. *)
Require Import Reals.
Open Scope R_scope.
Require Import Lra.

Theorem mathd_algebra_104 (x : R) (h0 : 125 / 8 = x / 12) : x = 375 / 2.
Proof.
  lra.
Qed.
