/**
 * `server.address` / `server.port` from a client's service URL, read the way
 * the OpenTelemetry Java agent reads its client's: the host and, when the URL
 * names one, the port (no scheme default is assumed). A URL listing several
 * brokers names no single server, so it yields nothing, as does anything
 * without a `scheme://` prefix.
 */

export interface ServerAddress {
  readonly address: string;
  readonly port: number | undefined;
}

const MAX_PORT = 65_535;

export function parseServiceUrl(serviceUrl: unknown): ServerAddress | undefined {
  if (typeof serviceUrl !== 'string' || serviceUrl.includes(',') || serviceUrl.includes(';')) return undefined;
  const schemeEnd = serviceUrl.indexOf('://');
  if (schemeEnd <= 0) return undefined;
  const start = schemeEnd + 3;
  let end = serviceUrl.length;
  for (const stop of ['/', '?', '#']) {
    const at = serviceUrl.indexOf(stop, start);
    if (at >= 0 && at < end) end = at;
  }
  let authority = serviceUrl.slice(start, end);
  authority = authority.slice(authority.lastIndexOf('@') + 1);
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    // An IPv6 literal: the attribute carries the address without its brackets.
    const close = authority.indexOf(']');
    if (close < 0) return undefined;
    host = authority.slice(1, close);
    const rest = authority.slice(close + 1);
    portText = rest.startsWith(':') ? rest.slice(1) : undefined;
  } else {
    const colon = authority.indexOf(':');
    host = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
  }
  if (host === '') return undefined;
  const port = portText !== undefined && /^\d{1,5}$/.test(portText) ? Number(portText) : undefined;
  return { address: host, port: port !== undefined && port <= MAX_PORT ? port : undefined };
}
