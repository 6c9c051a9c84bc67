(* Standard (non-ssreflect) pattern syntax: the parameters of exist are written as _.
   Valid in a fresh Coq; it breaks only if "Asymmetric Patterns" was switched on behind the
   proof's back (e.g. by loading ssreflect/Coquelicot, which run Global Set Asymmetric Patterns
   even on a plain Require). *)
Theorem sig_proj (P : nat -> Prop) (s : {n : nat | P n}) : P (proj1_sig s).
Proof.
  exact (match s as s' return P (proj1_sig s') with exist _ n p => p end).
Qed.
