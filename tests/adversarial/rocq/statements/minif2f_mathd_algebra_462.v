(* Source: miniF2F-rocq, https://github.com/LLM4Rocq/miniF2F-rocq (MIT License, Copyright (c) 2025 LLM4Rocq),
   file valid/mathd_algebra_462.v at commit b60affae5d9b81eb097424e3143c40165ccbe97b; copied unchanged below. *)
Require Import Reals.
Open Scope R_scope.

Theorem mathd_algebra_462 :
  (1/2 + 1/3) * (1/2 - 1/3) = 5/36.
Proof.
Admitted.