Require Import Arith.
Require Import Lia.

(* A closed Section: a, b, h1, h2 become the theorem's arguments, in this order. *)
Section Bound.
  Variables a b : nat.
  Hypothesis h1 : a <= 3.
  Hypothesis h2 : b <= 4.

  Theorem sum_bound : a + b <= 7.
  Proof using a b h1 h2.
    lia.
  Qed.
End Bound.
