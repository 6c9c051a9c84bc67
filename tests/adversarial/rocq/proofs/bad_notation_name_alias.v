(* The target's name as a notation for the library lemma. *)
Notation two_plus_two := (eq_refl 4).
