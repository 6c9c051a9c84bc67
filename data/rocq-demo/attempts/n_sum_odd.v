Require Import Arith.
Require Import List.

(* informal: The sum of the first n odd numbers 1 + 3 + ... + (2n - 1) is n^2. *)
Theorem n_sum_odd :
  forall n : nat, list_sum (map (fun k => 2 * k + 1) (seq 0 n)) = n * n.
Proof.
  induction n as [| k IH].
  - reflexivity.
  - rewrite seq_S, map_app, list_sum_app, IH.
    simpl.
Qed.
