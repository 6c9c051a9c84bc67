(* FALSE target: (1 = 2 -> False) holds, so this would prove False. *)
Theorem false_neg : (1 = 2 -> False) -> False.
Proof.
Admitted.
