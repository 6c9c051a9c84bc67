Require Import Arith.
Require Import Lia.

(* Unary nat 10^9 in the VM: ~16 GB; "Out of memory" in ~10 s under a 4 GiB RLIMIT_AS.
   The rest of the file is a valid proof, so only the memory limit can reject it. *)
Eval vm_compute in Nat.pow 10 9.

Theorem nat_lin (n : nat) (h : 3 * n + 2 = 14) : n = 4.
Proof. lia. Qed.
