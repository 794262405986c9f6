#!/usr/bin/env bash
# Go toolchain settings and binary locations shared by the build scripts and
# the stack scripts. Source it after scripts/lib/common.sh; do not run it.
#
# Everything Go downloads or compiles lives under $KEYSCOPE_CACHE (outside the
# repository, shared by every clone on this machine). Override a location with
# KEYSCOPE_GOPATH, KEYSCOPE_GOMODCACHE or KEYSCOPE_GOCACHE, for example to
# reuse a module cache you already have.

GOPATH="${KEYSCOPE_GOPATH:-$KEYSCOPE_CACHE/go}"
GOMODCACHE="${KEYSCOPE_GOMODCACHE:-$GOPATH/pkg/mod}"
GOCACHE="${KEYSCOPE_GOCACHE:-$KEYSCOPE_CACHE/go-build}"
# VCS stamping needs a git checkout of the sources; module downloads have none.
GOFLAGS="${GOFLAGS:--buildvcs=false}"
export GOPATH GOMODCACHE GOCACHE GOFLAGS

require_go() {
  command -v go >/dev/null 2>&1 ||
    die "Go is not installed (needed to build the collector and Jaeger): install Go >= 1.24 from https://go.dev/dl/ or your package manager"
}

# Progress goes to stderr: the build scripts print only the binary path on stdout.
progress() { log "$@" >&2; }

# run_with_heartbeat WHAT LOGFILE COMMAND... : runs COMMAND with its output in
# LOGFILE, saying every 30 s that it still runs; returns COMMAND's status.
run_with_heartbeat() {
  local what="$1" logfile="$2"; shift 2
  local started=$SECONDS
  "$@" >"$logfile" 2>&1 &
  local pid=$!
  while ! wait_for_exit "$pid" 30; do
    progress "$what: still building ($(( SECONDS - started ))s; log: $logfile)"
  done
  wait "$pid"
}

# wait_for_exit PID SECONDS -> 0 once PID has exited, 1 if it still runs after SECONDS.
wait_for_exit() {
  local pid="$1" ticks=$(( $2 * 5 ))
  while (( ticks-- > 0 )); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  ! kill -0 "$pid" 2>/dev/null
}

# The collector manifest with the versions from versions.env filled in. The
# output path stays a placeholder so that it does not change the hash below.
render_collector_manifest() {
  sed -e "s|\${OTELCOL_VERSION}|${OTELCOL_VERSION}|g" \
      -e "s|\${OTELCOL_CONTRIB_VERSION}|${OTELCOL_CONTRIB_VERSION}|g" \
      "$KEYSCOPE_ROOT/collector/builder-config.yaml"
}

# One build folder per (release, manifest content): editing the manifest or a
# version in versions.env builds anew, anything else (comments included)
# reuses the previous build.
OTELCOL_MANIFEST_HASH="$(render_collector_manifest | grep -Ev '^[[:space:]]*(#|$)' | sha256sum | cut -c1-12)"
OTELCOL_BUILD_DIR="$KEYSCOPE_CACHE/otelcol-${OTELCOL_VERSION}-${OTELCOL_MANIFEST_HASH}"
OTELCOL_BIN="${OTELCOL_BIN:-$OTELCOL_BUILD_DIR/dist/otelcol-keyscope}"
OTELCOL_BUILDER_BIN="$KEYSCOPE_CACHE/tools/builder-v${OTELCOL_VERSION}/builder"

JAEGER_BUILD_DIR="$KEYSCOPE_CACHE/jaeger-${JAEGER_VERSION}"
JAEGER_BIN="${JAEGER_BIN:-$JAEGER_BUILD_DIR/bin/jaeger}"

export OTELCOL_BUILD_DIR OTELCOL_BIN JAEGER_BUILD_DIR JAEGER_BIN
