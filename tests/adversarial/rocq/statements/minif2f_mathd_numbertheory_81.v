(* Source: miniF2F-rocq, https://github.com/LLM4Rocq/miniF2F-rocq (MIT License, Copyright (c) 2025 LLM4Rocq),
   file valid/mathd_numbertheory_81.v at commit b60affae5d9b81eb097424e3143c40165ccbe97b; copied unchanged below. *)
Require Import Nat.

Theorem mathd_numbertheory_81 : 
  71 mod 3 = 2.
Proof.
Admitted.