#!/usr/bin/env bash
# Validates docker-compose.yml without a container engine:
#   1. Debian's docker-compose (v1.29, the compose-spec JSON schema) parses
#      and validates it: `docker-compose config`;
#   2. every file or folder it bind-mounts exists in the repository;
#   3. the image versions it defaults to agree with versions.env.
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
  -u OTELCOL_CONTRIB_VERSION docker-compose -f "$compose_file" config)" ||
  die "docker-compose.yml is invalid (see above)"
echo "ok   docker-compose.yml parses and matches the compose schema"

echo "== bind mounts and versions"
RESOLVED="$resolved" ROOT="$KEYSCOPE_ROOT" \
PULSAR_VERSION="$PULSAR_VERSION" JAEGER_VERSION="$JAEGER_VERSION" \
OTELCOL_CONTRIB_VERSION="$OTELCOL_CONTRIB_VERSION" python3 - <<'PY'
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
}
for service, version in expected.items():
    tag = image_tag(service)
    if tag != version:
        failures.append(f"{service}: image tag {tag} but versions.env says {version}; update the default in docker-compose.yml")
    else:
        print(f"ok   {service} image {config['services'][service]['image']} matches versions.env")

for failure in failures:
    print(f"FAIL {failure}")
if failures:
    sys.exit(1)
print("ok   every bind mount and Dockerfile exists")
PY
