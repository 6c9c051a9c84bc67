(* The candidate's own plus_n_O sits in a module that is never imported, so the name still
   resolves to the library lemma. *)
Module Mine.
  Theorem plus_n_O : 0 = 0.
  Proof. reflexivity. Qed.
End Mine.
