Require Import Arith.
Require Import Lia.

(* Set Definitional UIP extends the theory (consistent, but not an allow-listed
   axiom); Print Assumptions reports "seq relies on definitional UIP." *)
Set Definitional UIP.
Inductive seq {A : Type} (a : A) : A -> SProp := srefl : seq a a.
Definition transport {A : Type} (P : A -> Type) {x y : A} (e : seq x y) (p : P x) : P y.
Proof. destruct e. exact p. Defined.

Theorem sum_bound (a b : nat) (h1 : a <= 3) (h2 : b <= 4) : a + b <= 7.
Proof.
  refine (transport (fun _ : nat => a + b <= 7) (srefl 0) _).
  lia.
Qed.
