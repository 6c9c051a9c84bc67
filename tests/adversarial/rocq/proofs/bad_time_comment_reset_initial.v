Require Import Reals.
Open Scope R_scope.

(* The in-sentence comment/string trick hiding Reset Initial behind Time: run inside a
   checker's session it wipes the checker's own state (header, elaborated target). *)
Time (* "(*" *) Reset Initial. (* "*)" *) Check 1.

Theorem false_sub : 1 - 2 = 0.
Proof. reflexivity. Qed.
