Require Import Arith.
Require Import Lia.

(* Same as esc_time_comment_redirect.v, but the hidden Redirect writes into the
   checker's current directory (time_trick_cwd.out), which exists in any sandbox. *)
Time (* "(*" *) Redirect "time_trick_cwd" Print nat. (* "*)" *) Check 1.

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
