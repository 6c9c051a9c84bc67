Require Import ZArith.
Require Import Lia.
Open Scope Z_scope.

(* auxiliary: the claim for each residue r of n modulo 4 *)
Lemma z_mod_sq_residue :
  forall r : Z, 0 <= r < 4 -> (r * r) mod 4 = 0 \/ (r * r) mod 4 = 1.
Proof.
  intros r hr.
  assert (r = 0 \/ r = 1 \/ r = 2 \/ r = 3) as hcases by lia.
  destruct hcases as [-> | [-> | [-> | ->]]]; simpl; auto.
Qed.

(* informal: Every perfect square leaves remainder 0 or 1 when divided by 4. *)
Theorem z_mod_sq : forall n : Z, (n * n) mod 4 = 0 \/ (n * n) mod 4 = 1.
Proof.
  intros n.
  rewrite Z.mul_mod by lia.
  apply z_mod_sq_residue.
  apply Z.mod_pos_bound.
  lia.
Qed.
