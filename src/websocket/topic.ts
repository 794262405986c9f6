/** Topic names -> WebSocket endpoint paths (`/ws/v2/<role>/<domain>/<tenant>/<namespace>/<topic>`). */
import { InvalidConfigurationError } from './errors.js';

export interface TopicName {
  /** Fully qualified, e.g. `persistent://public/default/orders`. */
  full: string;
  /** URL path segment, each part encoded: `persistent/public/default/orders`. */
  path: string;
}

const DEFAULT_TENANT = 'public';
const DEFAULT_NAMESPACE = 'default';

export function parseTopicName(topic: string): TopicName {
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new InvalidConfigurationError('topic is required, e.g. "persistent://public/default/my-topic" or "my-topic"');
  }
  let domain = 'persistent';
  let rest = topic;
  const schemeMatch = /^(persistent|non-persistent):\/\/(.*)$/.exec(topic);
  if (schemeMatch) {
    domain = schemeMatch[1]!;
    rest = schemeMatch[2]!;
  } else if (topic.includes('://')) {
    throw new InvalidConfigurationError(`Invalid topic "${topic}": the domain must be persistent:// or non-persistent://`);
  }
  const parts = rest.split('/');
  let tenant: string;
  let namespace: string;
  let local: string;
  if (parts.length === 1) {
    if (schemeMatch) throw new InvalidConfigurationError(`Invalid topic "${topic}": expected ${domain}://tenant/namespace/topic`);
    [tenant, namespace, local] = [DEFAULT_TENANT, DEFAULT_NAMESPACE, parts[0]!];
  } else if (parts.length >= 3) {
    tenant = parts[0]!;
    namespace = parts[1]!;
    local = parts.slice(2).join('/');
  } else {
    throw new InvalidConfigurationError(`Invalid topic "${topic}": expected tenant/namespace/topic`);
  }
  if (!tenant || !namespace || !local) throw new InvalidConfigurationError(`Invalid topic "${topic}": empty name part`);
  return {
    full: `${domain}://${tenant}/${namespace}/${local}`,
    path: [domain, tenant, namespace, local].map(encodeURIComponent).join('/'),
  };
}
