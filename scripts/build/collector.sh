#!/usr/bin/env bash
# Builds the OpenTelemetry Collector described by collector/builder-config.yaml
# with the collector builder (ocb), both fetched from the Go module proxy at the
# release pinned in versions.env. The result goes to
#   $KEYSCOPE_CACHE/otelcol-<OTELCOL_VERSION>-<hash of the rendered manifest>/dist/otelcol-keyscope
# and is reused on the next run. Pass --force to rebuild anyway.
# Prints the binary path as the last line of output.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=go-env.sh
source "$KEYSCOPE_ROOT/scripts/build/go-env.sh"

force=false
[[ "${1:-}" == "--force" ]] && force=true

if [[ -x "$OTELCOL_BIN" && -f "$OTELCOL_BUILD_DIR/.complete" && $force == false ]]; then
  progress "collector: reusing $OTELCOL_BIN"
  echo "$OTELCOL_BIN"
  exit 0
fi
require_go

mkdir -p "$OTELCOL_BUILD_DIR"
# Two scripts asking for the same build at once (stack:up and a check) wait
# for one another instead of writing the same folder.
exec 9>"$OTELCOL_BUILD_DIR.lock"
flock 9
if [[ -x "$OTELCOL_BIN" && -f "$OTELCOL_BUILD_DIR/.complete" && $force == false ]]; then
  progress "collector: reusing $OTELCOL_BIN (built meanwhile)"
  echo "$OTELCOL_BIN"
  exit 0
fi

started=$SECONDS
if [[ ! -x "$OTELCOL_BUILDER_BIN" ]]; then
  progress "collector: installing the collector builder v$OTELCOL_VERSION from the Go module proxy"
  GOBIN="$(dirname "$OTELCOL_BUILDER_BIN")" go install "go.opentelemetry.io/collector/cmd/builder@v${OTELCOL_VERSION}" >&2
  progress "collector: builder installed after $(( SECONDS - started ))s"
fi

rm -f "$OTELCOL_BUILD_DIR/.complete"
render_collector_manifest | sed -e "s|\${OUTPUT_PATH}|$OTELCOL_BUILD_DIR/dist|g" >"$OTELCOL_BUILD_DIR/builder-config.yaml"
progress "collector: building otelcol-keyscope (core v$OTELCOL_VERSION, contrib v$OTELCOL_CONTRIB_VERSION) into $OTELCOL_BUILD_DIR"
progress "collector: a cold build downloads and compiles several hundred modules; 2-3 minutes on 2 cores (log: $OTELCOL_BUILD_DIR/build.log)"
if ! run_with_heartbeat collector "$OTELCOL_BUILD_DIR/build.log" "$OTELCOL_BUILDER_BIN" --config "$OTELCOL_BUILD_DIR/builder-config.yaml"; then
  tail -n 30 "$OTELCOL_BUILD_DIR/build.log" >&2
  die "collector build failed (full log: $OTELCOL_BUILD_DIR/build.log). If a module version is missing from the proxy, change OTELCOL_VERSION / OTELCOL_CONTRIB_VERSION in versions.env"
fi
"$OTELCOL_BIN" --version >/dev/null || die "the built collector at $OTELCOL_BIN does not run"
touch "$OTELCOL_BUILD_DIR/.complete"
progress "collector: built in $(( SECONDS - started ))s: $("$OTELCOL_BIN" --version)"
echo "$OTELCOL_BIN"
