Require Import Arith.

(* A trusted prelude that itself declares an axiom bearing the target's name (inside a module that
   is imported): a candidate that proves nothing must not be verified through it. *)
Module Hint_.
  Axiom seven : 3 + 4 = 7.
End Hint_.
Import Hint_.

Theorem seven : 3 + 4 = 7.
Proof.
Admitted.
