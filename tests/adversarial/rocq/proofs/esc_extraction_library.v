Require Import Arith.
Require Import Lia.

(* Set Extraction Output Directory is unknown to Coq 8.16 (just a warning; it exists
   from 8.18 on). Extraction Library then writes Datatypes.ml and Datatypes.mli into
   the current directory (on 8.18+: into /tmp/prover-escape-test/outdir). *)
Require Extraction.
Set Extraction Output Directory "/tmp/prover-escape-test/outdir".
Extraction Library Datatypes.

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof. lia. Qed.
