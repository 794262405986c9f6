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

# pulsar_running -> 0 when the pid file names a live standalone broker
# (a recycled pid that belongs to another program does not count).
pulsar_running() {
  pid_alive "$pulsar_pid_file" || return 1
  ps -p "$(cat "$pulsar_pid_file")" -o args= 2>/dev/null | grep -q "$pulsar_main_class"
}

pulsar_pid() { cat "$pulsar_pid_file" 2>/dev/null; }
