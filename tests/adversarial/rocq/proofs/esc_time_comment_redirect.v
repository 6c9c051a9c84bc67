Require Import Arith.
Require Import Lia.

(* The comment/string trick inside ONE sentence: a masker that ignores strings in
   comments sees the sentence "Time <comment> Check 1." and lets it through; Coq, given
   that sentence's text, reads "Time Redirect ... Print nat." and runs it (writes
   /tmp/prover-escape-test/time_trick.out). *)
Time (* "(*" *) Redirect "/tmp/prover-escape-test/time_trick" Print nat. (* "*)" *) Check 1.

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
