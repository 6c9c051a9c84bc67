(* native_compute runs on the VM here (-native-compiler no), and still proves the target. *)
Theorem two_plus_two : 2 + 2 = 4.
Proof. native_compute. reflexivity. Qed.
