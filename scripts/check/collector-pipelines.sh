#!/usr/bin/env bash
# Checks what the collector configs promise, beyond "the collector accepts
# them" (scripts/check/collector-configs.sh):
#   - OTLP in over gRPC and HTTP;
#   - memory_limiter first and batch in every pipeline;
#   - traces go to Jaeger over OTLP (default endpoint: the native Jaeger's
#     OTLP gRPC port) and, unsampled, into the span_metrics connector with
#     exemplars on;
#   - metrics leave through the Prometheus exporter in OpenMetrics format;
#   - every span reaches the keyscope auditor over OTLP/HTTP (default: the
#     native auditor's port), never after sampling;
#   - the tail-sampling variant keeps errors, slow traces and a small
#     baseline percentage, and samples only the Jaeger path.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

ROOT="$KEYSCOPE_ROOT" JAEGER_OTLP_GRPC_PORT="$JAEGER_OTLP_GRPC_PORT" KEYSCOPE_AUDIT_OTLP_PORT="$KEYSCOPE_AUDIT_OTLP_PORT" python3 - <<'PY'
import os, re, sys
import yaml

root = os.environ["ROOT"]
failures = []

def default_of(value):
    """`${env:VAR:-default}` -> default; anything else unchanged."""
    match = re.fullmatch(r"\$\{env:[A-Z0-9_]+:-(.*)\}", str(value))
    return match.group(1) if match else str(value)

def check(ok, message, name):
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {message}")
    if not ok:
        failures.append(f"{name}: {message}")

def check_common(name, config):
    protocols = config["receivers"]["otlp"]["protocols"]
    check({"grpc", "http"} <= set(protocols), "OTLP receiver over gRPC and HTTP", name)
    pipelines = config["service"]["pipelines"]
    for pid, pipeline in pipelines.items():
        processors = pipeline.get("processors", [])
        check(processors[:1] == ["memory_limiter"], f"pipeline {pid} starts with memory_limiter", name)
        check("batch" in processors, f"pipeline {pid} batches", name)
    check(config["connectors"]["span_metrics"]["exemplars"]["enabled"] is True, "span_metrics exemplars enabled", name)
    check(config["exporters"]["prometheus"].get("enable_open_metrics") is True, "Prometheus exporter in OpenMetrics format", name)
    jaeger = [e for e in config["exporters"] if e.split("/")[0] in ("otlp", "otlp_grpc") and "jaeger" in e]
    check(len(jaeger) == 1, "one OTLP exporter for Jaeger", name)
    if jaeger:
        endpoint = default_of(config["exporters"][jaeger[0]]["endpoint"])
        expected = f"127.0.0.1:{os.environ['JAEGER_OTLP_GRPC_PORT']}"
        check(endpoint == expected, f"Jaeger exporter defaults to {expected} (is {endpoint})", name)
    traces = {pid: p for pid, p in pipelines.items() if pid.split("/")[0] == "traces"}
    exports = [e for p in traces.values() for e in p["exporters"]]
    check(jaeger[:1] and jaeger[0] in exports, "traces exported to Jaeger", name)
    check("span_metrics" in exports, "traces fed into span_metrics", name)
    metrics = [p for pid, p in pipelines.items() if pid.split("/")[0] == "metrics"]
    check(any("span_metrics" in p["receivers"] and "prometheus" in p["exporters"] for p in metrics),
          "span metrics leave through the Prometheus exporter", name)
    audit = [e for e in config["exporters"] if e.split("/")[0] == "otlp_http" and "audit" in e]
    check(len(audit) == 1, "one OTLP/HTTP exporter for the keyscope auditor", name)
    if audit:
        endpoint = default_of(config["exporters"][audit[0]]["endpoint"])
        expected = f"http://127.0.0.1:{os.environ['KEYSCOPE_AUDIT_OTLP_PORT']}"
        check(endpoint == expected, f"auditor exporter defaults to {expected} (is {endpoint})", name)
        feeding = [pid for pid, p in traces.items() if audit[0] in p["exporters"]]
        check(len(feeding) == 1, "one traces pipeline feeds the auditor", name)
        for pid in feeding:
            processors = traces[pid].get("processors", [])
            check(not any(p.split("/")[0] in ("tail_sampling", "probabilistic_sampler") for p in processors),
                  f"{pid} feeds the auditor every span (no sampling before it)", name)
    return traces, jaeger[0] if jaeger else None

main = yaml.safe_load(open(os.path.join(root, "collector/otel-collector.yaml")))
check_common("otel-collector.yaml", main)

name = "otel-collector.tail-sampling.yaml"
variant = yaml.safe_load(open(os.path.join(root, "collector", name)))
traces, jaeger = check_common(name, variant)
for pid, pipeline in traces.items():
    sampled = "tail_sampling" in pipeline.get("processors", [])
    if "span_metrics" in pipeline["exporters"]:
        check(not sampled, f"{pid} feeds span_metrics without sampling (exact rates)", name)
    if jaeger in pipeline["exporters"]:
        check(sampled, f"{pid} samples what goes to Jaeger", name)
policies = variant["processors"]["tail_sampling"]["policies"]
by_type = {p["type"]: p for p in policies}
check(len(policies) == len(by_type) == 3, "three policies (OR-ed): errors, slow, baseline", name)
check(by_type.get("status_code", {}).get("status_code", {}).get("status_codes") == ["ERROR"], "keeps every ERROR trace", name)
slow_ms = float(default_of(by_type.get("latency", {}).get("latency", {}).get("threshold_ms", "nan")))
check(0 < slow_ms <= 10_000, f"keeps every trace slower than {slow_ms:g} ms", name)
baseline = float(default_of(by_type.get("probabilistic", {}).get("probabilistic", {}).get("sampling_percentage", "nan")))
check(0 < baseline <= 10, f"keeps a small baseline of {baseline:g} %", name)

if failures:
    sys.exit(f"{len(failures)} collector config promise(s) broken")
PY
