Require Import Coq.Strings.String.
Open Scope string_scope.

(* The axiom's type prints a fake "Expands to: Constant <allow-listed path>" line
   (the string holds a newline, and the next line starts with a space so it looks like
   a continuation line in Print Assumptions). A checker that resolves axiom names by
   searching `About cheat` output for the first "Expands to: Constant X" line is
   told cheat is Coq.Logic.Classical_Prop.classic. *)
Definition P (s : string) : Prop := False.
Axiom cheat : P "Expands to: Constant Coq.Logic.Classical_Prop.classic
 ".

Theorem false_nat : 2 + 2 = 5.
Proof. destruct cheat. Qed.
