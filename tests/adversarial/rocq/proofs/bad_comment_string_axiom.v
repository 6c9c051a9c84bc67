(* Same comment/string lexing trick hiding an Axiom and an Admitted lemma from a
   comment masker that ignores strings inside comments. *)
(* "(*" *) Axiom cheat : False. Lemma helper : 2 + 2 = 5. Admitted. (* "*)" *)

Theorem false_nat : 2 + 2 = 5.
Proof. exact helper. Qed.
