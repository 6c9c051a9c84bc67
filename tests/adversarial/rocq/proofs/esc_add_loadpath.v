Require Import Arith.
Require Import Lia.

(* Adds a load path outside the sandbox (deprecated, but accepted by 8.16). *)
Add LoadPath "/tmp/prover-escape-test" as Evil.

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
