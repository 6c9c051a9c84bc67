"""The Rocq (Coq) backend: sandboxed ``coqidetop`` sessions over its XML protocol (``backend.py``)."""
