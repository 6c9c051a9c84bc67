(* Right name, statement replaced by True. *)
Theorem false_nat : True.
Proof. exact I. Qed.
