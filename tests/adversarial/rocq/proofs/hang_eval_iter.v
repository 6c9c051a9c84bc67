Require Import NArith.
Require Import Arith.
Require Import Lia.

(* A Timeout-free Eval that never returns: 10^18 binary-N iterations, constant memory.
   The rest of the file is a valid proof, so only the time limit can reject it. *)
Eval vm_compute in N.iter 1000000000000000000%N negb true.

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
