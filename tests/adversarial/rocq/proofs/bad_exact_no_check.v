(* exact_no_check skips the tactic-time type check; the kernel re-checks at Qed
   and rejects (plain coqc fails). Only a checker that skips Qed bodies
   (coqc -vos, or async proofs never forced) would let this through. *)
Theorem false_nat : 2 + 2 = 5.
Proof. exact_no_check (eq_refl 4). Qed.
