Require Import Arith.
Require Import Lia.

(* Writes /tmp/prover-escape-test/redirect.out. *)
Redirect "/tmp/prover-escape-test/redirect" Print nat.

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
