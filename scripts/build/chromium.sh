#!/usr/bin/env bash
# Installs Debian's chromium package when it is missing: the comparison's
# end-to-end test opens report.html in it through puppeteer-core, which never
# downloads a browser of its own.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=apt.sh
source "$KEYSCOPE_ROOT/scripts/build/apt.sh"
ensure_debian_package chromium chromium
log "chromium: $(chromium --version 2>/dev/null | head -n 1)"
