#!/usr/bin/env bash
# Validates every shipped collector config (collector/otel-collector*.yaml)
# with the collector built from collector/builder-config.yaml, and
# collector/jaeger.yaml with the pinned Jaeger v2: unknown components, bad
# fields and broken pipelines fail here. Builds the binaries first if needed.
# needs: stack (run after scripts/stack/up.sh has built or installed the binaries)
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../build/go-env.sh
source "$KEYSCOPE_ROOT/scripts/build/go-env.sh"

bash "$KEYSCOPE_ROOT/scripts/build/collector.sh" >/dev/null
bash "$KEYSCOPE_ROOT/scripts/build/jaeger.sh" >/dev/null

failed=0
shopt -s nullglob
configs=("$KEYSCOPE_ROOT"/collector/otel-collector*.yaml)
(( ${#configs[@]} > 0 )) || die "no collector/otel-collector*.yaml found"
for config in "${configs[@]}"; do
  if "$OTELCOL_BIN" validate --config "$config"; then
    echo "ok   $(basename "$config") (otelcol-keyscope $OTELCOL_VERSION)"
  else
    echo "FAIL $(basename "$config")"; failed=1
  fi
done
if "$JAEGER_BIN" validate --config "file:$KEYSCOPE_ROOT/collector/jaeger.yaml"; then
  echo "ok   jaeger.yaml (jaeger $JAEGER_VERSION)"
else
  echo "FAIL jaeger.yaml"; failed=1
fi
exit $failed
