Require Import Arith.
Require Import Lia.

(* Loads an OCaml plugin (here a harmless, already-loaded one): arbitrary native code. *)
Declare ML Module "coq-core.plugins.ltac".

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
