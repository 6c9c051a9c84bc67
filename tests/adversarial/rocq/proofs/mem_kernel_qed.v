Require Import Arith.
Require Import Lia.

(* Kernel-time memory bomb: the tactic does nothing, the kernel VM builds
   unary 10^9 when it checks the cast at Qed. *)
Lemma huge : Nat.ltb 0 (Nat.pow 10 9) = true.
Proof. vm_cast_no_check (eq_refl true). Qed.

Theorem nat_lin (n : nat) (h : 3 * n + 2 = 14) : n = 4.
Proof. lia. Qed.
