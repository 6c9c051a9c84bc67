Require Import Arith.
Require Import Lia.
Require Import Coq.Numbers.Cyclic.Int63.PrimInt63.

(* Primitive declares a new kernel primitive; Print Assumptions lists it as an axiom. *)
Primitive my_add : int -> int -> int := #int63_add.

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof.
  pose proof my_add as _unused.
  lia.
Qed.
