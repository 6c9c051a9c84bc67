Require Import Arith.
Require Import Lia.

(* Changes the working directory of coqc: with Coq 8.16, coqc then writes this
   file's .vo/.vos/.vok (and any relative-path output) into /tmp/prover-escape-test. *)
Cd "/tmp/prover-escape-test".

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
