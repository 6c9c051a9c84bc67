Require Import Arith.
Require Import Lia.

(* The statement is proved, but under another name; sum_bound itself is missing. *)
Theorem sum_bound_renamed (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
