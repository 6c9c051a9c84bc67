Require Import Arith.
Require Import Lia.

(* Extraction TestCompile runs the OCaml compiler (ocamlfind) as a child process. *)
Require Extraction.
Definition three := 3.
Extraction TestCompile three.

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
