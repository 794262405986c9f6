#!/usr/bin/env bash
# Prints whether the stack's Redis runs. Exit 0 when it answers PING, 3 otherwise.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$script_dir/../lib/common.sh"
# shellcheck source=env.sh
source "$script_dir/env.sh"

if pid="$(redis_pid)" && redis_ping; then
  echo "redis: up (pid $pid)"
  exit 0
elif pid="$(redis_pid)"; then
  echo "redis: starting or unhealthy (pid $pid)"
  exit 3
fi
echo "redis: down"
exit 3
