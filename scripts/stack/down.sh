#!/usr/bin/env bash
# npm run stack:down — stops what stack:up started (the broker exporter,
# Prometheus, the collector, the auditor, Jaeger, Redis, then Pulsar). Data
# and logs stay in $KEYSCOPE_RUN_DIR.
# Option: --without-pulsar  leave the broker running.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$KEYSCOPE_ROOT/scripts/stack/lib.sh"

with_pulsar=true
[[ "${1:-}" == "--without-pulsar" ]] && with_pulsar=false

stop_service keyscope-broker-exporter
stop_service prometheus
stop_service otelcol
stop_service keyscope-audit
stop_service jaeger
bash "$KEYSCOPE_ROOT/scripts/redis/stop.sh"
if $with_pulsar; then
  if [[ -f "$KEYSCOPE_ROOT/scripts/pulsar/stop.sh" ]]; then
    bash "$KEYSCOPE_ROOT/scripts/pulsar/stop.sh"
  else
    log "pulsar: scripts/pulsar/stop.sh is missing, nothing to stop"
  fi
fi
