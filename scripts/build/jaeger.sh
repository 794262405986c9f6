#!/usr/bin/env bash
# Builds Jaeger v2 (github.com/jaegertracing/jaeger/cmd/jaeger) at the version
# pinned in versions.env from the Go module proxy into
#   $KEYSCOPE_CACHE/jaeger-<JAEGER_VERSION>/bin/jaeger
# and reuses it on the next run. Pass --force to rebuild anyway.
#
# `go install …@version` refuses modules whose go.mod has replace directives,
# and Jaeger's has one, so the script downloads the module and builds the
# command inside it (with the module's own go.sum) instead.
#
# A binary built from the module proxy has no Jaeger UI assets (they are built
# with npm from a separate repository and are not in the Go module): the UI
# page is a placeholder, the query HTTP API (/api/traces, /api/v3/...) works.
# The jaegertracing/jaeger image in docker-compose.yml ships the full UI.
# Prints the binary path as the last line of output.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=go-env.sh
source "$KEYSCOPE_ROOT/scripts/build/go-env.sh"

force=false
[[ "${1:-}" == "--force" ]] && force=true

if [[ -x "$JAEGER_BIN" && $force == false ]]; then
  progress "jaeger: reusing $JAEGER_BIN"
  echo "$JAEGER_BIN"
  exit 0
fi
require_go

mkdir -p "$JAEGER_BUILD_DIR/bin"
exec 9>"$JAEGER_BUILD_DIR.lock"
flock 9
if [[ -x "$JAEGER_BIN" && $force == false ]]; then
  progress "jaeger: reusing $JAEGER_BIN (built meanwhile)"
  echo "$JAEGER_BIN"
  exit 0
fi

started=$SECONDS
module="github.com/jaegertracing/jaeger@${JAEGER_VERSION}"
progress "jaeger: downloading $module from the Go module proxy"
module_dir="$(go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -d "$module_dir" ]] || die "could not download $module; check JAEGER_VERSION in versions.env and that the Go module proxy is reachable"

progress "jaeger: building cmd/jaeger; a cold build downloads and compiles about a thousand packages, about 5 minutes on 2 cores (log: $JAEGER_BUILD_DIR/build.log)"
tmp_bin="$JAEGER_BIN.tmp.$$"
if ! run_with_heartbeat jaeger "$JAEGER_BUILD_DIR/build.log" go -C "$module_dir" build -trimpath -ldflags "-s -w" -o "$tmp_bin" ./cmd/jaeger; then
  rm -f "$tmp_bin"
  tail -n 30 "$JAEGER_BUILD_DIR/build.log" >&2
  die "jaeger build failed (full log: $JAEGER_BUILD_DIR/build.log)"
fi
# Renamed into place only once complete, so an interrupted build is never reused.
mv "$tmp_bin" "$JAEGER_BIN"
progress "jaeger: built in $(( SECONDS - started ))s"
echo "$JAEGER_BIN"
