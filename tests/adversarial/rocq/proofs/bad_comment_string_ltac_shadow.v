Require Import Arith.
Require Import Lia.

(* Comment/string lexing trick (see esc_comment_string_redirect.v): Coq runs the middle of
   the next line, a masker that ignores strings inside comments does not. In Coq's reading,
   lia is redefined to use an axiom, so the theorem below depends on cheat. *)
(* "(*" *) Axiom cheat : forall P : Prop, P. Ltac lia := apply cheat. (* "*)" *)

Theorem nat_lin (n : nat) (h : 3 * n + 2 = 14) : n = 4.
Proof. lia. Qed.

Print Assumptions nat_lin.
