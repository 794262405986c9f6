#!/usr/bin/env bash
# needs: stack (reads the component list of the collector built by scripts/build/collector.sh)
# The builder manifest must list exactly the components our collector configs
# use: nothing missing (the config would not load) and nothing extra (a
# bigger binary and attack surface for no reason). The built binary's own
# `components` listing maps each gomod line of collector/builder-config.yaml
# to its component type; the configs' types are read from every
# collector/otel-collector*.yaml (the part before "/" of each id referenced
# by the service section).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../build/go-env.sh
source "$KEYSCOPE_ROOT/scripts/build/go-env.sh"

bash "$KEYSCOPE_ROOT/scripts/build/collector.sh" >/dev/null
components="$("$OTELCOL_BIN" components)" || die "could not list the components of $OTELCOL_BIN"

echo "== builder-config.yaml against collector/otel-collector*.yaml"
COMPONENTS="$components" ROOT="$KEYSCOPE_ROOT" \
OTELCOL_VERSION="$OTELCOL_VERSION" OTELCOL_CONTRIB_VERSION="$OTELCOL_CONTRIB_VERSION" python3 - <<'PY'
import glob, os, sys
import yaml

root = os.environ["ROOT"]
KINDS = ["receivers", "processors", "exporters", "connectors", "extensions"]

def render(text):
    return (text.replace("${OTELCOL_VERSION}", os.environ["OTELCOL_VERSION"])
                .replace("${OTELCOL_CONTRIB_VERSION}", os.environ["OTELCOL_CONTRIB_VERSION"]))

manifest = yaml.safe_load(render(open(os.path.join(root, "collector/builder-config.yaml")).read()))
built = yaml.safe_load(os.environ["COMPONENTS"])

def manifest_modules(manifest):
    return {kind: sorted(entry["gomod"] for entry in manifest.get(kind) or []) for kind in KINDS}

def binary_types(built):
    """module "path vX" -> component type, per kind, as the binary reports it."""
    return {kind: {entry["module"]: entry["name"] for entry in built.get(kind) or []} for kind in KINDS}

def used_types(config):
    service = config.get("service", {})
    used = {kind: set() for kind in KINDS}
    used["extensions"].update(i.split("/")[0] for i in service.get("extensions", []))
    for pipeline in service.get("pipelines", {}).values():
        for kind in ("receivers", "processors", "exporters"):
            for component_id in pipeline.get(kind, []):
                component_type = component_id.split("/")[0]
                # A connector is an exporter of one pipeline and a receiver of another.
                target = "connectors" if component_id in (config.get("connectors") or {}) else kind
                used[target].add(component_type)
    return used

def compare(modules, types, used):
    """Returns a list of failure messages; empty when manifest and configs agree."""
    failures = []
    for kind in KINDS:
        manifest_types = set()
        for module in modules[kind]:
            if module not in types[kind]:
                failures.append(f"{kind}: {module} is in the manifest but not in the built binary (stale build?)")
            else:
                manifest_types.add(types[kind][module])
        for missing in sorted(used[kind] - manifest_types):
            failures.append(f"{kind}: the configs use '{missing}' but builder-config.yaml does not list it")
        for extra in sorted(manifest_types - used[kind]):
            failures.append(f"{kind}: builder-config.yaml lists '{extra}' but no collector/otel-collector*.yaml uses it")
        if len(modules[kind]) != len(manifest_types):
            failures.append(f"{kind}: {len(modules[kind])} gomod lines for {len(manifest_types)} component types")
    return failures

configs = sorted(glob.glob(os.path.join(root, "collector/otel-collector*.yaml")))
if not configs:
    sys.exit("FAIL no collector/otel-collector*.yaml found")
used = {kind: set() for kind in KINDS}
for path in configs:
    for kind, names in used_types(yaml.safe_load(open(path))).items():
        used[kind] |= names

modules, types = manifest_modules(manifest), binary_types(built)
failures = compare(modules, types, used)
for kind in KINDS:
    print(f"{'ok  ' if not any(f.startswith(kind) for f in failures) else 'FAIL'} {kind:<11} {', '.join(sorted(used[kind])) or '-'}")

# The comparison must be able to fail: drop one manifest line, add an unused type.
dropped = {k: v[1:] if k == "processors" else v for k, v in modules.items()}
if not compare(dropped, types, used):
    failures.append("self-test: a manifest without one processor was accepted")
widened = {k: set(v) for k, v in used.items()}
widened["receivers"].add("zipkin")
if not compare(modules, types, widened):
    failures.append("self-test: a config using a component the manifest lacks was accepted")

for failure in failures:
    print(f"FAIL {failure}")
if failures:
    sys.exit(1)
print(f"ok   builder-config.yaml lists exactly the {sum(len(v) for v in used.values())} components of {len(configs)} configs")
PY
