Require Import Reals.
Open Scope R_scope.
From Coquelicot Require Import Coquelicot.
Require Import Psatz.

Theorem r_amgm (a b : R) : 2 * a * b <= a ^ 2 + b ^ 2.
Proof.
  pose proof (pow2_ge_0 (a - b)) as hsq.
  nra.
Qed.
