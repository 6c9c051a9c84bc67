"""Evaluation on benchmarks: the registry (``benchmarks.py``), the unbiased pass@k (``passk.py``),
the resumable run (``run.py`` over ``store.py``), reports and plots (``report.py``, ``plots.py``);
the ``prover eval`` command is ``prover/cli/evaluate.py``."""
