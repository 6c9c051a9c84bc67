(* Section never closed: inside it, cheat is a section variable, not an axiom.
   coqc rejects the file at end of input, but a checker that appends
   `Print Assumptions false_nat.` to this text sees only "Section Variables". *)
Section S.
Hypothesis cheat : False.

Theorem false_nat : 2 + 2 = 5.
Proof. destruct cheat. Qed.
