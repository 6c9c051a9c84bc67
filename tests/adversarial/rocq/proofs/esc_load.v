Require Import Arith.
Require Import Lia.

(* Load runs another .v file textually (not compiled, not checked by the guard).
   A harness may create /tmp/prover-escape-test/load_me.v holding "Axiom cheat : False."
   first; without it coqc fails with "Can't find file". *)
Load "/tmp/prover-escape-test/load_me.v".

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
