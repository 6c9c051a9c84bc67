Require Import Reals.
Open Scope R_scope.

Theorem r_pos (x : R) (h : 0 < x) : 0 < x + 1 / x.
Proof.
Admitted.
