#!/usr/bin/env bash
# Type-checks the wrappers against the real pulsar-client API: installs the
# pinned pulsar-client (install scripts disabled: no native download) into a
# cache folder outside the repository, then compiles
# test/compat/real-pulsar-client.ts, which passes real Client / Producer /
# Consumer / Message values through Keyscope and back, against the package's
# own index.d.ts. A drift between our structural types and the client fails.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# PULSAR_CLIENT_VERSION comes from versions.env.
install_dir="$KEYSCOPE_CACHE/pulsar-client-types/$PULSAR_CLIENT_VERSION"
types_file="$install_dir/node_modules/pulsar-client/index.d.ts"

if [[ ! -f "$types_file" ]]; then
  log "installing pulsar-client@$PULSAR_CLIENT_VERSION with --ignore-scripts into $install_dir"
  mkdir -p "$install_dir"
  [[ -f "$install_dir/package.json" ]] || echo '{"name":"pulsar-client-types","private":true}' > "$install_dir/package.json"
  npm install --prefix "$install_dir" --ignore-scripts --no-audit --no-fund --loglevel=error \
    "pulsar-client@$PULSAR_CLIENT_VERSION" >/dev/null \
    || die "could not install pulsar-client@$PULSAR_CLIENT_VERSION from the npm registry"
fi
installed_version="$(node -p "require('$install_dir/node_modules/pulsar-client/package.json').version")"
[[ "$installed_version" == "$PULSAR_CLIENT_VERSION" ]] \
  || die "expected pulsar-client $PULSAR_CLIENT_VERSION in $install_dir, found $installed_version"

work_dir="$KEYSCOPE_RUN_DIR/pulsar-client-types"
mkdir -p "$work_dir"
tsconfig="$work_dir/tsconfig.json"
# Only the compat file is compiled; `pulsar-client` maps to the real
# declarations, so the repository's fallback declarations play no part.
cat > "$tsconfig" <<JSON
{
  "extends": "$KEYSCOPE_ROOT/tsconfig.json",
  "compilerOptions": {
    "noEmit": true,
    "rootDir": "$KEYSCOPE_ROOT",
    "typeRoots": ["$KEYSCOPE_ROOT/node_modules/@types"],
    "paths": { "pulsar-client": ["$types_file"] }
  },
  "include": [],
  "files": ["$KEYSCOPE_ROOT/test/compat/real-pulsar-client.ts"]
}
JSON

tsc="$KEYSCOPE_ROOT/node_modules/.bin/tsc"
[[ -x "$tsc" ]] || die "TypeScript not found: run npm install in $KEYSCOPE_ROOT"

log "type-checking test/compat/real-pulsar-client.ts against pulsar-client@$PULSAR_CLIENT_VERSION index.d.ts"
if ! files="$("$tsc" -p "$tsconfig" --listFiles)"; then
  # Keep the diagnostics, drop the file list (plain paths without a position).
  grep -vE '^/[^(]*$' <<<"$files" >&2 || true
  die "our wrappers do not accept / return real pulsar-client types (see errors above)"
fi
grep -qxF "$types_file" <<<"$files" \
  || die "the real pulsar-client declarations were not part of the program; the check proved nothing"
if grep -q "pulsar-client-fallback" <<<"$files"; then
  die "the fallback declarations leaked into the check"
fi

# The check must be able to fail: a producer missing send() must be rejected.
canary="$work_dir/canary.ts"
cat > "$canary" <<TS
import type { Producer } from 'pulsar-client';
import { Keyscope } from '$KEYSCOPE_ROOT/src/index.js';
declare const broken: Omit<Producer, 'send'>;
export const wrapped = new Keyscope().instrumentProducer(broken);
TS
sed -e "s#\"files\": \[.*\]#\"files\": [\"$canary\"]#" "$tsconfig" > "$work_dir/tsconfig.canary.json"
if "$tsc" -p "$work_dir/tsconfig.canary.json" >/dev/null 2>&1; then
  die "canary compiled: a producer without send() was accepted, so the check cannot detect drift"
fi

echo "ok   wrappers type-check against pulsar-client@$PULSAR_CLIENT_VERSION (and a broken producer is rejected)"
