import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { captureLogs } from '@storefront/platform/testing';
import { SubgraphClient } from '../../src/transport/subgraph-client.ts';
import { parseTrafficShaping, SHAPING_DEFAULTS, type SubgraphShaping } from '../../src/transport/traffic-config.ts';

/**
 * Health-check thresholds, seen from the balancer: two instances, A always
 * ready, B's every /readyz held by the test until it decides the answer (200,
 * 503, or none: the check times out). Checks of one instance run one at a
 * time, so when B's next check arrives the previous one's verdict is applied.
 */
// Long enough that the always-ready instance never fails three checks in a row on a busy machine.
const INTERVAL_MS = 250;

/** A subgraph instance whose /readyz checks the test answers one by one (or at once, `auto`). */
class Instance {
  readonly server: Server;
  private readonly held: ServerResponse[] = [];
  private waiting: ((check: ServerResponse) => void) | undefined;
  constructor(private readonly auto: boolean) {
    this.server = createServer((req, res) => {
      if (req.url !== '/readyz') return void res.end('{"data":{}}');
      if (this.auto) return void res.end('{"status":"ready"}');
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) waiting(res);
      else this.held.push(res);
    });
  }
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/graphql`;
  }
  /** The next check to arrive, to be answered with a status, or left to time out (`undefined`). */
  async nextCheck(): Promise<(status?: number) => void> {
    const res = this.held.shift() ?? (await new Promise<ServerResponse>((resolve) => (this.waiting = resolve)));
    return (status) => {
      if (status !== undefined) res.writeHead(status).end();
    };
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('subgraph health checks: thresholds', { timeout: 60_000 }, () => {
  const instances: Instance[] = [];
  const clients: SubgraphClient[] = [];
  after(async () => {
    for (const client of clients) await client.close();
    for (const instance of instances) await instance.close();
  });

  const start = async (healthCheck: Partial<SubgraphShaping['health_check']>) => {
    const a = new Instance(true);
    const b = new Instance(false);
    instances.push(a, b);
    const [urlA, urlB] = [await a.listen(), await b.listen()];
    const logs = captureLogs();
    const shaping: SubgraphShaping = {
      ...SHAPING_DEFAULTS,
      // A check that has no answer within the interval has failed (timeout = min(interval, request_ms)).
      health_check: { ...SHAPING_DEFAULTS.health_check, interval_ms: INTERVAL_MS, ...healthCheck },
    };
    const client = new SubgraphClient(
      'products',
      [
        { url: urlA, weight: 1 },
        { url: urlB, weight: 1 },
      ],
      { shaping, logger: logs.logger },
    );
    clients.push(client);
    /** Whether B gets traffic: round-robin over what is up, so two picks name both when both are. */
    const bInRotation = () => [client.pickInstance(), client.pickInstance()].includes(urlB);
    const healthy = () => client.health().healthyInstances;
    let pending = await b.nextCheck();
    /** Answers B's check in flight (no status: it times out) and returns once its verdict is applied: when the next one arrives. */
    const answer = async (status?: number) => {
      pending(status);
      pending = await b.nextCheck();
    };
    return { client, urlB, answer, bInRotation, healthy, logs };
  };

  it('defaults to 3 failed checks in a row to take an instance out and 1 passed check to bring it back', () => {
    const { health_check } = parseTrafficShaping('{}', 'traffic.yaml', ['products']).get('products')!;
    assert.deepEqual(health_check, { interval_ms: 5_000, unhealthy_threshold: 3, healthy_threshold: 1 });
  });

  it('refuses a threshold below 1, naming the key', () => {
    assert.throws(
      () =>
        parseTrafficShaping('subgraphs: { products: { health_check: { unhealthy_threshold: 0 } } }', 'traffic.yaml', [
          'products',
        ]),
      /TRAFFIC_SHAPING_CONFIG: traffic\.yaml: subgraphs\.products\.health_check\.unhealthy_threshold: must be at least 1/,
    );
    assert.throws(
      () => parseTrafficShaping('all: { health_check: { healthy_threshold: 1.5 } }', 'traffic.yaml', ['products']),
      /all\.health_check\.healthy_threshold: must be a whole number of checks/,
    );
  });

  it('with the defaults: a check that fails once leaves the instance in rotation, three in a row take it out, one pass brings it back', async () => {
    const { answer, bInRotation, healthy, logs } = await start({});
    await answer(); // times out
    assert.equal(bInRotation(), true, 'one slow check is not enough');
    await answer(200);
    await answer(500);
    await answer(); // two failures in a row
    assert.equal(bInRotation(), true, 'two failures in a row are not enough');
    assert.equal(healthy(), 2);
    assert.deepEqual(logs.find(/is down/), []);

    await answer(502); // the third
    assert.equal(bInRotation(), false, 'three failures in a row take it out');
    assert.equal(healthy(), 1);
    const [down] = logs.find(/is down/);
    assert.equal(down?.detail, 'GET /readyz answered 502 (3 checks in a row)');

    await answer(200);
    assert.equal(bInRotation(), true, 'one pass brings it back');
    assert.equal(healthy(), 2);
  });

  it('a 503 (the instance is not ready: draining, no database) takes it out at once', async () => {
    const { answer, bInRotation } = await start({});
    await answer(503);
    assert.equal(bInRotation(), false);
    await answer(200);
    assert.equal(bInRotation(), true);
  });

  it('with healthy_threshold 2 an instance that is out needs two passes in a row, counted from when it went out', async () => {
    const { client, urlB, answer, bInRotation } = await start({ unhealthy_threshold: 2, healthy_threshold: 2 });
    await answer();
    assert.equal(bInRotation(), true);
    await answer();
    assert.equal(bInRotation(), false, 'two failures in a row with unhealthy_threshold 2');
    await answer(200);
    assert.equal(bInRotation(), false, 'one pass is not enough');
    await answer(); // a failure while out starts the count again
    await answer(200);
    assert.equal(bInRotation(), false);
    await answer(200);
    assert.equal(bInRotation(), true, 'two passes in a row');

    // Ejected by a fetch (here a subscription socket that could not connect): the passes before do not count.
    await answer(200);
    client.reportUnreachable(urlB, 'connection refused');
    assert.equal(bInRotation(), false);
    await answer(200);
    assert.equal(bInRotation(), false);
    await answer(200);
    assert.equal(bInRotation(), true);
  });
});
