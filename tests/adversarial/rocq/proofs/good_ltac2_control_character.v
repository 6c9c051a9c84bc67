From Ltac2 Require Import Ltac2.

(* Prints a control character (BEL) that XML cannot carry, then proves the target. *)
Theorem two_plus_two : 2 + 2 = 4.
Proof.
  Message.print (Message.of_string (String.make 1 (Char.of_int 7))).
  reflexivity.
Qed.
