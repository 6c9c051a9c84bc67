Require Import Arith.

Module A.
  Module B.
    Parameter g : nat.
    Axiom g_pos : 0 < g.
  End B.
End A.

Theorem g_big : 100 < A.B.g.
Proof.
Admitted.
