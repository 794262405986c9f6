#!/usr/bin/env bash
# The test command (`npm test`): installs what is missing, type-checks, runs
# the unit tests and every check under scripts/check/, starts the real
# components (Pulsar, OpenTelemetry Collector, Jaeger, Prometheus) through
# the same scripts users run, then runs the end-to-end tests against them.
#
#   KEYSCOPE_SKIP_E2E=1 npm test   unit tests and offline checks only
#   KEYSCOPE_KEEP_STACK=1 npm test leave the stack running afterwards
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/common.sh

declare -a stage_names=() stage_secs=()
stage() {
  local name="$1"; shift
  local start=$SECONDS
  log "── $name"
  "$@"
  stage_names+=("$name"); stage_secs+=($(( SECONDS - start )))
}
summary() {
  local rc=$?
  echo
  echo "Stage timings:"
  for i in "${!stage_names[@]}"; do printf '  %-28s %5ss\n' "${stage_names[$i]}" "${stage_secs[$i]}"; done
  if [[ -n "${started_stack:-}" && -z "${KEYSCOPE_KEEP_STACK:-}" ]]; then
    log "stopping the stack this run started"
    bash scripts/stack/down.sh >/dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap summary EXIT

run_checks() {
  local offline="$1" f
  for f in scripts/check/*.sh; do
    [[ -e "$f" ]] || continue
    # Checks that need built binaries say so with a "# needs: stack" line.
    if grep -q '^# needs: stack' "$f"; then [[ "$offline" == yes ]] && continue
    else [[ "$offline" == no ]] && continue; fi
    log "check: $f"
    bash "$f"
  done
}

stage "npm dependencies" bash scripts/ensure-deps.sh
stage "typecheck" npx tsc -p tsconfig.json --noEmit
stage "offline checks" run_checks yes
stage "unit tests" npx vitest run --project unit
if [[ -n "${KEYSCOPE_SKIP_E2E:-}" ]]; then
  log "KEYSCOPE_SKIP_E2E is set: skipping the real-component stages"
  exit 0
fi
if ! bash scripts/stack/status.sh >/dev/null 2>&1; then started_stack=1; fi
stage "stack up (build, start)" bash scripts/stack/up.sh
stage "checks with built tools" run_checks no
stage "chromium (report check)" bash scripts/build/chromium.sh
stage "end-to-end tests" npx vitest run --project e2e
