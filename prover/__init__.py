"""prover: a formal theorem-proving agent with a sound verifier pool and a self-play loop."""

__version__ = "0.1.0"
