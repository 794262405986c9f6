#!/usr/bin/env bash
# npm run stack:up — starts the native observability stack on 127.0.0.1:
#   Jaeger v2 (query/UI :16686, OTLP :14317/:14318), the OpenTelemetry
#   Collector (OTLP :4317/:4318, Prometheus exporter :8889, own metrics :8888,
#   health :13133), Prometheus (:9090) and the Pulsar standalone broker
#   (web/admin/metrics :8080, binary :6650), each with the repo's config file,
#   and keyscope's own services: the cross-consumer auditor (OTLP/HTTP :4319,
#   /metrics :9465; the collector sends it every span) and the broker
#   exporter (/metrics :9466, Key_Shared state from the admin API), and
#   Redis (:6379, the reference orchestrator's store).
# Missing prerequisites are installed or built first (Prometheus from Debian's
# package, the collector and Jaeger from the Go module proxy into
# $KEYSCOPE_CACHE). Running it again leaves running services alone.
# Logs: $KEYSCOPE_LOG_DIR/<service>.log. Ports: scripts/lib/common.sh.
#
# Options: --without-pulsar  start only the observability services
#          --build-only      install/build prerequisites, start nothing
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$KEYSCOPE_ROOT/scripts/stack/lib.sh"
# shellcheck source=../build/apt.sh
source "$KEYSCOPE_ROOT/scripts/build/apt.sh"
# shellcheck source=../node/ensure.sh
source "$KEYSCOPE_ROOT/scripts/node/ensure.sh"

with_pulsar=true
build_only=false
for arg in "$@"; do
  case "$arg" in
    --without-pulsar) with_pulsar=false ;;
    --build-only) build_only=true ;;
    *) die "unknown option $arg (known: --without-pulsar, --build-only)" ;;
  esac
done

total_started=$SECONDS
command -v curl >/dev/null || die "curl is needed to probe the services: apt-get install -y curl"

# --- prerequisites -----------------------------------------------------------
step_started=$SECONDS
# Pulsar's first download from Maven Central is network-bound and the Go
# builds are CPU-bound: on a fresh machine, run the download meanwhile.
resolve_pid=""
if $with_pulsar && [[ -f "$KEYSCOPE_ROOT/scripts/pulsar/resolve.sh" ]]; then
  bash "$KEYSCOPE_ROOT/scripts/pulsar/resolve.sh" >"$KEYSCOPE_LOG_DIR/pulsar-resolve.log" 2>&1 &
  resolve_pid=$!
fi
if [[ ! -x "$PROMETHEUS_BIN" ]]; then
  ensure_debian_package prometheus prometheus
  PROMETHEUS_BIN="$(command -v prometheus)"
  # With systemd, the package also starts its own service on :9090. We never
  # use it; we run our own Prometheus process with our config, and say so
  # when the two would collide.
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]] &&
     systemctl is-active --quiet prometheus 2>/dev/null; then
    log "prometheus: note: the package started the system service 'prometheus' on :9090;"
    log "  stop it with 'sudo systemctl disable --now prometheus' or set PROMETHEUS_PORT"
  fi
fi
bash "$KEYSCOPE_ROOT/scripts/build/jaeger.sh" >/dev/null
bash "$KEYSCOPE_ROOT/scripts/build/collector.sh" >/dev/null
# The keyscope services run from this checkout's sources on a supported Node.
ensure_node
(cd "$KEYSCOPE_ROOT" && bash scripts/ensure-deps.sh)
keyscope_cli_command
if [[ -n "$resolve_pid" ]] && ! wait "$resolve_pid"; then
  tail -n 20 "$KEYSCOPE_LOG_DIR/pulsar-resolve.log" >&2
  die "downloading Pulsar failed (log: $KEYSCOPE_LOG_DIR/pulsar-resolve.log)"
fi
# The Java client and agent of the interoperability test, cached after the
# first run. Not beside the other downloads: Maven's local repository and
# apt (a JDK when only a JRE is installed) do not take two users at once.
if $with_pulsar && ! bash "$KEYSCOPE_ROOT/scripts/interop/java.sh" >"$KEYSCOPE_LOG_DIR/java-interop.log" 2>&1; then
  tail -n 20 "$KEYSCOPE_LOG_DIR/java-interop.log" >&2
  die "preparing the Java interoperability test failed (log: $KEYSCOPE_LOG_DIR/java-interop.log)"
fi
log "prerequisites ready after $(( SECONDS - step_started ))s"
$build_only && exit 0

# --- services ----------------------------------------------------------------
# ensure_service NAME PORT PORT_VARIABLE READY_FUNCTION COMMAND...
ensure_service() {
  local name="$1" port="$2" port_var="$3" ready="$4"; shift 4
  local pidfile
  pidfile="$(pid_file "$name")"
  if pid_alive "$pidfile"; then
    if "$ready"; then
      log "$name: already running (pid $(cat "$pidfile"))"
      return 0
    fi
    log "$name: running (pid $(cat "$pidfile")) but not ready yet"
  else
    rm -f "$pidfile"
    if port_in_use "$port"; then
      die "$name: port $port is taken by a process this stack did not start. Stop it, or choose another port: $port_var=<port> npm run stack:up"
    fi
    start_service "$name" "$@"
  fi
  if ! wait_for 60 "$name" "$ready"; then
    tail -n 20 "$(log_file "$name")" >&2 || true
    die "$name did not become ready within 60s (log: $(log_file "$name"))"
  fi
  pid_alive "$pidfile" || die "$name exited (log: $(log_file "$name"))"
}

