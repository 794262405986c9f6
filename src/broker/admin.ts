/**
 * The few Pulsar admin REST calls the broker exporter makes, with token auth
 * and a timeout, and errors that say what to check.
 */

import { KeyscopeError } from '../errors.js';

export type AdminErrorReason = 'unreachable' | 'unauthorized' | 'not_found' | 'http_error' | 'bad_response';

export class BrokerAdminError extends KeyscopeError {
  constructor(
    readonly reason: AdminErrorReason,
    message: string,
  ) {
    // A broker that is down or restarting may answer the next poll.
    super(message, { retriable: reason === 'unreachable' || reason === 'http_error' });
  }

  override get name(): string {
    return 'BrokerAdminError';
  }
}

export interface AdminClientOptions {
  /** The broker's web service URL, e.g. http://127.0.0.1:8080. */
  adminUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  timeoutMs?: number;
}

export class AdminClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(options: AdminClientOptions) {
    this.base = options.adminUrl.replace(/\/+$/, '');
    this.headers = { accept: 'application/json' };
    if (options.token !== undefined && options.token !== '') this.headers.authorization = `Bearer ${options.token}`;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Topics of a namespace ("tenant/namespace"), partitions listed one by one. */
  async namespaceTopics(namespace: string): Promise<string[]> {
    const [persistent, nonPersistent] = await Promise.all([
      this.get(`/admin/v2/persistent/${namespace}`, `namespace ${namespace}`),
      this.get(`/admin/v2/non-persistent/${namespace}`, `namespace ${namespace}`).catch(() => []),
    ]);
    return [...stringList(persistent), ...stringList(nonPersistent)];
  }

  /**
   * Topics this broker serves that have a subscription with consumers or a
   * backlog, from one call to /admin/v2/broker-stats/topics (which lists each
   * topic with its subscriptions, without the Key_Shared details; the
   * broker refreshes it every few seconds). Topics with connected consumers
   * come first; system topics are left out.
   */
  async activeTopics(): Promise<string[]> {
    const dump = await this.get('/admin/v2/broker-stats/topics', "the broker's topic list");
    const withConsumers: string[] = [];
    const withBacklog: string[] = [];
    for (const bundles of Object.values(asRecord(dump))) {
      for (const domains of Object.values(asRecord(bundles))) {
        for (const topics of Object.values(asRecord(domains))) {
          for (const [topic, stats] of Object.entries(asRecord(topics))) {
            // System topics (__change_events and the like) are the broker's own business.
            if (topic.slice(topic.lastIndexOf('/') + 1).startsWith('__')) continue;
            const subscriptions = Object.values(asRecord(asRecord(stats).subscriptions)).map(asRecord);
            if (subscriptions.some((s) => Array.isArray(s.consumers) && s.consumers.length > 0)) withConsumers.push(topic);
            else if (subscriptions.some((s) => typeof s.msgBacklog === 'number' && s.msgBacklog > 0)) withBacklog.push(topic);
          }
        }
      }
    }
    return [...withConsumers, ...withBacklog];
  }

  /** Partition count of a topic (0: not partitioned). */
  async partitions(topic: string): Promise<number> {
    const metadata = await this.get(`${topicPath(topic)}/partitions`, `topic ${topic}`);
    const count = (metadata as { partitions?: unknown } | null)?.partitions;
    return typeof count === 'number' ? count : 0;
  }

  topicStats(topic: string): Promise<unknown> {
    return this.get(`${topicPath(topic)}/stats`, `topic ${topic}`);
  }

  partitionedStats(topic: string): Promise<unknown> {
    return this.get(`${topicPath(topic)}/partitioned-stats?perPartition=true`, `topic ${topic}`);
  }

  private async get(path: string, what: string): Promise<unknown> {
    const url = this.base + path;
    let response: Response;
    try {
      response = await fetch(url, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new BrokerAdminError(
        'unreachable',
        `the broker admin API at ${this.base} is unreachable (${detail}): check --admin-url and that the broker runs`,
      );
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new BrokerAdminError(
        'unauthorized',
        `the broker refused ${what} (HTTP ${response.status}): check --token and the role's permissions`,
      );
    }
    if (response.status === 404) {
      await response.body?.cancel();
      throw new BrokerAdminError('not_found', `${what} does not exist on the broker at ${this.base} (HTTP 404)`);
    }
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).slice(0, 200);
      throw new BrokerAdminError('http_error', `the broker answered HTTP ${response.status} for ${what}: ${text}`);
    }
    try {
      return await response.json();
    } catch (error) {
      throw new BrokerAdminError('bad_response', `the broker's answer for ${what} is not JSON: ${(error as Error).message}`);
    }
  }
}

/**
 * persistent://tenant/ns/topic -> /admin/v2/persistent/tenant/ns/topic. A
 * short name (tenant/ns/topic or topic) is taken as persistent, and a bare
 * topic as public/default, as Pulsar clients do.
 */
export function topicPath(topic: string): string {
  const match = /^(persistent|non-persistent):\/\/(.+)$/.exec(topic);
  const domain = match?.[1] ?? 'persistent';
  let rest = match?.[2] ?? topic;
  if (!rest.includes('/')) rest = `public/default/${rest}`;
  const parts = rest.split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) {
    throw new BrokerAdminError('not_found', `'${topic}' is not a topic name: use persistent://tenant/namespace/topic`);
  }
  return `/admin/v2/${domain}/${parts.map(encodeURIComponent).join('/')}`;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
