#!/usr/bin/env bash
# Set up, then run the main job on the embedded default: check the project's own Rocq problem set
# (data/rocq-demo) in one verifier pool, with a progress bar and a summary table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p runs
.venv/bin/prover check --backend rocq --batch data/rocq-demo/batch.jsonl --timeout 30 > runs/demo-verdicts.jsonl
.venv/bin/prover report runs/demo-verdicts.jsonl --expect data/rocq-demo/batch.jsonl
