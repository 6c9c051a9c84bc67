Theorem fext_ex : (fun n : nat => n + 0) = (fun n : nat => n).
Proof.
Admitted.
