"""The verifier core: the pool of proof-assistant sessions every proof is certified by (``pool.py``),
its content-hash verdict cache (``cache.py``), JSONL batch checking (``batch.py``), the verdict
table (``report.py``) and the small statistics they share (``stats.py``)."""
