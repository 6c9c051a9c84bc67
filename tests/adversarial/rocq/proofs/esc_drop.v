Require Import Arith.
Require Import Lia.

(* Drop leaves the Coq loop for the OCaml toplevel (coqtop.byte); coqc says
   "Syntax error: illegal begin of vernac". *)
Drop.

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
