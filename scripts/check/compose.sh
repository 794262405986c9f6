#!/usr/bin/env bash
# Validates docker-compose.yml without a container engine:
#   1. Debian's docker-compose (v1.29, the compose-spec JSON schema) parses
#      and validates it: `docker-compose config`;
#   2. every file or folder it bind-mounts exists in the repository;
#   3. the image versions it defaults to agree with versions.env;
#   4. each service runs the same config file as the native stack
#      (scripts/stack/lib.sh, scripts/pulsar/start.sh), mounted where its
#      command reads it;
#   5. Grafana's provisioning mounts are the dashboards/provisioning folders
#      and the dashboard provider's path is where the JSON files are mounted;
#   6. health checks and start order: every service but the collector (whose
#      image has no shell or HTTP client) and the one-shot orchestrator-init
#      has a health check, and each depends_on names a service that exists;
#   7. keyscope's services: the collector sends spans to the auditor's OTLP
#      port, and every Prometheus target file names a service and the port
#      it serves /metrics on;
#   8. the reference orchestrator: every one of its services is built from
#      example-orchestrator/Dockerfile (a Node 24 image) and runs an entry file
#      that exists; at least three orchestrator replicas, each with its own
#      index and /metrics port (9470 + index) in its health check; every
#      process's /metrics port is a compose scrape target of Prometheus.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

compose_file="$KEYSCOPE_ROOT/docker-compose.yml"
# shellcheck source=../build/apt.sh
source "$KEYSCOPE_ROOT/scripts/build/apt.sh"
# Only its parser is used; no container engine is needed.
ensure_debian_package docker-compose docker-compose

echo "== docker-compose config ($(docker-compose version --short))"
# Unset the version variables (common.sh exports them from versions.env) so
# that the file's own defaults are what gets checked.
resolved="$(cd "$KEYSCOPE_ROOT" && env -u PULSAR_VERSION -u JAEGER_VERSION -u OTELCOL_VERSION \
  -u OTELCOL_CONTRIB_VERSION -u PROMETHEUS_IMAGE_VERSION -u GRAFANA_VERSION docker-compose -f "$compose_file" config)" ||
  die "docker-compose.yml is invalid (see above)"
echo "ok   docker-compose.yml parses and matches the compose schema"

echo "== bind mounts and versions"
RESOLVED="$resolved" ROOT="$KEYSCOPE_ROOT" \
PULSAR_VERSION="$PULSAR_VERSION" JAEGER_VERSION="$JAEGER_VERSION" \
OTELCOL_CONTRIB_VERSION="$OTELCOL_CONTRIB_VERSION" PROMETHEUS_IMAGE_VERSION="$PROMETHEUS_IMAGE_VERSION" \
GRAFANA_VERSION="$GRAFANA_VERSION" python3 - <<'PY'
import os, re, sys
import yaml

config = yaml.safe_load(os.environ["RESOLVED"])
root = os.environ["ROOT"]
failures = []

for name, service in config["services"].items():
    for volume in service.get("volumes", []):
        source = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
        kind = volume.get("type") if isinstance(volume, dict) else ("bind" if source.startswith(("/", ".")) else "volume")
        if kind == "bind" and not os.path.exists(source):
            failures.append(f"{name}: bind-mounted path {os.path.relpath(source, root)} does not exist")
    build = service.get("build")
    if build:
        dockerfile = os.path.join(build["context"], build.get("dockerfile", "Dockerfile"))
        if not os.path.isfile(dockerfile):
            failures.append(f"{name}: Dockerfile {os.path.relpath(dockerfile, root)} does not exist")

def image_tag(service):
    return config["services"][service]["image"].rsplit(":", 1)[1]

jaeger_v1 = re.fullmatch(r"v1\.(\d+)\.(\d+)", os.environ["JAEGER_VERSION"])
# Jaeger publishes each release under two numbers: module v1.N.p is image 2.(N-63).p.
jaeger_image = f"2.{int(jaeger_v1.group(1)) - 63}.{jaeger_v1.group(2)}" if jaeger_v1 else "?"
expected = {
    "pulsar": os.environ["PULSAR_VERSION"],
    "otel-collector": os.environ["OTELCOL_CONTRIB_VERSION"],
    "jaeger": jaeger_image,
    "prometheus": os.environ["PROMETHEUS_IMAGE_VERSION"],
    "grafana": os.environ["GRAFANA_VERSION"],
}
for service, version in expected.items():
    tag = image_tag(service)
    if tag != version:
        failures.append(f"{service}: image tag {tag} but versions.env says {version}; update the default in docker-compose.yml")
    else:
        print(f"ok   {service} image {config['services'][service]['image']} matches versions.env")

def mounts(service):
    """container path -> host path (relative to the repository) of the bind mounts."""
    result = {}
    for volume in config["services"][service].get("volumes", []):
        if isinstance(volume, dict):
            source, target = volume.get("source", ""), volume.get("target", "")
        else:
            source, target = (volume.split(":") + [""])[:2]
        if source.startswith("/"):
            result[target] = os.path.relpath(source, root)
    return result

