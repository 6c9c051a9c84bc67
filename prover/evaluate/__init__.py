"""Evaluation on benchmarks: the registry (``benchmarks.py``), the unbiased pass@k (``passk.py``),
the resumable run (``run.py`` over ``store.py``), reports and plots (``report.py``, ``plots.py``)
and the ``prover eval`` command (``command.py``)."""
