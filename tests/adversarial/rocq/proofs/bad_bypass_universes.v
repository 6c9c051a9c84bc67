Require Import Coq.Logic.Hurkens.

#[bypass_check(universes)]
Theorem boom : False.
Proof. exact (TypeNeqSmallType.paradox Type eq_refl). Qed.

Theorem false_nat : 2 + 2 = 5.
Proof. destruct boom. Qed.
