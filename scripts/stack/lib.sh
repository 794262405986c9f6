#!/usr/bin/env bash
# Helpers shared by scripts/stack/*.sh and the checks: where each service of
# the native stack keeps its pid file and log, how it is probed, and how the
# Prometheus folder is laid out. Source it after scripts/lib/common.sh.

# shellcheck source=../build/go-env.sh
source "$KEYSCOPE_ROOT/scripts/build/go-env.sh"

# Which collector config the native stack runs (the tail-sampling variant is
# collector/otel-collector.tail-sampling.yaml).
OTELCOL_CONFIG="${OTELCOL_CONFIG:-$KEYSCOPE_ROOT/collector/otel-collector.yaml}"
JAEGER_CONFIG="$KEYSCOPE_ROOT/collector/jaeger.yaml"
PROMETHEUS_BIN="${PROMETHEUS_BIN:-$(command -v prometheus || echo /usr/bin/prometheus)}"
PROMETHEUS_DIR="$KEYSCOPE_RUN_DIR/prometheus"
# The reference orchestrator's /metrics ports (example-orchestrator/README.md):
# provider, gateway, timer relay and load generator from
# ORCHESTRATOR_METRICS_PORT on, then up to ten orchestrator consumers from
# ORCHESTRATOR_METRICS_PORT + 5. Ports of processes not running are just down.
orchestrator_targets() {
  local base="$ORCHESTRATOR_METRICS_PORT" list="" offset
  for offset in 0 1 2 3 5 6 7 8 9 10 11 12 13 14; do
    list+="${list:+,}127.0.0.1:$(( base + offset ))"
  done
  echo "$list"
}
# Extra /metrics endpoints for Prometheus, comma-separated host:port: the
# demo app or your own service, and the orchestrator's processes.
KEYSCOPE_APP_TARGETS="${KEYSCOPE_APP_TARGETS:-127.0.0.1:$APP_METRICS_PORT,$(orchestrator_targets)}"

pid_file() { echo "$KEYSCOPE_RUN_DIR/$1.pid"; }
log_file() { echo "$KEYSCOPE_LOG_DIR/$1.log"; }

http_ok() { curl -fsS --max-time 2 -o /dev/null "$1"; }

collector_ready() { http_ok "http://127.0.0.1:$OTELCOL_HEALTH_PORT/"; }
jaeger_ready() { http_ok "http://127.0.0.1:$JAEGER_UI_PORT/api/services"; }
prometheus_ready() { http_ok "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"; }
audit_ready() { http_ok "http://127.0.0.1:$KEYSCOPE_AUDIT_METRICS_PORT/metrics"; }
broker_exporter_ready() { http_ok "http://127.0.0.1:$KEYSCOPE_BROKER_EXPORTER_PORT/metrics"; }

# keyscope_cli_command : prints nothing; sets KEYSCOPE_CLI to the keyscope
# command from this checkout's sources (TypeScript through tsx's loader,
# resolved from the repository root) on the Node that ensure_node chose.
keyscope_cli_command() {
  KEYSCOPE_CLI=(env -C "$KEYSCOPE_ROOT" "$(command -v node)" --import tsx src/cli/main.ts)
}

# yaml_targets "h:p,h:p" -> a file_sd target list
yaml_targets() {
  local list="" target
  IFS=',' read -r -a targets <<<"$1"
  for target in "${targets[@]}"; do
    [[ -n "$target" ]] && list+="${list:+, }\"$target\""
  done
  printf -- '- targets: [%s]\n' "$list"
}

# Lays out DIR the way collector/prometheus.yml expects (see its header):
# the config and dashboards/alerts.yml linked in, targets/ generated for the
# native ports. Links, not copies: Prometheus runs exactly the repo's files.
prepare_prometheus_dir() {
  local dir="$1"
  mkdir -p "$dir/targets"
  ln -sfn "$KEYSCOPE_ROOT/collector/prometheus.yml" "$dir/prometheus.yml"
  if [[ -f "$KEYSCOPE_ROOT/dashboards/alerts.yml" ]]; then
    ln -sfn "$KEYSCOPE_ROOT/dashboards/alerts.yml" "$dir/alerts.yml"
  else
    rm -f "$dir/alerts.yml"
  fi
  yaml_targets "127.0.0.1:$OTELCOL_PROMETHEUS_PORT" >"$dir/targets/otel-collector.yml.tmp"
  yaml_targets "127.0.0.1:$OTELCOL_TELEMETRY_PORT" >"$dir/targets/otel-collector-internal.yml.tmp"
  yaml_targets "$KEYSCOPE_APP_TARGETS" >"$dir/targets/app.yml.tmp"
  yaml_targets "127.0.0.1:$PULSAR_WEB_PORT" >"$dir/targets/pulsar.yml.tmp"
  yaml_targets "127.0.0.1:$KEYSCOPE_AUDIT_METRICS_PORT" >"$dir/targets/keyscope-audit.yml.tmp"
  yaml_targets "127.0.0.1:$KEYSCOPE_BROKER_EXPORTER_PORT" >"$dir/targets/keyscope-broker.yml.tmp"
  # Renamed into place so that Prometheus never reads a half-written file.
  local tmp
  for tmp in "$dir"/targets/*.yml.tmp; do mv "$tmp" "${tmp%.tmp}"; done
}

# start_service NAME COMMAND... : runs COMMAND detached (its own session, so
# Ctrl-C in the terminal that ran stack:up or demo does not stop it), output
# appended to the service's log, pid recorded.
start_service() {
  local name="$1"; shift
  local log; log="$(log_file "$name")"
  printf '\n===== %s: starting %s\n' "$(date -Is)" "$*" >>"$log"
  setsid nohup "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$(pid_file "$name")"
}

# stop_service NAME : TERM, then KILL after 15 s; removes the pid file.
stop_service() {
  local name="$1" pidfile pid
  pidfile="$(pid_file "$name")"
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"
    log "$name: not running"
    return 0
  fi
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if (( waited >= 15 )); then
      log "$name: still running after 15s, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 1; waited=$(( waited + 1 ))
  done
  rm -f "$pidfile"
  log "$name: stopped (pid $pid)"
}