step_started=$SECONDS
JAEGER_OTLP_GRPC_ENDPOINT="127.0.0.1:$JAEGER_OTLP_GRPC_PORT" \
JAEGER_OTLP_HTTP_ENDPOINT="127.0.0.1:$JAEGER_OTLP_HTTP_PORT" \
JAEGER_QUERY_HTTP_ENDPOINT="127.0.0.1:$JAEGER_UI_PORT" \
JAEGER_QUERY_GRPC_ENDPOINT="127.0.0.1:$JAEGER_QUERY_GRPC_PORT" \
  ensure_service jaeger "$JAEGER_UI_PORT" JAEGER_UI_PORT jaeger_ready \
    "$JAEGER_BIN" --config "file:$JAEGER_CONFIG"

# Before the collector, so that its first exports to the auditor land.
ensure_service keyscope-audit "$KEYSCOPE_AUDIT_METRICS_PORT" KEYSCOPE_AUDIT_METRICS_PORT audit_ready \
  "${KEYSCOPE_CLI[@]}" audit --otlp-port "$KEYSCOPE_AUDIT_OTLP_PORT" --metrics-port "$KEYSCOPE_AUDIT_METRICS_PORT"

OTELCOL_OTLP_GRPC_ENDPOINT="127.0.0.1:$OTELCOL_OTLP_GRPC_PORT" \
OTELCOL_OTLP_HTTP_ENDPOINT="127.0.0.1:$OTELCOL_OTLP_HTTP_PORT" \
OTELCOL_PROMETHEUS_ENDPOINT="127.0.0.1:$OTELCOL_PROMETHEUS_PORT" \
OTELCOL_HEALTH_ENDPOINT="127.0.0.1:$OTELCOL_HEALTH_PORT" \
OTELCOL_JAEGER_ENDPOINT="127.0.0.1:$JAEGER_OTLP_GRPC_PORT" \
OTELCOL_AUDIT_ENDPOINT="http://127.0.0.1:$KEYSCOPE_AUDIT_OTLP_PORT" \
OTELCOL_TELEMETRY_HOST=127.0.0.1 \
  ensure_service otelcol "$OTELCOL_OTLP_HTTP_PORT" OTELCOL_OTLP_HTTP_PORT collector_ready \
    "$OTELCOL_BIN" --config "$OTELCOL_CONFIG"

prepare_prometheus_dir "$PROMETHEUS_DIR"
ensure_service prometheus "$PROMETHEUS_PORT" PROMETHEUS_PORT prometheus_ready \
  "$PROMETHEUS_BIN" \
    --config.file="$PROMETHEUS_DIR/prometheus.yml" \
    --storage.tsdb.path="$PROMETHEUS_DIR/data" \
    --storage.tsdb.retention.time=2d \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    --web.enable-lifecycle \
    --enable-feature=exemplar-storage
# Polls the broker; until the broker is up it counts scrape errors and keeps trying.
ensure_service keyscope-broker-exporter "$KEYSCOPE_BROKER_EXPORTER_PORT" KEYSCOPE_BROKER_EXPORTER_PORT broker_exporter_ready \
  "${KEYSCOPE_CLI[@]}" broker-exporter --admin-url "http://127.0.0.1:$PULSAR_WEB_PORT" --metrics-port "$KEYSCOPE_BROKER_EXPORTER_PORT"
log "observability services ready after $(( SECONDS - step_started ))s"

# Redis: the reference orchestrator's state store and lock.
bash "$KEYSCOPE_ROOT/scripts/redis/start.sh"

if $with_pulsar; then
  step_started=$SECONDS
  [[ -f "$KEYSCOPE_ROOT/scripts/pulsar/start.sh" ]] ||
    die "scripts/pulsar/start.sh is missing; run with --without-pulsar to start only the observability services"
  bash "$KEYSCOPE_ROOT/scripts/pulsar/start.sh"
  log "pulsar ready after $(( SECONDS - step_started ))s"
fi

log "stack up in $(( SECONDS - total_started ))s"
cat <<INFO
  Jaeger UI/API    http://127.0.0.1:$JAEGER_UI_PORT
  Prometheus       http://127.0.0.1:$PROMETHEUS_PORT
  OTLP (collector) grpc 127.0.0.1:$OTELCOL_OTLP_GRPC_PORT, http://127.0.0.1:$OTELCOL_OTLP_HTTP_PORT
  Span metrics     http://127.0.0.1:$OTELCOL_PROMETHEUS_PORT/metrics
  keyscope audit   OTLP http://127.0.0.1:$KEYSCOPE_AUDIT_OTLP_PORT/v1/traces, http://127.0.0.1:$KEYSCOPE_AUDIT_METRICS_PORT/metrics
  broker-exporter  http://127.0.0.1:$KEYSCOPE_BROKER_EXPORTER_PORT/metrics
  Redis            redis://127.0.0.1:$REDIS_PORT
  Your app         Prometheus scrapes ${KEYSCOPE_APP_TARGETS//,/, } (/metrics)
  Logs             $KEYSCOPE_LOG_DIR
  Stop             npm run stack:down
INFO
