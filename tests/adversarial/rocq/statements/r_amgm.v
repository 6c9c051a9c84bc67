Require Import Reals.
Open Scope R_scope.

Theorem r_amgm (a b : R) : 2 * a * b <= a ^ 2 + b ^ 2.
Proof.
