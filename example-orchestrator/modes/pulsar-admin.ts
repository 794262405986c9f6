/** The few admin REST calls a run needs: its namespace, a partitioned topic, subscription backlogs. */
export class PulsarAdmin {
  private readonly base: string;

  constructor(serviceUrl: string) {
    this.base = `${serviceUrl.replace(/^ws/, 'http').replace(/\/+$/, '')}/admin/v2`;
  }

  async ensureNamespace(namespace: string): Promise<void> {
    const status = await this.request('PUT', `namespaces/${namespace}`);
    if (status !== 204 && status !== 409)
      throw new Error(`creating namespace ${namespace} failed with HTTP ${status}; is the broker at ${this.base} up (npm run stack:up)?`);
  }

  async createPartitionedTopic(topic: string, partitions: number): Promise<void> {
    const status = await this.request('PUT', `${restPath(topic)}/partitions`, partitions);
    if (status !== 204 && status !== 409)
      throw new Error(`creating partitioned topic ${topic} (${partitions} partitions) failed with HTTP ${status}`);
  }

  /** Messages not yet acknowledged on the subscription (delayed ones included); 0 when the topic does not exist yet. */
  async backlog(topic: string, subscription: string, partitioned: boolean): Promise<number> {
    const response = await fetch(`${this.base}/${restPath(topic)}/${partitioned ? 'partitioned-stats' : 'stats'}`, {
      signal: AbortSignal.timeout(10_000),
    });
    if (response.status === 404) {
      await response.arrayBuffer();
      return 0;
    }
    if (!response.ok) throw new Error(`stats of ${topic}: HTTP ${response.status} ${await response.text()}`);
    const stats = (await response.json()) as { subscriptions?: Record<string, { msgBacklog?: number; unackedMessages?: number }> };
    const sub = stats.subscriptions?.[subscription];
    return sub === undefined ? 0 : (sub.msgBacklog ?? 0);
  }

  private async request(method: string, path: string, body?: unknown): Promise<number> {
    const response = await fetch(`${this.base}/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    await response.arrayBuffer();
    return response.status;
  }
}

/** persistent://tenant/ns/topic -> persistent/tenant/ns/topic */
function restPath(topic: string): string {
  const match = /^(persistent|non-persistent):\/\/(.+)$/.exec(topic);
  if (match === null) throw new Error(`expected a full topic name like persistent://public/default/t, got ${topic}`);
  return `${match[1]}/${match[2]}`;
}
