#!/usr/bin/env bash
# Run steps.py and scaling.py --roofline on a GPU in under 4 minutes; JSON and logs go to $OUT.
#   OUT=/some/dir [PYTHON=python3] bash benchmarks/gpu.sh
# Needs a Python where `import jax` sees the GPU, plus flax/optax (aejax's dependencies); the repo
# itself is found from this script's location. Each part has its own time limit so that the whole
# stays inside 4 minutes even if one part hangs; a part that is cut leaves its log in $OUT.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/aejax_gpu_bench}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" XLA_PYTHON_CLIENT_PREALLOCATE=false
start=$(date +%s)
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1; date -u; } | tee "$OUT/machine.txt"
backend=$(timeout 60 "$PY" -c 'import jax; print(jax.default_backend())' 2>"$OUT/backend.err")
echo "jax backend: ${backend:-none}" | tee -a "$OUT/machine.txt"
if [ "$backend" != "gpu" ] && [ "$backend" != "cuda" ]; then
  echo "jax does not see a GPU (see $OUT/backend.err); not running" >&2
  echo "{\"error\": \"jax backend is '${backend:-none}', not gpu\"}" > "$OUT/error.json"
  exit 2
fi
# steps: 6 models x batch 64, 512 (about 1 min with compiles)
timeout 100 "$PY" benchmarks/steps.py --seconds 0.5 --repeats 3 --out "$OUT" 2>&1 | tee "$OUT/steps.log"
# roofline: the same steps at 64, 512, 4096 against fp32 peak and HBM bandwidth (about 1.5 min)
timeout 120 "$PY" benchmarks/scaling.py --roofline --batches 64,512,4096 --seconds 0.3 --out "$OUT" 2>&1 \
  | tee "$OUT/roofline.log"
echo "gpu.sh total: $(( $(date +%s) - start )) s" | tee -a "$OUT/machine.txt"
