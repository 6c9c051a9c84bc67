"""What every prover actor on a Ray cluster starts with: this process's package, and a stdout that is
really stderr.

The actors run the driver's own ``prover`` (``py_modules``), not whatever version a node has
installed: the verifier pool's cache key is the driver's backend identity, so the code deciding a
verdict must be the code that identity describes. Nodes still need prover's dependencies and the
proof assistants themselves. (Ray also puts the driver's working directory first on the workers'
path, assuming nodes laid out alike: a driver started inside a checkout imports the nodes' files at
that path, the same code on a shared or identical layout.)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def package_runtime_env() -> dict[str, Any]:
    """A Ray ``runtime_env`` shipping this ``prover`` package to the actors."""
    import prover
    from prover.itp.lean.setup import default_project_dir

    package = Path(prover.__file__).resolve().parent
    # The shipped copy lives in Ray's own folder, where "lean_project/ next to the package" is not:
    # name the driver's Lake project (its usual place on every node of a cluster set up alike).
    env_vars = {"PROVER_LEAN_PROJECT": os.environ.get("PROVER_LEAN_PROJECT") or str(default_project_dir())}
    return {"py_modules": [str(package)], "excludes": ["__pycache__"], "env_vars": env_vars}


def stdout_to_stderr() -> None:
    """Called first in an actor. Ray forwards an actor's stdout to the driver's stdout, where a
    command writes its JSON lines; whatever an actor prints is a diagnostic, so it goes to stderr,
    which Ray forwards to the driver's stderr (prefixed with the actor's name and pid)."""
    sys.stdout = sys.stderr
