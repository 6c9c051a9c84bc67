(* Declare Instance postulates an instance: inst is an axiom. *)
Class Cheat : Prop := { cheat_pf : False }.
#[export] Declare Instance inst : Cheat.

Theorem false_nat : 2 + 2 = 5.
Proof. destruct (@cheat_pf inst). Qed.
