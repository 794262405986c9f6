#!/usr/bin/env bash
# Settings shared by scripts/pulsar/*.sh. Source it after scripts/lib/common.sh.

# JVM options of the broker; override the whole set with PULSAR_JAVA_OPTS.
# A small heap is plenty for a development broker; direct memory holds
# Netty buffers and the bookie's caches.
PULSAR_MEMORY_OPTS="${PULSAR_MEMORY_OPTS:--Xms256m -Xmx1g -XX:MaxDirectMemorySize=512m}"
# Seconds to wait for the broker to become ready, and to stop.
PULSAR_START_TIMEOUT="${PULSAR_START_TIMEOUT:-180}"
PULSAR_STOP_TIMEOUT="${PULSAR_STOP_TIMEOUT:-30}"

pulsar_run_dir="$KEYSCOPE_RUN_DIR/pulsar"
pulsar_pid_file="$pulsar_run_dir/pulsar.pid"
pulsar_effective_conf="$pulsar_run_dir/standalone.conf"
pulsar_data_dir="$pulsar_run_dir/data"
pulsar_log_file="$KEYSCOPE_LOG_DIR/pulsar.log"
pulsar_console_file="$KEYSCOPE_LOG_DIR/pulsar.out"
pulsar_web_url="http://127.0.0.1:$PULSAR_WEB_PORT"
pulsar_main_class="org.apache.pulsar.PulsarStandaloneStarter"

# pulsar_pid -> prints the pid of the standalone broker of this run folder.
# The pid file is a cache: a broker started with this run folder's
# configuration is found by its command line even if the file went missing,
# and a pid recycled by another program does not count.
pulsar_pid() {
  local pid
  pid="$(cat "$pulsar_pid_file" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && ps -p "$pid" -o args= 2>/dev/null | grep -qF -- "--config $pulsar_effective_conf"; then
    printf '%s\n' "$pid"
    return 0
  fi
  pid="$(ps -eo pid=,args= 2>/dev/null \
    | grep -F "$pulsar_main_class" | grep -F -- "--config $pulsar_effective_conf" | grep -v grep \
    | awk 'NR == 1 { print $1 }')"
  [[ -n "$pid" ]] || return 1
  printf '%s\n' "$pid" >"$pulsar_pid_file" 2>/dev/null || true
  printf '%s\n' "$pid"
}

# pulsar_running -> 0 when the standalone broker of this run folder runs.
pulsar_running() { pulsar_pid >/dev/null; }
