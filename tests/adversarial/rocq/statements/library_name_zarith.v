Require Import ZArith.
Open Scope Z_scope.

(* Z.add_comm is a library lemma; the short name add_comm is not in scope, Z.add_comm is. *)
Theorem add_comm : forall n m : Z, n + m = m + n.
Proof.
Admitted.
