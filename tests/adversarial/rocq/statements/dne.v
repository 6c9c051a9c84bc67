Theorem dne (P : Prop) : ~ ~ P -> P.
Proof.
Admitted.
