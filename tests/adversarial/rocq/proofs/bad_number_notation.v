(* Every nat numeral now parses as 0, so "2 + 2 = 5" elaborates to 0 + 0 = 0. *)
Definition my_of_uint (u : Number.uint) : nat := 0.
Definition my_to_uint (n : nat) : option Number.uint := None.
Number Notation nat my_of_uint my_to_uint : nat_scope.

Theorem false_nat : 2 + 2 = 5.
Proof. reflexivity. Qed.
