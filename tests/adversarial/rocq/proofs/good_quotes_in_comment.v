Require Import Arith.
Require Import Lia.

(* A comment with "quoted" words and a "(* string *)" in it: Coq lexes strings inside
   comments, so this is one ordinary comment. *)
Theorem nat_lin (n : nat) (h : 3 * n + 2 = 14) : n = 4.
Proof.
  (* "lia" closes linear goals over nat *)
  lia.
Qed.
