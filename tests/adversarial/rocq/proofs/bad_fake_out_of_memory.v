(* An error whose text mimics a resource failure: must be a plain error, not "memory". *)
Theorem two_plus_two : 2 + 2 = 4.
Proof. fail "Out of memory". Qed.
