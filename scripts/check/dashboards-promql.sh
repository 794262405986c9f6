#!/usr/bin/env bash
# needs: stack (promtool comes with the prometheus package that stack:up installs)
# Parses every Grafana panel query with Prometheus's PromQL parser
# (promtool check rules on the queries written as recording rules).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

command -v promtool >/dev/null 2>&1 \
  || die "promtool not found: install it with 'apt-get install prometheus' (it ships promtool)"

cd "$KEYSCOPE_ROOT"
rules_file="$(mktemp --suffix=.yml)"
trap 'rm -f "$rules_file"' EXIT
npx tsx dashboards/src/query-rules.ts >"$rules_file"
log "promtool check rules: $(grep -c 'record:' "$rules_file") dashboard queries"
promtool check rules "$rules_file"
