#!/usr/bin/env bash
# The GPU check of the generation backends, as one prepared script for a lent GPU machine:
#   bash bench/gpu_check.sh [OUT_DIR]
# It checks what the machine already has (nvidia-smi, torch with CUDA, vllm), makes the project's
# small model, samples from it with each backend that can run (transformers on cuda, vLLM) and
# prints tokens/s; where Coq is present it also runs the model engine and counts the proofs the
# pool checked; then it measures the eval's generation, serial against batched (samples/s). Every
# step runs under `timeout`, so a missing package or a stuck driver ends in a one-line message and a
# non-zero exit, never a hang. Results: OUT_DIR/gpu_check.json and OUT_DIR/batched_generation.json
# (default runs/).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-runs}"
mkdir -p "$OUT"
PY="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || command -v python3 )}"
STEP_TIMEOUT="${STEP_TIMEOUT:-240}"

fail() { echo "gpu_check: $*" >&2; exit 1; }

command -v nvidia-smi >/dev/null || fail "no nvidia-smi: this machine has no NVIDIA driver (nothing to check)"
timeout 30 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
    || fail "nvidia-smi did not answer within 30 s"
timeout 120 "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)" \
    || fail "torch cannot see a GPU (a CPU-only wheel? install a CUDA build of torch) or is not installed"
timeout 60 "$PY" -c "import prover, transformers" \
    || fail "the prover package is not installed for $PY (pip install -e .)"
HAVE_VLLM=0
if timeout 180 "$PY" -c "import vllm" 2>/dev/null; then HAVE_VLLM=1; else
    echo "gpu_check: vllm is not installed (pip install -e '.[gpu]'); only transformers is measured" >&2
fi

timeout "$STEP_TIMEOUT" "$PY" bench/gpu_backends.py --out "$OUT" --vllm "$HAVE_VLLM" \
    || fail "the backend measurement failed or ran past ${STEP_TIMEOUT}s (see above)"
echo "gpu_check: wrote $OUT/gpu_check.json" >&2
# The eval's generation, serial (one call per sample) against batched (a problem's samples per call),
# on the GPU with the small model: samples/s of both paths in one run.
timeout "$STEP_TIMEOUT" "$PY" bench/batched_generation.py --device cuda --problems 8 -n 8 --max-batch 64 \
    --json "$OUT/batched_generation.json" \
    || fail "the batched generation measurement failed or ran past ${STEP_TIMEOUT}s (see above)"
echo "gpu_check: wrote $OUT/batched_generation.json" >&2
