Require Import Coq.Logic.Hurkens.

(* Type : Type via Hurkens' paradox. *)
Unset Universe Checking.
Theorem boom : False.
Proof. exact (TypeNeqSmallType.paradox Type eq_refl). Qed.
Set Universe Checking.

Theorem false_nat : 2 + 2 = 5.
Proof. destruct boom. Qed.
