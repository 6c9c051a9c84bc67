Require Import Arith.
Require Import Lia.

(* Tactic-time memory bomb inside the proof of the right theorem. *)
Theorem nat_lin (n : nat) (h : 3 * n + 2 = 14) : n = 4.
Proof.
  assert (big : Nat.pow 10 9 = Nat.pow 10 9 + 0) by (vm_compute; reflexivity).
  lia.
Qed.
