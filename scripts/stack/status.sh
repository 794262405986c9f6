#!/usr/bin/env bash
# npm run stack:status — one line per service of the native stack; exits 0
# only when every service is running and answering.
set -uo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$KEYSCOPE_ROOT/scripts/stack/lib.sh"

all_up=0
report() {
  local name="$1" ready="$2" url="$3" pidfile state
  pidfile="$(pid_file "$name")"
  if pid_alive "$pidfile" && "$ready"; then
    state="up (pid $(cat "$pidfile"))"
  elif pid_alive "$pidfile"; then
    state="starting or unhealthy (pid $(cat "$pidfile"))"; all_up=1
  else
    state="down"; all_up=1
  fi
  printf '%-24s %-32s %s\n' "$name" "$state" "$url"
}

report jaeger jaeger_ready "http://127.0.0.1:$JAEGER_UI_PORT"
report otelcol collector_ready "otlp grpc :$OTELCOL_OTLP_GRPC_PORT http :$OTELCOL_OTLP_HTTP_PORT, metrics http://127.0.0.1:$OTELCOL_PROMETHEUS_PORT/metrics"
report prometheus prometheus_ready "http://127.0.0.1:$PROMETHEUS_PORT"
report keyscope-audit audit_ready "otlp http://127.0.0.1:$KEYSCOPE_AUDIT_OTLP_PORT/v1/traces, metrics http://127.0.0.1:$KEYSCOPE_AUDIT_METRICS_PORT/metrics"
report keyscope-broker-exporter broker_exporter_ready "http://127.0.0.1:$KEYSCOPE_BROKER_EXPORTER_PORT/metrics"
redis_status="$(bash "$KEYSCOPE_ROOT/scripts/redis/status.sh" 2>&1)" || all_up=1
printf '%-11s %-32s %s\n' redis "${redis_status#redis: }" "redis://127.0.0.1:$REDIS_PORT"
if [[ -f "$KEYSCOPE_ROOT/scripts/pulsar/status.sh" ]]; then
  pulsar_status="$(bash "$KEYSCOPE_ROOT/scripts/pulsar/status.sh" 2>&1)" || all_up=1
  pulsar_line="$(head -n 1 <<<"$pulsar_status")"
  printf '%-24s %-32s %s\n' pulsar "${pulsar_line#pulsar: }" "http://127.0.0.1:$PULSAR_WEB_PORT, pulsar://127.0.0.1:$PULSAR_BROKER_PORT"
else
  printf '%-24s %s\n' pulsar "unknown (scripts/pulsar/status.sh is missing)"; all_up=1
fi
printf 'logs: %s\n' "$KEYSCOPE_LOG_DIR"
exit $all_up
