(* FALSE target: no candidate may ever be accepted for it. *)
Theorem false_nat : 2 + 2 = 5.
Proof.
Admitted.
