#!/usr/bin/env bash
# Where the stack's Redis keeps its pid, data and log, and how it is probed.
# Source it after scripts/lib/common.sh.

redis_dir="$KEYSCOPE_RUN_DIR/redis"
redis_pid_file="$KEYSCOPE_RUN_DIR/redis.pid"
redis_log_file="$KEYSCOPE_LOG_DIR/redis.log"
REDIS_STOP_TIMEOUT="${REDIS_STOP_TIMEOUT:-15}"

redis_pid() {
  [[ -f "$redis_pid_file" ]] || return 1
  local pid; pid="$(cat "$redis_pid_file")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# redis_ping -> 0 when the server on REDIS_PORT answers PONG
redis_ping() {
  if command -v redis-cli >/dev/null 2>&1; then
    [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
  else
    # The RESP inline command needs no client.
    local reply
    reply="$(exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 && timeout 2 head -c 7 <&3)" 2>/dev/null || return 1
    [[ "$reply" == "+PONG"* ]]
  fi
}
