#!/usr/bin/env bash
# Shared settings for every script under scripts/: where caches, state and
# logs live, which ports the native stack uses, and small helpers.
# Source it; do not run it.

KEYSCOPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC1091
source "$KEYSCOPE_ROOT/versions.env"

# Heavy downloads and builds (Maven jars, Go binaries) live outside the
# repository so that fresh clones on the same machine reuse them.
KEYSCOPE_CACHE="${KEYSCOPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulsar-keyscope}"
# Runtime state (data, pid files, logs) lives in a git-ignored folder.
KEYSCOPE_RUN_DIR="${KEYSCOPE_RUN_DIR:-$KEYSCOPE_ROOT/.run}"
KEYSCOPE_LOG_DIR="${KEYSCOPE_LOG_DIR:-$KEYSCOPE_RUN_DIR/logs}"

# Ports of the native stack (all bound to 127.0.0.1).
PULSAR_WEB_PORT="${PULSAR_WEB_PORT:-8080}"
PULSAR_BROKER_PORT="${PULSAR_BROKER_PORT:-6650}"
OTELCOL_OTLP_GRPC_PORT="${OTELCOL_OTLP_GRPC_PORT:-4317}"
OTELCOL_OTLP_HTTP_PORT="${OTELCOL_OTLP_HTTP_PORT:-4318}"
OTELCOL_PROMETHEUS_PORT="${OTELCOL_PROMETHEUS_PORT:-8889}"
OTELCOL_TELEMETRY_PORT="${OTELCOL_TELEMETRY_PORT:-8888}"
OTELCOL_HEALTH_PORT="${OTELCOL_HEALTH_PORT:-13133}"
JAEGER_UI_PORT="${JAEGER_UI_PORT:-16686}"
JAEGER_QUERY_GRPC_PORT="${JAEGER_QUERY_GRPC_PORT:-16685}"
JAEGER_OTLP_GRPC_PORT="${JAEGER_OTLP_GRPC_PORT:-14317}"
JAEGER_OTLP_HTTP_PORT="${JAEGER_OTLP_HTTP_PORT:-14318}"
PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
APP_METRICS_PORT="${APP_METRICS_PORT:-9464}"
# keyscope's own services: the auditor (OTLP/HTTP in, /metrics) and the broker exporter (/metrics).
KEYSCOPE_AUDIT_OTLP_PORT="${KEYSCOPE_AUDIT_OTLP_PORT:-4319}"
KEYSCOPE_AUDIT_METRICS_PORT="${KEYSCOPE_AUDIT_METRICS_PORT:-9465}"
KEYSCOPE_BROKER_EXPORTER_PORT="${KEYSCOPE_BROKER_EXPORTER_PORT:-9466}"
REDIS_PORT="${REDIS_PORT:-6379}"
# First /metrics port of the reference orchestrator's processes (provider,
# gateway, timer relay, then orchestrator-0.. from base + 5); see
# example-orchestrator/README.md.
ORCHESTRATOR_METRICS_PORT="${ORCHESTRATOR_METRICS_PORT:-9480}"

export KEYSCOPE_ROOT KEYSCOPE_CACHE KEYSCOPE_RUN_DIR KEYSCOPE_LOG_DIR
export NODE_24_VERSION NODE_22_VERSION PROMETHEUS_IMAGE_VERSION GRAFANA_VERSION PULSAR_VERSION JAEGER_VERSION OTELCOL_VERSION OTELCOL_CONTRIB_VERSION PULSAR_CLIENT_VERSION OTEL_JAVAAGENT_VERSION
export PULSAR_WEB_PORT PULSAR_BROKER_PORT OTELCOL_OTLP_GRPC_PORT OTELCOL_OTLP_HTTP_PORT \
  OTELCOL_PROMETHEUS_PORT OTELCOL_TELEMETRY_PORT OTELCOL_HEALTH_PORT JAEGER_UI_PORT JAEGER_QUERY_GRPC_PORT JAEGER_OTLP_GRPC_PORT \
  JAEGER_OTLP_HTTP_PORT PROMETHEUS_PORT APP_METRICS_PORT REDIS_PORT ORCHESTRATOR_METRICS_PORT REDIS_MIN_MAJOR \
  KEYSCOPE_AUDIT_OTLP_PORT KEYSCOPE_AUDIT_METRICS_PORT KEYSCOPE_BROKER_EXPORTER_PORT

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# port_in_use PORT -> 0 when something listens on 127.0.0.1:PORT
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for TIMEOUT_SECONDS DESCRIPTION COMMAND... : polls until COMMAND succeeds
wait_for() {
  local timeout="$1" what="$2"; shift 2
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start >= timeout )); then return 1; fi
    sleep 1
  done
  log "$what ready after $(( SECONDS - start ))s"
}

# pid_alive PIDFILE -> 0 when the process in PIDFILE runs
pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

mkdir -p "$KEYSCOPE_CACHE" "$KEYSCOPE_RUN_DIR" "$KEYSCOPE_LOG_DIR"
