(* Right fully-looking name Classical_Prop.classic, wrong (inconsistent) type. *)
Module Classical_Prop.
  Axiom classic : forall P : Prop, P.
End Classical_Prop.

Theorem false_nat : 2 + 2 = 5.
Proof. apply Classical_Prop.classic. Qed.
