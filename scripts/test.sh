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
# shellcheck source=node/ensure.sh
source scripts/node/ensure.sh
# Everything below runs on a supported Node: the system's when it is 22.15
# or newer, else the pinned Node 24 LTS fetched into $KEYSCOPE_CACHE. The
# unit tests run once more on Node 22, the other supported line.
ensure_node

declare -a stage_names=() stage_secs=() stage_nodes=()
# stage NAME COMMAND... : runs COMMAND on the current Node, timed.
# STAGE_NODE=22 stage NAME COMMAND... : the same on the pinned Node 22.
stage() {
  local name="$1"; shift
  local start=$SECONDS version
  version="$( (ensure_node ${STAGE_NODE:-} && node --version) )"
  log "── $name (node $version)"
  if [[ -n "${STAGE_NODE:-}" ]]; then (ensure_node "$STAGE_NODE" && "$@"); else "$@"; fi
  stage_names+=("$name"); stage_secs+=($(( SECONDS - start ))); stage_nodes+=("$version")
}
summary() {
  local rc=$?
  echo
  echo "Stage timings:"
  for i in "${!stage_names[@]}"; do printf '  %-34s %5ss  node %s\n' "${stage_names[$i]}" "${stage_secs[$i]}" "${stage_nodes[$i]}"; done
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
stage "lint (biome, knip)" npm run --silent lint
stage "offline checks" run_checks yes
stage "unit tests" npx vitest run --project unit
STAGE_NODE=22 stage "unit tests on Node 22" npx vitest run --project unit --reporter=dot
if [[ -n "${KEYSCOPE_SKIP_E2E:-}" ]]; then
  log "KEYSCOPE_SKIP_E2E is set: skipping the real-component stages"
  exit 0
fi
if ! bash scripts/stack/status.sh >/dev/null 2>&1; then started_stack=1; fi
stage "stack up (build, start)" bash scripts/stack/up.sh
stage "checks with built tools" run_checks no
stage "chromium (report check)" bash scripts/build/chromium.sh
stage "end-to-end tests" npx vitest run --project e2e