def command_of(service):
    command = config["services"][service].get("command", [])
    return " ".join(command) if isinstance(command, list) else command

# Same config files as the native stack, each mounted where the command reads it.
same_configs = [
    ("otel-collector", "collector/otel-collector.yaml", None),
    ("jaeger", "collector/jaeger.yaml", None),
    ("prometheus", "collector/prometheus.yml", None),
    ("prometheus", "dashboards/alerts.yml", "/etc/prometheus/alerts.yml"),
    ("pulsar", "pulsar/standalone.conf", None),
]
for service, host_path, expected_target in same_configs:
    targets = [t for t, s in mounts(service).items() if s == host_path]
    if not targets:
        failures.append(f"{service}: does not mount {host_path}, the file the native stack runs")
        continue
    target = targets[0]
    if expected_target is not None and target != expected_target:
        failures.append(f"{service}: {host_path} mounted at {target}, expected {expected_target}")
    elif expected_target is None and target not in command_of(service):
        failures.append(f"{service}: {host_path} mounted at {target}, which its command does not read")
    else:
        print(f"ok   {service} runs {host_path} (at {target})")

# Prometheus loads rule_files relative to prometheus.yml: alerts.yml beside it.
prometheus_mounts = mounts("prometheus")
config_dir = os.path.dirname(next((t for t, s in prometheus_mounts.items() if s == "collector/prometheus.yml"), ""))
with open(os.path.join(root, "collector/prometheus.yml")) as f:
    prometheus_yml = yaml.safe_load(f)
for rule_file in prometheus_yml.get("rule_files", []):
    if os.path.join(config_dir, rule_file) not in prometheus_mounts:
        failures.append(f"prometheus: rule file {rule_file} is not mounted beside prometheus.yml")
if "--enable-feature=exemplar-storage" not in command_of("prometheus"):
    failures.append("prometheus: exemplar storage is not enabled (--enable-feature=exemplar-storage)")

# Grafana provisioning.
grafana = mounts("grafana")
for folder in ("datasources", "dashboards"):
    target = f"/etc/grafana/provisioning/{folder}"
    if grafana.get(target) != f"dashboards/provisioning/{folder}":
        failures.append(f"grafana: {target} should mount dashboards/provisioning/{folder}, mounts {grafana.get(target)}")
    else:
        print(f"ok   grafana provisions {folder} from dashboards/provisioning/{folder}")
with open(os.path.join(root, "dashboards/provisioning/dashboards/dashboards.yml")) as f:
    providers = yaml.safe_load(f)["providers"]
for provider in providers:
    path = provider["options"]["path"]
    host = grafana.get(path)
    jsons = sorted(n for n in os.listdir(os.path.join(root, host)) if n.endswith(".json")) if host else []
    if not jsons:
        failures.append(f"grafana: the dashboard provider reads {path}, where no dashboards/*.json is mounted")
    else:
        print(f"ok   grafana dashboard provider path {path} holds {', '.join(jsons)}")

# Health checks and start order. A service others wait for to complete
# (service_completed_successfully) runs once and exits: no health check.
one_shot = {
    dependency
    for service in config["services"].values()
    for dependency, condition in (service.get("depends_on") or {}).items()
    if condition.get("condition") == "service_completed_successfully"
}
for name, service in config["services"].items():
    if name != "otel-collector" and name not in one_shot and "healthcheck" not in service:
        failures.append(f"{name}: no health check")
    for dependency in service.get("depends_on", {}):
        if dependency not in config["services"]:
            failures.append(f"{name}: depends on unknown service {dependency}")
order = {
    ("grafana", "prometheus"): "service_healthy",
    ("demo", "pulsar"): "service_healthy",
    ("otel-collector", "jaeger"): None,
    ("prometheus", "otel-collector"): None,
    ("demo", "otel-collector"): None,
    ("otel-collector", "keyscope-audit"): None,
    ("keyscope-broker-exporter", "pulsar"): "service_healthy",
    ("orchestrator-init", "pulsar"): "service_healthy",
    ("orchestrator-init", "redis"): "service_healthy",
    ("provider", "orchestrator-init"): "service_completed_successfully",
    ("timer-relay", "orchestrator-init"): "service_completed_successfully",
    ("gateway", "orchestrator-init"): "service_completed_successfully",
    ("gateway", "provider"): "service_healthy",
    ("loadgen", "gateway"): "service_healthy",
    ("loadgen", "timer-relay"): "service_healthy",
}
replicas = sorted(n for n in config["services"] if re.fullmatch(r"orchestrator-\d+", n))
if len(replicas) < 3:
    failures.append(f"orchestrator: {len(replicas)} replicas (orchestrator-N services); the comparison runs three")
for replica in replicas:
    order[(replica, "orchestrator-init")] = "service_completed_successfully"
    order[("loadgen", replica)] = "service_healthy"
