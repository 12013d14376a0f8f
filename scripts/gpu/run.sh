#!/usr/bin/env bash
# The full preset once on a GPU machine, as issue 4 asks: a smoke run of every training
# stage on 8 generated cards first (fails fast, in seconds), then the budgeted run on a real
# catalogue. Results (train JSON and log, eval report, model cards, CSVs, the student ONNX
# split into <16 MiB parts) land in $OUT.
#
#   CATALOG=DIR PRESET=scripts/gpu/full-random-init.json OUT=/tmp/gpu-out bash scripts/gpu/run.sh
#
# Wheels for packages the machine lacks (usearch, onnxslim, this timm, typer...) are taken
# from .whl/ when present (see docs/training.md, "GPU run").
set -euo pipefail
OUT=${OUT:-/tmp/gpu-out}
CATALOG=${CATALOG:-.gpu/temporal-forces}
PRESET=${PRESET:-scripts/gpu/full-random-init.json}
SMOKE=${SMOKE:-scripts/gpu/smoke.json}
WORK=${WORK:-/tmp/pokecard-gpu}
mkdir -p "$OUT" "$WORK"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" .whl/*.whl
  export PYTHONPATH="$WORK/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}" POKECARD_CACHE="$WORK/cache" PYTHONUNBUFFERED=1 POKECARD_PROGRESS=0 COLUMNS=200
# The whole script stays inside BUDGET_S (a device lease is short): the full run is cut at
# the deadline and whatever it finished is still collected.
BUDGET_S=${BUDGET_S:-540}
STAGES=(--stage teacher --stage gallery --stage student --stage evaluate --stage export)
{
  date -u +%FT%TZ
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  nproc
  python3 -c "import sys,torch,timm,onnxruntime,cv2,numpy as np;print(sys.version.split()[0],'torch',torch.__version__,'cuda',torch.cuda.is_available(),'timm',timm.__version__,'ort',onnxruntime.__version__,'cv2',cv2.__version__,'numpy',np.__version__)"
} | tee "$OUT/info.txt"

t0=$SECONDS
python3 -m pokecard catalog synth --cards 8 --out "$WORK/smoke-cat" >/dev/null
if ! python3 -m pokecard -v train --catalog "$WORK/smoke-cat" --root "$WORK/smoke" --preset "$SMOKE" \
    --no-track "${STAGES[@]}" --json >"$OUT/smoke.json" 2>"$OUT/smoke.log"; then
  tail -40 "$OUT/smoke.log"
  echo "smoke run FAILED after $((SECONDS - t0)) s" | tee -a "$OUT/info.txt"
  exit 3
fi
echo "smoke run passed in $((SECONDS - t0)) s" | tee -a "$OUT/info.txt"

t0=$SECONDS
rc=0
timeout --signal=INT $((BUDGET_S - SECONDS)) python3 -m pokecard -v train --catalog "$CATALOG" --root "$WORK/full" --preset "$PRESET" --no-track \
  "${STAGES[@]}" --json >"$OUT/train.json" 2>"$OUT/train.log" || rc=$?
echo "full run rc=$rc in $((SECONDS - t0)) s" | tee -a "$OUT/info.txt"
grep -E "epoch|budget|pool|WARN|Error|error" "$OUT/train.log" | tail -30 || true

R="$WORK/full"
tar -czf "$OUT/results.tgz" -C "$R" --exclude='*.pt' --exclude='*.onnx' --exclude='data/raw' \
  --exclude='data/processed/classification/images' . 2>/dev/null || true
onnx=$(find "$R" -name '*.onnx' | head -1)
if [ -n "$onnx" ]; then
  split -b 15M -d "$onnx" "$OUT/student.onnx.part"
  sha256sum "$onnx" | tee -a "$OUT/info.txt"
fi
rm -f "$OUT/smoke.json" "$OUT/smoke.log"
exit $rc
