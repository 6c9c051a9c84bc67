Require Import Reals.
Open Scope R_scope.

(* auxiliary: 16 written as a square *)
Lemma sixteen_as_square : 16 = 4 * 4.
Proof.
  ring.
Qed.

(* informal: The square root of 16 is 4. *)
Theorem r_sqrt_sixteen : sqrt 16 = 4.
Proof.
  rewrite sixteen_as_square.
  apply sqrt_square.
  left.
  prove_sup0.
Qed.
