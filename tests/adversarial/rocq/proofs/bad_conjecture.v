(* Conjecture is a synonym of Axiom. *)
Conjecture cheat : 2 + 2 = 5.

Theorem false_nat : 2 + 2 = 5.
Proof. exact cheat. Qed.
