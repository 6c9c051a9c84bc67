"""The Isabelle backend: an Isabelle server spoken to over its TCP protocol (``backend.py``)."""
