#!/usr/bin/env bash
# Starts Redis on 127.0.0.1:$REDIS_PORT (6379) for the reference orchestrator:
# its state store in every mode and its lock in shared_redis_lock. The server
# is Debian's redis-server package (installed when missing); data lives in
# $KEYSCOPE_RUN_DIR/redis with an append-only file, so a restart keeps the
# state, as a production store would. Idempotent.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$script_dir/../lib/common.sh"
# shellcheck source=../build/apt.sh
source "$KEYSCOPE_ROOT/scripts/build/apt.sh"
# shellcheck source=env.sh
source "$script_dir/env.sh"

ensure_debian_package redis-server redis-server
version="$(redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')"
major="${version%%.*}"
(( major >= REDIS_MIN_MAJOR )) ||
  die "redis-server $version is too old: the orchestrator needs Redis $REDIS_MIN_MAJOR or newer (streams, Lua)"

if pid="$(redis_pid)"; then
  if redis_ping; then
    log "redis: already running (pid $pid, port $REDIS_PORT)"
    exit 0
  fi
else
  rm -f "$redis_pid_file"
  if port_in_use "$REDIS_PORT"; then
    die "redis: port $REDIS_PORT is taken by a process this stack did not start. Stop it, or choose another port: REDIS_PORT=<port> npm run stack:up"
  fi
  mkdir -p "$redis_dir"
  printf '\n===== %s: starting redis-server %s on 127.0.0.1:%s\n' "$(date -Is)" "$version" "$REDIS_PORT" >>"$redis_log_file"
  # No config file: every setting is on the command line, so what runs is
  # what this script says. protected-mode stays on; it binds loopback only.
  setsid nohup redis-server \
    --bind 127.0.0.1 --port "$REDIS_PORT" \
    --dir "$redis_dir" \
    --appendonly yes --appendfsync everysec \
    --save '' \
    --maxmemory "${REDIS_MAXMEMORY:-512mb}" --maxmemory-policy noeviction \
    --daemonize no \
    >>"$redis_log_file" 2>&1 </dev/null &
  echo $! >"$redis_pid_file"
fi
if ! wait_for 30 "redis" redis_ping; then
  tail -n 20 "$redis_log_file" >&2 || true
  die "redis did not answer PING within 30s (log: $redis_log_file)"
fi
log "redis: running (pid $(cat "$redis_pid_file"), redis-server $version, port $REDIS_PORT)"
