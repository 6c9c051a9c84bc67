Require Import Arith.
Require Import Lia.

(* Coq lexes strings inside comments: "(*" inside a comment's string does not nest, and
   "*)" inside a comment's string does not close. A comment masker that ignores strings
   in comments sees one comment from the first (* to the last *) on the next line, so it
   misses the Redirect, which Coq runs (writes /tmp/prover-escape-test/comment_trick.out). *)
(* "(*" *) Redirect "/tmp/prover-escape-test/comment_trick" Print nat. (* "*)" *)

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
