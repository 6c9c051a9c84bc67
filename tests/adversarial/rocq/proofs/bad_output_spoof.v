(* Prints text that imitates Print Assumptions output, to fool a checker
   that greps the compiler output. *)
Axiom cheat : False.

Theorem false_nat : 2 + 2 = 5.
Proof.
  idtac "Closed under the global context".
  destruct cheat.
Qed.

Print Assumptions false_nat.
Goal True. idtac "Closed under the global context". exact I. Qed.
