#!/usr/bin/env bash
# Checks the native Pulsar setup without starting it: the standalone
# configuration carries every setting the project depends on, and the
# broker scripts parse.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

conf="$KEYSCOPE_ROOT/pulsar/standalone.conf"
failures=0
fail() { printf '  FAIL %s\n' "$*"; failures=$((failures + 1)); }

echo "pulsar/standalone.conf: required settings"
# key=value pairs the tests, the WebSocket client and the dashboards rely on.
required=(
  bindAddress=127.0.0.1
  advertisedAddress=127.0.0.1
  webServicePort=8080
  brokerServicePort=6650
  webSocketServiceEnabled=true
  allowAutoTopicCreation=true
  allowAutoSubscriptionCreation=true
  delayedDeliveryEnabled=true
  managedLedgerDefaultEnsembleSize=1
  managedLedgerDefaultWriteQuorum=1
  managedLedgerDefaultAckQuorum=1
  functionsWorkerEnabled=false
  exposeTopicLevelMetricsInPrometheus=true
  exposeConsumerLevelMetricsInPrometheus=true
  listeningInterface=lo
)
for setting in "${required[@]}"; do
  key="${setting%%=*}"
  actual="$(grep -E "^$key=" "$conf" | tail -n 1 | cut -d= -f2- || true)"
  if [[ "$actual" == "${setting#*=}" ]]; then
    printf '  ok   %s\n' "$setting"
  else
    fail "$key is '${actual:-<unset>}', expected '${setting#*=}'"
  fi
done

echo "pulsar/standalone.conf: each key set once"
duplicates="$(grep -E '^[A-Za-z_]+=' "$conf" | cut -d= -f1 | sort | uniq -d)"
if [[ -n "$duplicates" ]]; then fail "keys set more than once: $duplicates"; else echo "  ok"; fi

echo "scripts/pulsar: shell syntax"
for script in "$KEYSCOPE_ROOT"/scripts/pulsar/*.sh; do
  if bash -n "$script"; then printf '  ok   %s\n' "${script#"$KEYSCOPE_ROOT"/}"; else fail "${script#"$KEYSCOPE_ROOT"/} does not parse"; fi
done

echo "versions.env: Pulsar pinned to a 4.0.x release"
if [[ "$PULSAR_VERSION" =~ ^4\.0\.[0-9]+$ ]]; then echo "  ok   $PULSAR_VERSION"; else fail "PULSAR_VERSION=$PULSAR_VERSION"; fi

if (( failures > 0 )); then
  echo "pulsar-config: $failures check(s) failed"
  exit 1
fi
echo "pulsar-config: all checks passed"
