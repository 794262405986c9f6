/** The exporter against a stand-in admin API on loopback: errors counted and logged once, never thrown; series follow the latest poll. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerExporter } from '../../../src/broker/index.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function adminStandIn(routes: Record<string, () => [number, unknown]>): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  server = createServer((request, response) => {
    seen.push(`${request.url} ${request.headers.authorization ?? ''}`);
    const route = routes[request.url ?? ''];
    const [status, body] = route ? route() : [404, { reason: 'Topic not found' }];
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

async function sample(exporter: BrokerExporter, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await exporter.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))?.value;
}

describe('BrokerExporter', () => {
  it('publishes the polled state with the token, then drops a topic that is gone and counts why', async () => {
    let gone = false;
    const path = '/admin/v2/persistent/public/default/t';
    const stats = {
      subscriptions: {
        ks: {
          type: 'Key_Shared',
          msgBacklog: 3,
          drainingHashesCount: 2,
          drainingHashesClearedTotal: 4,
          consumers: [{ consumerName: 'a', unackedMessages: 1 }],
        },
      },
    };
    const admin = await adminStandIn({
      [`${path}/partitions`]: () => (gone ? [404, {}] : [200, { partitions: 0 }]),
      [`${path}/stats`]: () => [200, stats],
    });
    const logs: string[] = [];
    const exporter = new BrokerExporter({
      adminUrl: admin.url,
      token: 'secret',
      topics: ['persistent://public/default/t'],
      log: (l) => logs.push(l),
    });
    await exporter.poll();
    const labels = { topic: 'persistent://public/default/t', subscription: 'ks' };
    expect(await sample(exporter, 'keyscope_broker_draining_hashes', labels)).toBe(2);
    expect(await sample(exporter, 'keyscope_broker_draining_hashes_cleared_total', labels)).toBe(4);
    expect(await sample(exporter, 'keyscope_broker_consumer_unacked_messages', { ...labels, consumer: 'a' })).toBe(1);
    expect(await sample(exporter, 'keyscope_broker_up')).toBe(1);
    expect(admin.seen.every((line) => line.endsWith('Bearer secret'))).toBe(true);

    gone = true;
    await exporter.poll();
    await exporter.poll();
    expect(await sample(exporter, 'keyscope_broker_draining_hashes', labels)).toBeUndefined();
    expect(await sample(exporter, 'keyscope_broker_scrape_errors_total', { reason: 'not_found' })).toBe(2);
    expect(await sample(exporter, 'keyscope_broker_up')).toBe(0);
    expect(logs).toHaveLength(1); // a lasting fault is logged once
    expect(logs[0]).toMatch(/topic persistent:\/\/public\/default\/t does not exist/);
    await exporter.close();
  });

  it('keeps polling an unreachable broker and says where it looked', async () => {
    const logs: string[] = [];
    const exporter = new BrokerExporter({ adminUrl: 'http://127.0.0.1:1', timeoutMs: 1000, log: (l) => logs.push(l) });
    await exporter.poll();
    await exporter.poll();
    expect(await sample(exporter, 'keyscope_broker_scrape_errors_total', { reason: 'unreachable' })).toBe(2);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/unreachable.*--admin-url/);
    await exporter.close();
  });

  it('discovers the topics with consumers or a backlog, system topics aside, when pointed at nothing in particular', async () => {
    const admin = await adminStandIn({
      '/admin/v2/broker-stats/topics': () => [
        200,
        {
          'public/default': {
            '0x0_0x4': {
              persistent: {
                'persistent://public/default/idle': { subscriptions: { s: { consumers: [], msgBacklog: 0 } } },
                'persistent://public/default/busy': { subscriptions: { s: { consumers: [{}], msgBacklog: 0 } } },
                'persistent://public/default/behind': { subscriptions: { s: { consumers: [], msgBacklog: 9 } } },
                'persistent://public/default/__change_events': { subscriptions: { s: { consumers: [{}], msgBacklog: 0 } } },
              },
            },
          },
        },
      ],
    });
    const exporter = new BrokerExporter({ adminUrl: admin.url, log: () => {} });
    await exporter.poll();
    const asked = admin.seen.map((line) => line.split(' ')[0]).filter((url) => url?.endsWith('/partitions'));
    expect(asked.sort()).toEqual([
      '/admin/v2/persistent/public/default/behind/partitions',
      '/admin/v2/persistent/public/default/busy/partitions',
    ]);
    await exporter.close();
  });

  it('rejects an admin URL that is not http(s)', () => {
    expect(() => new BrokerExporter({ adminUrl: 'pulsar://127.0.0.1:6650' })).toThrow(/adminUrl.*http/);
  });
});
