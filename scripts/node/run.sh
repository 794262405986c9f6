#!/usr/bin/env bash
# scripts/node/run.sh COMMAND... : runs COMMAND on a supported Node (>= 22.15;
# the pinned Node 24 from $KEYSCOPE_CACHE when the system Node is older),
# after installing the npm dependencies when they are missing. The npm
# scripts that users run (demo, compare, bench) go through it, so they work
# on a fresh clone whatever Node started npm.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=ensure.sh
source "$KEYSCOPE_ROOT/scripts/node/ensure.sh"
ensure_node
(cd "$KEYSCOPE_ROOT" && bash scripts/ensure-deps.sh)
exec "$@"