for (name, dependency), condition in order.items():
    depends = config["services"][name].get("depends_on", {})
    if dependency not in depends:
        failures.append(f"{name}: should start after {dependency}")
    elif condition and depends[dependency].get("condition") != condition:
        failures.append(f"{name}: should wait for {dependency} to be {condition}")
print("ok   health checks and start order checked")

# keyscope's services, wired to the collector and to Prometheus.
def flag(service, name):
    command = config["services"][service].get("command", [])
    command = command if isinstance(command, list) else command.split()
    return command[command.index(name) + 1] if name in command[:-1] else None

audit_endpoint = config["services"]["otel-collector"].get("environment", {}).get("OTELCOL_AUDIT_ENDPOINT")
expected_endpoint = f"http://keyscope-audit:{flag('keyscope-audit', '--otlp-port')}"
if audit_endpoint != expected_endpoint:
    failures.append(f"otel-collector: OTELCOL_AUDIT_ENDPOINT is {audit_endpoint}, expected {expected_endpoint} (the auditor's --otlp-port)")
else:
    print(f"ok   the collector sends every span to {audit_endpoint}")
for service in ("keyscope-audit", "keyscope-broker-exporter"):
    if flag(service, "--host") != "0.0.0.0":
        failures.append(f"{service}: must listen on 0.0.0.0 (--host) to be reached from other containers")
targets_dir = os.path.join(root, "collector/prometheus-targets/compose")
served = {"keyscope-audit": flag("keyscope-audit", "--metrics-port"), "keyscope-broker-exporter": flag("keyscope-broker-exporter", "--metrics-port")}
for name in sorted(os.listdir(targets_dir)):
    with open(os.path.join(targets_dir, name)) as f:
        groups = yaml.safe_load(f) or []
    for target in (t for g in groups for t in g.get("targets", [])):
        host, _, port = target.rpartition(":")
        if host not in config["services"]:
            failures.append(f"prometheus target {target} ({name}) names no service of docker-compose.yml")
        elif host in served and served[host] != port:
            failures.append(f"prometheus target {target} ({name}): {host} serves /metrics on {served[host]}")
print("ok   Prometheus targets name services and the ports they serve")
# The reference orchestrator's services.
dockerfile_rel = "example-orchestrator/Dockerfile"
with open(os.path.join(root, dockerfile_rel)) as f:
    base = next((line.split()[1] for line in f if line.startswith("FROM ")), "")
if not re.fullmatch(r"node:24(\.[\d.]+)?(-[\w-]+)?", base):
    failures.append(f"{dockerfile_rel}: FROM {base}, expected a Node 24 image (node:24-...)")
role_ports = {"provider": 9465, "gateway": 9466, "timer-relay": 9467, "loadgen": 9468}
orchestrator_services = []
for name, service in config["services"].items():
    build = service.get("build") or {}
    if build.get("dockerfile") != dockerfile_rel:
        continue
    orchestrator_services.append(name)
    command = service.get("command") or []
    entry = command[0] if isinstance(command, list) and command else ""
    if not os.path.isfile(os.path.join(root, "example-orchestrator", entry)):
        failures.append(f"{name}: runs example-orchestrator/{entry}, which does not exist")
    port = role_ports.get(name)
    index = re.fullmatch(r"orchestrator-(\d+)", name)
    if index:
        port = 9470 + int(index.group(1))
        environment = service.get("environment") or {}
        if environment.get("ORCHESTRATOR_INDEX") != index.group(1) or environment.get("ORCHESTRATOR_PROCESS") != name:
            failures.append(f"{name}: ORCHESTRATOR_INDEX / ORCHESTRATOR_PROCESS do not match the service name")
    if port is not None:
        test = " ".join(service.get("healthcheck", {}).get("test", []))
        if f"localhost:{port}/metrics" not in test:
            failures.append(f"{name}: its health check does not probe its /metrics port {port}")
for expected in ["orchestrator-init", "provider", "gateway", "timer-relay", "loadgen", *replicas]:
    if expected not in orchestrator_services:
        failures.append(f"{expected}: missing, or not built from {dockerfile_rel}")
with open(os.path.join(root, "collector/prometheus-targets/compose/app.yml")) as f:
    scraped = {target for group in yaml.safe_load(f) for target in group["targets"]}
for name in orchestrator_services:
    index = re.fullmatch(r"orchestrator-(\d+)", name)
    port = 9470 + int(index.group(1)) if index else role_ports.get(name)
    if port is not None and f"{name}:{port}" not in scraped:
        failures.append(f"{name}: {name}:{port} is not a scrape target in collector/prometheus-targets/compose/app.yml")
print(f"ok   orchestrator services checked: {', '.join(orchestrator_services)}")

for failure in failures:
    print(f"FAIL {failure}")
if failures:
    sys.exit(1)
print("ok   every bind mount and Dockerfile exists")
PY
