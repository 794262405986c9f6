#!/usr/bin/env bash
# Builds the package and uses it the way an installed copy is used: through
# its `exports` map, from a folder outside the source tree, with the
# published file list only (npm pack), so a broken entry point, a missing
# file or a missing declaration fails here rather than for users.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$KEYSCOPE_ROOT"

log "npm run build"
npm run --silent build
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
mkdir -p "$work/app/node_modules/pulsar-keyscope"
tar -xzf "$work/$tarball" -C "$work/app/node_modules/pulsar-keyscope" --strip-components=1
# Dependencies come from this checkout, as an installer would provide them.
for dep in "$KEYSCOPE_ROOT"/node_modules/*; do
  name="$(basename "$dep")"
  [[ "$name" == pulsar-keyscope || -e "$work/app/node_modules/$name" ]] || ln -s "$dep" "$work/app/node_modules/$name"
done
cat >"$work/app/check.mjs" <<'JS'
import { Keyscope, WebSocketClient, PulsarInstrumentation, KeyscopeConfigError, VERSION } from 'pulsar-keyscope';
import { Registry } from 'prom-client';
const registry = new Registry();
const keyscope = new Keyscope({ registry });
for (const [name, value] of Object.entries({ Keyscope, WebSocketClient, PulsarInstrumentation, KeyscopeConfigError })) {
  if (typeof value !== 'function') throw new Error(`export ${name} is missing`);
}
const text = await registry.metrics();
if (!text.includes('keyscope_tracked_keys')) throw new Error('metrics were not registered');
keyscope.close();
console.log(`ok   pulsar-keyscope ${VERSION} imports from its packed tarball and registers its metrics`);
JS
(cd "$work/app" && node check.mjs)
cat >"$work/app/ops.mjs" <<'JS'
import { Auditor, startAuditService } from 'pulsar-keyscope/audit';
import { keyTimeline } from 'pulsar-keyscope/timeline';
import { BrokerExporter } from 'pulsar-keyscope/broker-exporter';
for (const [name, value] of Object.entries({ Auditor, startAuditService, keyTimeline, BrokerExporter })) {
  if (typeof value !== 'function') throw new Error(`ops export ${name} is missing`);
}
const service = await startAuditService({ otlpPort: 0, metricsPort: 0 });
const text = await (await fetch(service.metricsUrl)).text();
await service.close();
if (!text.includes('keyscope_audit_spans_total')) throw new Error('the audit service serves no keyscope_audit_* metrics');
console.log('ok   pulsar-keyscope/audit, /timeline and /broker-exporter import from the packed tarball; the audit service serves /metrics');
JS
(cd "$work/app" && node ops.mjs)
# The bin as npm links it: the declared file, with a node shebang, runs each subcommand's --help.
bin="$(cd "$work/app/node_modules/pulsar-keyscope" && node -p "require('./package.json').bin.keyscope")"
bin_path="$work/app/node_modules/pulsar-keyscope/$bin"
[[ -f "$bin_path" ]] || die "the packed package has no $bin (package.json bin.keyscope)"
[[ "$(head -n 1 "$bin_path")" == '#!/usr/bin/env node' ]] || die "$bin does not start with a node shebang"
chmod +x "$bin_path"
for command in audit timeline broker-exporter; do
  (cd "$work/app" && "$bin_path" "$command" --help) | grep -q "Usage: keyscope $command" || die "keyscope $command --help does not print its usage"
done
echo "ok   the keyscope bin runs from the packed tarball (audit, timeline, broker-exporter --help)"
[[ -f "$work/app/node_modules/pulsar-keyscope/dist/index.d.ts" ]] || die "the packed package has no dist/index.d.ts"
echo "ok   the packed package ships type declarations ($(tar -tzf "$work/$tarball" | wc -l) files)"
