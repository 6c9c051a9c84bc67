Require Import Arith.

Module A.
  Module B.
    Parameter g : nat.
    Axiom g_pos : 0 < g.
  End B.
End A.

Module B.
  Axiom g_pos : 100 < A.B.g.
End B.

Theorem g_big : 100 < A.B.g.
Proof. exact B.g_pos. Qed.
