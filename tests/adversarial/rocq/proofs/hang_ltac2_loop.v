From Ltac2 Require Import Ltac2.

(* Tail-recursive Ltac2 loop: runs forever in constant memory (an Ltac1
   "Ltac loop := idtac; loop" only overflows the stack). *)
Ltac2 rec loop () := loop ().

Theorem false_nat : 2 + 2 = 5.
Proof. loop (). Qed.
