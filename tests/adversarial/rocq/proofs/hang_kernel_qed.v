Require Import NArith.

(* A TRUE statement whose only "proof" makes the kernel compute 10^18 steps at
   Qed time (vm_cast_no_check skips the tactic-time check): must time out. *)
Theorem iter_even : N.iter 1000000000000000000%N negb true = true.
Proof.
  vm_cast_no_check (eq_refl true).
Qed.
