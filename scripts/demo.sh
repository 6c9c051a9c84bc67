#!/usr/bin/env bash
# Set up, then run the main job on the embedded default: two self-play rounds on Rocq with the
# project's own seed problems (data/rocq-seeds) and the small CPU model it makes and trains itself.
# Progress goes to stderr; the per-round table is printed at the end, the plot and the SQLite store
# are in runs/selfplay/. Run it again to continue (--resume) a run that was interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f runs/selfplay/selfplay.sqlite ]; then
    .venv/bin/prover selfplay --resume
else
    .venv/bin/prover selfplay
fi
