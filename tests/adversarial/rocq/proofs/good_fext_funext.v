Require Import FunctionalExtensionality.

Theorem fext_ex : (fun n : nat => n + 0) = (fun n : nat => n).
Proof.
  apply functional_extensionality.
  intro n.
  induction n as [| n IH]; simpl.
  - reflexivity.
  - rewrite IH. reflexivity.
Qed.
