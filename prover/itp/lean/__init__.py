"""The Lean 4 backend: the Lean REPL over its JSON protocol, Mathlib imported once (``backend.py``)."""
