// Exits 0 once a WebSocket producer session opens at the URL given as the
// first argument, 1 if the broker refuses it or nothing answers within the
// timeout (second argument, ms). Used by start.sh to decide the broker is ready.
import { WebSocket } from 'ws';

const [url, timeoutArg = '5000'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node websocket-probe.mjs <ws-url> [timeout-ms]');
  process.exit(2);
}

const socket = new WebSocket(url, { handshakeTimeout: Number(timeoutArg) });
const timer = setTimeout(() => finish(1, 'timed out'), Number(timeoutArg));

function finish(code, reason) {
  clearTimeout(timer);
  if (reason) console.error(`websocket probe: ${reason}`);
  socket.terminate();
  process.exit(code);
}

socket.on('open', () => finish(0));
socket.on('unexpected-response', (_request, response) => finish(1, `HTTP ${response.statusCode}`));
socket.on('error', (error) => finish(1, error.message));
