#!/usr/bin/env bash
# needs: stack (runs after scripts/stack/up.sh has started every service)
# `npm run stack:up` is idempotent: run again on a running stack, it starts
# nothing new (every pid stays the same), succeeds, and `stack:status` still
# reports every service up.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../stack/lib.sh
source "$KEYSCOPE_ROOT/scripts/stack/lib.sh"

pids() {
  local name
  for name in jaeger keyscope-audit otelcol prometheus keyscope-broker-exporter redis pulsar/pulsar; do
    printf '%s=%s ' "$name" "$(cat "$(pid_file "$name")" 2>/dev/null || echo none)"
  done
}

bash "$KEYSCOPE_ROOT/scripts/stack/status.sh" >/dev/null ||
  die "the stack is not fully up; run npm run stack:up first"
before="$(pids)"
[[ "$before" != *none* ]] || die "a pid file is missing although status says up: $before"
started=$SECONDS
output="$(bash "$KEYSCOPE_ROOT/scripts/stack/up.sh" 2>&1)" || { echo "$output"; die "stack:up failed on a running stack"; }
after="$(pids)"
if [[ "$before" != "$after" ]]; then
  echo "$output"
  die "stack:up on a running stack restarted something: before $before, after $after"
fi
echo "ok   stack:up again: same processes ($after) in $(( SECONDS - started ))s"
for name in jaeger keyscope-audit otelcol prometheus keyscope-broker-exporter redis; do
  grep -q "$name: already running" <<<"$output" || die "stack:up did not report $name as already running"
done
echo "ok   stack:up reports every service as already running"
bash "$KEYSCOPE_ROOT/scripts/stack/status.sh" >/dev/null || die "stack:status fails after a second stack:up"
echo "ok   stack:status exits 0 after a second stack:up"
