#!/usr/bin/env bash
# Stops the Redis started by start.sh (SIGTERM: it finishes its append-only
# file; SIGKILL after REDIS_STOP_TIMEOUT seconds). Idempotent.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$script_dir/../lib/common.sh"
# shellcheck source=env.sh
source "$script_dir/env.sh"

if ! pid="$(redis_pid)"; then
  rm -f "$redis_pid_file"
  log "redis: not running"
  exit 0
fi
kill -TERM "$pid" 2>/dev/null || true
deadline=$(( SECONDS + REDIS_STOP_TIMEOUT ))
while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
if kill -0 "$pid" 2>/dev/null; then
  log "redis: still running after ${REDIS_STOP_TIMEOUT}s, sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$redis_pid_file"
log "redis: stopped (pid $pid)"
