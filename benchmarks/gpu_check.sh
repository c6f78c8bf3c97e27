#!/usr/bin/env bash
# GPU check: the `small` preset (~110M parameters, context 1024, 32k vocabulary) for a few hundred steps on
# one GPU, in bf16 with torch.compile, fused AdamW; prints the card, tokens/s, MFU and peak memory (the median
# logged interval, so start-up and compilation are left out). Then the same data-parallel on two GPUs (torchrun,
# NCCL) where there are two. Target (issue 11): MFU >= 40% on an H100-class card. Record the numbers with the card
# in benchmarks/RESULTS.md ("GPU check").
#
#   benchmarks/gpu_check.sh                       # 300 steps
#   STEPS=500 benchmarks/gpu_check.sh
#   DEVICE=cpu PRESET=tiny STEPS=3 BATCH_TOKENS=1024 COMPILE= benchmarks/gpu_check.sh   # smoke test without a GPU
#
# The data are random token ids (throughput does not depend on what the tokens say), packed with training.packing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
STEPS=${STEPS:-300}
PRESET=${PRESET:-small}
DEVICE=${DEVICE:-cuda}
BATCH_TOKENS=${BATCH_TOKENS:-32768}  # per GPU and step: 32 sequences of 1024, no gradient accumulation
COMPILE=${COMPILE---compile}
VOCAB=32000
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$PY" - "$WORK/data" "$VOCAB" <<'EOF'
import sys
import numpy as np
from training.packing import pack_ids

rng = np.random.default_rng(0)
pack_ids([("random", rng.integers(0, int(sys.argv[2]) - 1, 20_000_000))], int(sys.argv[2]), int(sys.argv[2]) - 1,
         sys.argv[1])
EOF

if [ "$DEVICE" = cuda ]; then
  nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader
  GPUS=$(nvidia-smi -L | wc -l)
else
  GPUS=1
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda)"

train() {  # $1: processes
  local args=(-m training.train --data "$WORK/data" --out "$WORK/run-$1" --model "$PRESET" --steps "$STEPS"
              --batch-tokens $((BATCH_TOKENS * $1)) --device "$DEVICE" --checkpoint-every $((STEPS * 10)) $COMPILE)
  echo "== $PRESET, $1 process(es), $STEPS steps, $((BATCH_TOKENS * $1)) tokens per step"
  if [ "$1" = 1 ]; then
    "$PY" "${args[@]}"
  else
    OMP_NUM_THREADS=$(( $(nproc) / $1 )) "$PY" -m torch.distributed.run --standalone --nproc-per-node "$1" "${args[@]}"
  fi
}

train 1
if [ "$GPUS" -ge 2 ]; then
  train 2
else
  echo "== one GPU here: no data-parallel run"
fi
