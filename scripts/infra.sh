#!/usr/bin/env bash
# Thin entry point for `make lint | infra | infra-down`. The logic (plugin mirror discovery,
# emulator, init/plan/apply, outputs file) lives in pokecard.aws.infra so tests can call it;
# this script only adds checkov, which needs its own venv (it pins boto3 1.35.x, which the
# project venv cannot have).
#
#   bash scripts/infra.sh lint            terraform fmt -check + validate per env + checkov
#   bash scripts/infra.sh checkov         checkov over infra/ (creates .venv-checkov once)
#   bash scripts/infra.sh apply [ENV]     ENV=local (moto emulator, default) | prod (APPROVE=1 applies)
#   bash scripts/infra.sh down            stop the local emulator, drop the local state
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PY:-.venv/bin/python}"
CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
CHECKOV_VENV="${CHECKOV_VENV:-.venv-checkov}"
CHECKOV_STAMP="$CHECKOV_VENV/.installed-checkov-$CHECKOV_VERSION"

ensure_checkov() {
  [[ -f "$CHECKOV_STAMP" ]] && return 0
  echo "infra: creating $CHECKOV_VENV with checkov==$CHECKOV_VERSION (once; takes a few minutes)" >&2
  local base="${CHECKOV_PYTHON:-python3}"
  [[ -x "$CHECKOV_VENV/bin/python" ]] || "$base" -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/python" -m pip install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
  rm -f "$CHECKOV_VENV"/.installed-checkov-*
  touch "$CHECKOV_STAMP"
}

run_checkov() {
  ensure_checkov
  # --skip-download: no Prisma/Bridgecrew guideline service is reachable (nor wanted) here.
  # Skips are inline only (#checkov:skip=ID:reason); this command never adds a skip list.
  "$CHECKOV_VENV/bin/checkov" --directory infra --framework terraform --skip-download \
    --quiet --compact --download-external-modules false "$@"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  lint)
    "$PY" -m pokecard.aws.infra lint
    run_checkov
    ;;
  checkov) run_checkov "$@" ;;
  checkov-venv) ensure_checkov ;;
  apply) "$PY" -m pokecard.aws.infra apply "${1:-local}" ;;
  down) "$PY" -m pokecard.aws.infra down ;;
  *)
    echo "usage: bash scripts/infra.sh lint | checkov | apply [local|prod] | down" >&2
    exit 2
    ;;
esac
