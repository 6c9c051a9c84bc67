(* Unary nat 10^9 in the VM: ~16 GB; "Out of memory" in ~13 s under a 4 GiB RLIMIT_AS. *)
Eval vm_compute in Nat.pow 10 9.

Theorem false_nat : 2 + 2 = 5.
Proof. Admitted.
