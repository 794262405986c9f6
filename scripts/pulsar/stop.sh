#!/usr/bin/env bash
# Stops the standalone broker started by start.sh: SIGTERM, then SIGKILL if it
# has not exited within PULSAR_STOP_TIMEOUT seconds. Idempotent.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$script_dir/../lib/common.sh"
# shellcheck source=env.sh
source "$script_dir/env.sh"

if ! pid="$(pulsar_pid)"; then
  rm -f "$pulsar_pid_file"
  log "Pulsar is not running"
  exit 0
fi

log "stopping Pulsar (pid $pid)"
kill -TERM "$pid" 2>/dev/null || true
deadline=$(( SECONDS + PULSAR_STOP_TIMEOUT ))
while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do
  sleep 0.5
done
if kill -0 "$pid" 2>/dev/null; then
  log "Pulsar did not stop within ${PULSAR_STOP_TIMEOUT}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
fi
rm -f "$pulsar_pid_file"
log "Pulsar stopped"
