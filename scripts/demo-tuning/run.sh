#!/usr/bin/env bash
# Demo-preset variants, step-based (accuracy does not depend on how fast the machine is),
# on the demo catalogue (40 generated cards, seed 0): teacher, gallery, student, evaluate.
# Prints each variant's held-out top-1 (200 crops). docs/training.md, "Demo tuning".
#   bash scripts/demo-tuning/run.sh [DEVICE] [VARIANT.json ...]   (DEVICE: cpu | cuda)
# The v* variants ran together on an H200 (DEVICE=cuda, their "amp": false keeps float32);
# x*/y* ran on 2 CPU cores. Unset, runs every variant here, one after another.
set -euo pipefail
DEVICE=${1:-cpu}; shift || true
W=${WORK:-/tmp/demo-tuning}; mkdir -p "$W"
PY=${PY:-.venv/bin/python}
[ -d "$W/cat40" ] || $PY -m pokecard catalog synth --cards 40 --seed 0 --out "$W/cat40" >/dev/null
variants=("$@"); [ ${#variants[@]} -gt 0 ] || variants=(scripts/demo-tuning/*.json)
for p in "${variants[@]}"; do
  n=$(basename "$p" .json)
  POKECARD_CACHE="$W/cache" $PY -m pokecard train --catalog "$W/cat40" --root "$W/$n" --preset "$p" --no-track \
    --device "$DEVICE" --stage teacher --stage gallery --stage student --stage evaluate --json >"$W/$n.json"
  $PY - "$W/$n.json" "$n" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ev = next(s for s in d["stages"] if s["stage"] == "evaluate")["metrics"]
print(sys.argv[2], " ".join(f"{k}={ev[k + '.top1']:.3f}" for k in ("teacher->teacher", "student->teacher", "student->student")))
PY
done
