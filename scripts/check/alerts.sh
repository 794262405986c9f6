#!/usr/bin/env bash
# needs: stack (promtool comes with the prometheus package that stack:up installs)
# Validates the Prometheus alert rules and runs their unit tests with promtool
# (Debian package `prometheus`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

command -v promtool >/dev/null 2>&1 \
  || die "promtool not found: install it with 'apt-get install prometheus' (it ships promtool)"

cd "$KEYSCOPE_ROOT"
log "promtool check rules dashboards/alerts.yml"
promtool check rules dashboards/alerts.yml
log "promtool test rules dashboards/tests/*.test.yml"
promtool test rules dashboards/tests/*.test.yml
