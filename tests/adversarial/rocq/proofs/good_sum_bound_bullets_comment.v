Require Import Arith.
(* This proof is complete; the word Admitted. below is only inside a comment:
   Lemma foo : False. Admitted.  (* nested comment with admit. *) *)
Require Import Lia.

Lemma sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof.
  assert (ha : a <= 3 /\ b <= 4).
  { split.
    - exact h1.
    - exact h2. }
  destruct ha as [ha hb].
  + lia.
Qed.
