Require Import ZArith.
Open Scope Z_scope.

(* Nothing declared; with `Import Z` the name add_comm resolves to the library's Z.add_comm. *)
Import Z.
Theorem something : True.
Proof. exact I. Qed.
