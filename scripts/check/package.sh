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
import * as root from 'pulsar-keyscope';
import { Keyscope, PulsarInstrumentation, KeyscopeConfigError, KeyscopeError, VERSION } from 'pulsar-keyscope';
import { WebSocketClient, WebSocketClientError } from 'pulsar-keyscope/websocket';
import { Registry } from 'prom-client';
const registry = new Registry();
const keyscope = new Keyscope({ registry });
for (const [name, value] of Object.entries({ Keyscope, WebSocketClient, PulsarInstrumentation, KeyscopeConfigError, KeyscopeError })) {
  if (typeof value !== 'function') throw new Error(`export ${name} is missing`);
}
if ('WebSocketClient' in root) throw new Error('the root entry must export the middleware only; the WebSocket client lives at pulsar-keyscope/websocket');
if (!(new WebSocketClientError('x') instanceof KeyscopeError)) throw new Error('WebSocket client errors must share the KeyscopeError root');
const text = await registry.metrics();
if (!text.includes('keyscope_tracked_keys')) throw new Error('metrics were not registered');
keyscope.close();
console.log(`ok   pulsar-keyscope ${VERSION} imports from its packed tarball (root and /websocket) and registers its metrics`);
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


# A CommonJS application loads the same entry points with require()
# (Node >= 22.12 loads ES modules through require).
cat >"$work/app/check.cjs" <<'JS'
const { Keyscope, VERSION } = require('pulsar-keyscope');
const { WebSocketClient } = require('pulsar-keyscope/websocket');
const { Registry } = require('prom-client');
if (typeof WebSocketClient !== 'function') throw new Error('require("pulsar-keyscope/websocket") has no WebSocketClient');
for (const [path, name] of [['pulsar-keyscope/audit', 'Auditor'], ['pulsar-keyscope/timeline', 'keyTimeline'], ['pulsar-keyscope/broker-exporter', 'BrokerExporter']]) {
  if (typeof require(path)[name] !== 'function') throw new Error(`require("${path}") has no ${name}`);
}
new Keyscope({ registry: new Registry() }).close();
console.log(`ok   require('pulsar-keyscope') and require('pulsar-keyscope/websocket') work from CommonJS (${VERSION})`);
JS
(cd "$work/app" && node --disable-warning=ExperimentalWarning check.cjs)

# An ES module application gets auto-instrumentation through OpenTelemetry's
# loader hook, registered by a --import file (the README's recipe), and a
# diag warning when it starts without it. pulsar-client itself is a native
# addon; a package of its shape stands in for it here.
mkdir -p "$work/app/node_modules/pulsar-client"
cat >"$work/app/node_modules/pulsar-client/package.json" <<'JSON'
{ "name": "pulsar-client", "version": "1.18.0", "main": "index.js" }
JSON
cat >"$work/app/node_modules/pulsar-client/index.js" <<'JS'
class Producer { send(message) { this.sent = message; return Promise.resolve({ toString: () => '1:0:-1' }); } getTopic() { return this.topic; } }
class Client { createProducer(config) { const p = new Producer(); p.topic = config.topic; return Promise.resolve(p); } subscribe() {} createReader() {} }
module.exports = { Client, Producer };
JS
cat >"$work/app/telemetry.mjs" <<'JS'
import { register } from 'node:module';
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PulsarInstrumentation } from 'pulsar-keyscope';
import { Registry } from 'prom-client';
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
registerInstrumentations({ instrumentations: [new PulsarInstrumentation({ registry: new Registry() })] });
JS
cat >"$work/app/app.mjs" <<'JS'
import Pulsar from 'pulsar-client';
const producer = await new Pulsar.Client().createProducer({ topic: 'esm' });
await producer.send({ data: Buffer.from('x') });
const stamped = producer.sent?.properties?.['keyscope-seq'] === '1';
console.log(stamped ? 'instrumented' : 'not instrumented');
setTimeout(() => {}, 1500);
JS
with_hook="$(cd "$work/app" && node --import ./telemetry.mjs app.mjs 2>&1)"
[[ "$with_hook" == *"instrumented"* && "$with_hook" != *"not instrumented"* ]] ||
  die "an ES module application started with --import ./telemetry.mjs was not instrumented: $with_hook"
echo "ok   an ES module application is instrumented through the loader hook (node --import ./telemetry.mjs app.mjs)"
sed -i "s#^register(#// register(#" "$work/app/telemetry.mjs"
without_hook="$(cd "$work/app" && node --import ./telemetry.mjs app.mjs 2>&1)"
[[ "$without_hook" == *"not instrumented"* && "$without_hook" == *"loaded without being instrumented"* ]] ||
  die "without the loader hook, the application should run uninstrumented with one diag warning: $without_hook"
echo "ok   without the loader hook it runs uninstrumented and says so once in the diag log"

[[ -f "$work/app/node_modules/pulsar-keyscope/dist/index.d.ts" ]] || die "the packed package has no dist/index.d.ts"
[[ -f "$work/app/node_modules/pulsar-keyscope/dist/websocket/index.d.ts" ]] || die "the packed package has no dist/websocket/index.d.ts"
map="$work/app/node_modules/pulsar-keyscope/dist/keyscope.js.map"
source_path="$(node -e 'const m=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(require("path").resolve(require("path").dirname(process.argv[1]), m.sources[0]))' "$map")"
[[ -f "$source_path" ]] || die "source maps point at $source_path, which the package does not ship"
echo "ok   the packed package ships type declarations and the sources its maps point at ($(tar -tzf "$work/$tarball" | wc -l) files)"
