#!/usr/bin/env bash
# Set up, then run the style checks and the whole test suite (a real Coq is required).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check prover tests bench
.venv/bin/mypy prover
PROVER_REQUIRE_ROCQ=1 .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
