#!/usr/bin/env bash
# Prints whether the standalone broker runs. Exit 0 when running, 3 when stopped.
set -euo pipefail
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
source "$script_dir/../lib/common.sh"
# shellcheck source=env.sh
source "$script_dir/env.sh"

if ! pulsar_running; then
  echo "pulsar: stopped (version $PULSAR_VERSION; web port $PULSAR_WEB_PORT, broker port $PULSAR_BROKER_PORT)"
  exit 3
fi

health="$(curl -s --max-time 5 "$pulsar_web_url/admin/v2/brokers/health" || true)"
[[ "$health" == "ok" ]] && health="healthy" || health="not answering its health check yet"
echo "pulsar: running, $health"
echo "  pid:       $(pulsar_pid)"
echo "  version:   $PULSAR_VERSION"
echo "  web:       $pulsar_web_url (admin REST, /metrics/, WebSocket /ws/v2/...)"
echo "  broker:    pulsar://127.0.0.1:$PULSAR_BROKER_PORT"
echo "  config:    $pulsar_effective_conf"
echo "  data:      $pulsar_data_dir"
echo "  logs:      $pulsar_log_file"
