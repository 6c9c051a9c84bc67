Require Import Arith.
Require Import Lia.

(* fact 20 = 2.4 * 10^18 as a unary nat: memory grows until the limit. *)
Definition big := Eval vm_compute in fact 20.

Theorem nat_lin (n : nat) (h : 3 * n + 2 = 14) : n = 4.
Proof.
  lia.
Qed.
