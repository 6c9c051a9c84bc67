(* The theories every checked proof may rely on. Loading them here puts them into the Prover heap
   image, so a check that imports them starts in a fraction of a second instead of loading them from
   source. Keep the imports equal to HEAP_IMPORTS in prover/itp/isabelle/guard.py (a test checks). *)

theory Prover_Header
  imports
    Complex_Main
    "HOL-Library.Sum_of_Squares"
    "HOL-Library.Code_Target_Numeral"
    "HOL-Computational_Algebra.Computational_Algebra"
    "HOL-Number_Theory.Number_Theory"
begin

end
