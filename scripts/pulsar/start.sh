#!/usr/bin/env bash
# Starts a standalone Apache Pulsar broker on loopback, in the background,
# with pulsar/standalone.conf, and waits until it is ready: the admin REST API
# answers its health check and a WebSocket producer can connect.
#
# Idempotent: when the broker already runs, it only waits for it to be ready.
# The first start downloads Pulsar into the per-user cache (resolve.sh).
#
# Environment: PULSAR_WEB_PORT (8080), PULSAR_BROKER_PORT (6650),
# PULSAR_START_TIMEOUT (180 s), PULSAR_MEMORY_OPTS,
# PULSAR_JAVA_OPTS (extra JVM options), JAVA_HOME, KEYSCOPE_CACHE.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$script_dir/../lib/common.sh"
# shellcheck source=env.sh
source "$script_dir/env.sh"

started_at=$SECONDS

print_log_tail() {
  local file
  for file in "$pulsar_log_file" "$pulsar_console_file"; do
    if [[ -s "$file" ]]; then
      printf -- '--- last 40 lines of %s ---\n' "$file" >&2
      tail -n 40 "$file" >&2
      printf -- '---\n' >&2
    fi
  done
}

admin_healthy() {
  [[ "$(curl -s --max-time 5 "$pulsar_web_url/admin/v2/brokers/health")" == "ok" ]]
}

websocket_producer_opens() {
  node "$script_dir/websocket-probe.mjs" \
    "ws://127.0.0.1:$PULSAR_WEB_PORT/ws/v2/producer/persistent/public/default/keyscope-readiness" 5000 \
    2>/dev/null
}

# wait_until_ready: polls both readiness checks within PULSAR_START_TIMEOUT,
# failing at once if the broker process exits.
wait_until_ready() {
  local deadline=$(( SECONDS + PULSAR_START_TIMEOUT ))
  local check
  for check in admin_healthy websocket_producer_opens; do
    until "$check"; do
      if ! pulsar_running; then
        if [[ "$(cat "$pulsar_pid_file" 2>/dev/null)" == "${broker_pid:-}" ]]; then rm -f "$pulsar_pid_file"; fi
        print_log_tail
        die "the Pulsar broker exited during startup; see the log lines above ($pulsar_log_file)."
      fi
      if (( SECONDS >= deadline )); then
        print_log_tail
        return 1
      fi
      sleep 1
    done
  done
}

command -v curl >/dev/null 2>&1 || die "curl is needed to check the broker; install it (Debian: apt-get install curl)."
command -v node >/dev/null 2>&1 || die "node is needed to check the WebSocket API; install Node.js 20 or newer."
[[ -d "$KEYSCOPE_ROOT/node_modules/ws" ]] || die "the 'ws' package is missing; run 'npm install' in $KEYSCOPE_ROOT first."

mkdir -p "$pulsar_run_dir" "$pulsar_data_dir"

# One start at a time: a second caller waits here, then finds it running.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$pulsar_run_dir/start.lock"
  flock -w "$(( PULSAR_START_TIMEOUT + 60 ))" 9 || die "another 'pulsar:start' holds $pulsar_run_dir/start.lock; try again later."
fi

if pulsar_running; then
  log "Pulsar is already running (pid $(pulsar_pid)); checking that it is ready"
  wait_until_ready || die "the running Pulsar broker (pid $(pulsar_pid)) did not become ready within ${PULSAR_START_TIMEOUT}s; stop it with 'npm run pulsar:stop' and start again."
  log "Pulsar $PULSAR_VERSION ready: $pulsar_web_url, pulsar://127.0.0.1:$PULSAR_BROKER_PORT (logs: $pulsar_log_file)"
  exit 0
fi

