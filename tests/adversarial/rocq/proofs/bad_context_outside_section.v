(* Context outside a section declares an axiom (only a warning). *)
Context (cheat : False).

Theorem false_nat : 2 + 2 = 5.
Proof. destruct cheat. Qed.
