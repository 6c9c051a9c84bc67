Require Import ZArith.
Open Scope Z_scope.
Require Import Psatz.

Theorem z_sq_nonneg (x y : Z) : 0 <= x * x + y * y.
Proof.
  nia.
Qed.
