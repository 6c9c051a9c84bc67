"""Symbolic proof search: a best-first portfolio of tactics, the baseline a learned prover must beat."""