# Java 17 or newer.
java_bin="java"
[[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && java_bin="$JAVA_HOME/bin/java"
command -v "$java_bin" >/dev/null 2>&1 \
  || die "Java is not installed (no 'java' on PATH and no JAVA_HOME). Pulsar $PULSAR_VERSION needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)."
java_version="$("$java_bin" -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')"
java_major="${java_version%%.*}"
[[ "$java_major" == 1 ]] && java_major="$(cut -d. -f2 <<<"$java_version")"  # 1.8 -> 8
[[ "$java_major" =~ ^[0-9]+$ ]] || die "cannot read the Java version from '$java_bin -version'; Pulsar needs Java 17 or newer."
(( java_major >= 17 )) \
  || die "Java $java_version is too old: Pulsar $PULSAR_VERSION needs Java 17 or newer. Install it, or point JAVA_HOME at one."

# The ports must be free: another program there would answer our checks.
# (The bookie takes a free port on its first start and keeps it.)
for port_name in PULSAR_WEB_PORT PULSAR_BROKER_PORT; do
  port="${!port_name}"
  if port_in_use "$port"; then
    die "port $port ($port_name) on 127.0.0.1 is already in use by another program. Stop it, or choose another port: $port_name=<free port> npm run pulsar:start"
  fi
done

lib_dir="$("$script_dir/resolve.sh")"

# The effective configuration: the template with this run's ports, and the
# loopback interface's name where it is not Linux's "lo".
loopback_interface="lo"
if [[ ! -e /sys/class/net/lo ]] && ifconfig lo0 >/dev/null 2>&1; then loopback_interface="lo0"; fi
sed -e "s/^webServicePort=.*/webServicePort=$PULSAR_WEB_PORT/" \
    -e "s/^brokerServicePort=.*/brokerServicePort=$PULSAR_BROKER_PORT/" \
    -e "s/^listeningInterface=.*/listeningInterface=$loopback_interface/" \
    "$KEYSCOPE_ROOT/pulsar/standalone.conf" >"$pulsar_effective_conf"

# Java 17 keeps JDK internals closed; Pulsar, BookKeeper and Netty read a few.
java_opts=(
  $PULSAR_MEMORY_OPTS
  -XX:+UseG1GC -XX:MaxGCPauseMillis=10 -XX:+ExitOnOutOfMemoryError
  -Dio.netty.leakDetection.level=disabled
  -Dio.netty.tryReflectionSetAccessible=true
  --add-opens java.base/java.io=ALL-UNNAMED
  --add-opens java.base/java.nio=ALL-UNNAMED
  --add-opens java.base/java.util.zip=ALL-UNNAMED
  --add-opens java.base/jdk.internal.misc=ALL-UNNAMED
  --add-opens java.base/jdk.internal.platform=ALL-UNNAMED
  --add-opens java.base/sun.net=ALL-UNNAMED
  --add-opens java.management/sun.management=ALL-UNNAMED
  --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
  -Dlog4j2.configurationFile="$KEYSCOPE_ROOT/pulsar/log4j2.xml"
  -Dkeyscope.pulsar.log.file="$pulsar_log_file"
  ${PULSAR_JAVA_OPTS:-}
)

log "starting Apache Pulsar $PULSAR_VERSION (web port $PULSAR_WEB_PORT, broker port $PULSAR_BROKER_PORT)"
log "  data: $pulsar_data_dir"
log "  logs: $pulsar_log_file (console: $pulsar_console_file)"
: >"$pulsar_console_file"
# setsid (where it exists): the broker outlives this script and ignores
# Ctrl-C in its terminal.
launcher=()
command -v setsid >/dev/null 2>&1 && launcher=(setsid)
(
  cd "$pulsar_run_dir"
  exec 9>&-  # the start lock stays with this script, not with the broker
  exec ${launcher[@]+"${launcher[@]}"} "$java_bin" "${java_opts[@]}" -cp "$lib_dir/*" "$pulsar_main_class" \
    --config "$pulsar_effective_conf" \
    --no-functions-worker --no-stream-storage \
    --bookkeeper-dir "$pulsar_data_dir/bookkeeper" \
    --metadata-dir "$pulsar_data_dir/metadata" \
    </dev/null >>"$pulsar_console_file" 2>&1
) &
broker_pid=$!
echo "$broker_pid" >"$pulsar_pid_file"

if ! wait_until_ready; then
  bash "$script_dir/stop.sh" >/dev/null 2>&1 || true
  die "Pulsar did not become ready within ${PULSAR_START_TIMEOUT}s and was stopped; see the log lines above ($pulsar_log_file)."
fi
log "Pulsar $PULSAR_VERSION ready after $(( SECONDS - started_at ))s (pid $(pulsar_pid))"
log "  admin + metrics + WebSocket: $pulsar_web_url  (ws://127.0.0.1:$PULSAR_WEB_PORT/ws/v2/...)"
log "  binary protocol: pulsar://127.0.0.1:$PULSAR_BROKER_PORT"
log "  logs: $pulsar_log_file"
