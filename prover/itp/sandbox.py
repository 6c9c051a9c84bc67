"""Running untrusted proof-assistant sessions: resource limits and a filesystem sandbox.

Generated proofs are untrusted code. A proof assistant can write files (Coq's ``Redirect`` and
``Extraction``, Lean's IO, Isabelle's ML), so each session runs under bubblewrap: the whole
filesystem read-only (``/tmp`` too), no network, and one writable scratch directory of its own,
which is also its ``HOME`` and ``TMPDIR``.
The guard's text rules reject such commands too, but a guard alone is not enough.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

BWRAP_HINT = "install bubblewrap (Debian: apt-get install bubblewrap) or pass --no-sandbox"
NAMESPACE_HINT = (
    "enable unprivileged user namespaces (sysctl user.max_user_namespaces > 0, on Debian "
    "kernel.unprivileged_userns_clone=1, on Ubuntu 24.04 kernel.apparmor_restrict_unprivileged_userns=0; "
    "in a container, a runtime or seccomp profile that allows them), or pass --no-sandbox, only for "
    "trusted input"
)


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def bwrap_problem() -> str | None:
    """None when bubblewrap can start the sandbox here, else one line saying why not and what to do.

    An installed bwrap is not a working one: many GPU and CI containers forbid the user namespaces
    it needs, and then every session fails to start. So the probe starts ``true`` under exactly the
    sandbox the sessions get (once per process and bwrap binary)."""
    bwrap = bwrap_path()
    return f"bwrap not found; {BWRAP_HINT}" if bwrap is None else _probe(bwrap)


@functools.cache
def _probe(bwrap: str) -> str | None:
    with tempfile.TemporaryDirectory(prefix="prover-bwrap-") as scratch:
        argv = [bwrap, *sandboxed(["true"], Path(scratch))[1:]]  # the same flags as every session
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            return f"bubblewrap did not start `true` within 30 s; {NAMESPACE_HINT}"
        except OSError as exc:
            return f"{bwrap} cannot run ({exc.strerror}); {BWRAP_HINT}"
    if done.returncode == 0:
        return None
    said = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    why = said[-1] if said else f"exit {done.returncode}"
    return f"bubblewrap cannot create its sandbox here ({why}): {NAMESPACE_HINT}"


def sandboxed(argv: list[str], scratch: Path) -> list[str]:
    """``argv`` wrapped so that it can write only to ``scratch``."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise FileNotFoundError(f"bwrap not found: {BWRAP_HINT}")
    scratch = scratch.resolve()
    # fmt: off
    return [
        bwrap,
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        # /tmp stays read-only rather than replaced by a tmpfs: the project (or its virtualenv) may
        # itself live under /tmp, and a tmpfs there would hide it. Temporary files go to scratch.
        "--tmpfs", "/dev/shm",
        "--bind", str(scratch), str(scratch),
        "--chdir", str(scratch),
        "--setenv", "HOME", str(scratch),
        "--setenv", "TMPDIR", str(scratch),
        # No network; a private pid namespace, so killing bwrap ends everything started inside.
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--",
        *argv,
    ]
    # fmt: on


def resource_limits(memory_bytes: int, file_bytes: int = 256 * 1024**2) -> Callable[[], None]:
    """A ``preexec_fn`` applying the limits in the child before it runs the proof assistant."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux ``/proc``); empty if it is gone."""
    found: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
        found.append(current)
    return found


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants; 0 if it is gone."""
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for current in _tree(pid):
        try:
            with open(f"/proc/{current}/statm") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total


def tree_peak_vm_bytes(pid: int) -> int:
    """The largest peak address space (``VmPeak``) of ``pid`` or any descendant: how close a process
    came to its ``RLIMIT_AS``, which says whether an allocation failure was the limit's doing."""
    peak = 0
    for current in _tree(pid):
        try:
            with open(f"/proc/{current}/status") as f:
                for line in f:
                    if line.startswith("VmPeak:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
        except (OSError, ValueError, IndexError):
            continue
    return peak
