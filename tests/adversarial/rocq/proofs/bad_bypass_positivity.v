#[bypass_check(positivity)]
Inductive bad : Type := C : (bad -> False) -> bad.

Definition unC (b : bad) : bad -> False := match b with C g => g end.

Theorem false_nat : 2 + 2 = 5.
Proof.
  pose (g := fun b : bad => unC b b).
  destruct (g (C g)).
Qed.
