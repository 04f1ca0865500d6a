import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '@storefront/platform/config';
import { MemoryEventBus } from '@storefront/platform/events';
import { createLogger } from '@storefront/platform/logger';
import type { RunningService, StartDependencies } from '@storefront/platform/service';
import { callSubgraph, captureLogs, serviceTestEnv, type GraphQLResult } from '@storefront/platform/testing';
import { generateSigningJwk, loadUsersConfig, startUsers } from '@storefront/users';

/**
 * BENCH_UNSIGNED_LOOPBACK_IDENTITY: the benchmark's peer gateways neither sign
 * their subgraph calls nor verify the caller's token, so a subgraph started
 * for `npm run bench` may accept UNSIGNED calls from loopback as one fixed
 * identity (or, for the many customers of the mix, as the customer a header
 * names). Off unless set, refused in production, and signed calls are still
 * verified as always.
 */
const KEY = 'BENCH_UNSIGNED_LOOPBACK_IDENTITY';
const ME = `{ me { id email role } }`;

async function unsigned(url: string, query: string): Promise<GraphQLResult<Record<string, any>>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}

/** A non-loopback IPv4 address of this machine, to call from somewhere that is not loopback. */
const externalAddress = () =>
  Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

describe(`${KEY}: unsigned loopback calls for the benchmark`, { timeout: 120_000 }, () => {
  let env: Record<string, string>;
  let dependencies: StartDependencies;
  let customerId: string;
  const running: RunningService[] = [];
  const start = async (extra: Record<string, string>, logger = dependencies.logger) => {
    const service = await startUsers(loadUsersConfig({ ...env, ...extra }), { ...dependencies, logger });
    running.push(service);
    return service;
  };

  before(async () => {
    env = await serviceTestEnv();
    const logger = createLogger({ name: 'test', level: env.LOG_LEVEL });
    dependencies = env.KAFKA_BROKERS ? { logger } : { logger, bus: new MemoryEventBus(logger) };
  });
  after(async () => {
    for (const service of running.reverse()) await service.stop();
    await dependencies.bus?.close();
  });

  it('is off by default: an unsigned call is refused as before', async () => {
    assert.equal(loadUsersConfig(env)[KEY], undefined);
    const users = await start({});
    await users.seed(); // the demo customer the next tests act as
    const db = users.db as { user: { findUniqueOrThrow(q: object): Promise<{ id: string }> } };
    customerId = (await db.user.findUniqueOrThrow({ where: { email: loadUsersConfig(env).SEED_CUSTOMER_EMAIL } })).id;

    const res = await unsigned(users.url, ME);
    assert.equal(res.status, 401);
    assert.equal(res.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.equal(res.data ?? null, null);
  });

  it('on: an unsigned loopback call runs as the configured identity; signed calls are still verified', async () => {
    const logs = captureLogs('warn');
    const users = await start(
      { [KEY]: JSON.stringify({ userId: customerId, role: 'CUSTOMER' }), HOST: '0.0.0.0' },
      logs.logger,
    );
    assert.ok(logs.find(new RegExp(KEY)).length > 0, 'a loud warning names the key');

    const res = await unsigned(users.url, ME);
    assert.equal(res.status, 200, JSON.stringify(res));
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.deepEqual(res.data?.me, {
      id: customerId,
      email: loadUsersConfig(env).SEED_CUSTOMER_EMAIL,
      role: 'CUSTOMER',
    });

    // The fixed identity grants nothing beyond that customer: staff-only data stays closed.
    const staffOnly = await unsigned(users.url, `{ users(first: 1) { edges { node { id } } } }`);
    assert.ok(
      (staffOnly.errors ?? []).some((e) => e.extensions?.code === 'FORBIDDEN'),
      JSON.stringify(staffOnly),
    );

    // A signed call carries its own identity (anonymous here), not the configured one.
    const signed = await callSubgraph(users.url, ME, {}, null, env.SUBGRAPH_SECRET);
    assert.equal(signed.status, 200);
    assert.equal(signed.data?.me, null);

    // A call with signature headers is a signed call: a bad signature is refused even from loopback.
    const forged = await fetch(users.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-storefront-timestamp': String(Date.now()),
        'x-storefront-nonce': 'n',
        'x-storefront-signature': 'forged',
      },
      body: JSON.stringify({ query: ME }),
    });
    assert.equal(forged.status, 401);

    // Only loopback: the same unsigned call from a non-loopback address of this machine is refused.
    const address = externalAddress();
    if (address) {
      const remote = await unsigned(`http://${address}:${users.port}/graphql`, ME);
      assert.equal(remote.status, 401, JSON.stringify(remote));
      assert.equal(remote.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    }
  });

  it('"anonymous": unsigned loopback calls are anonymous', async () => {
    const users = await start({ [KEY]: 'anonymous' });
    const res = await unsigned(users.url, ME);
    assert.equal(res.status, 200, JSON.stringify(res));
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.equal(res.data?.me, null);
  });

  it('"customer-header": an unsigned loopback call acts as the customer its x-bench-customer-id header names', async () => {
    const users = await start({ [KEY]: 'customer-header' });
    const as = async (headers: Record<string, string>) => {
      const res = await fetch(users.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: ME }),
      });
      return { status: res.status, ...((await res.json()) as object) } as GraphQLResult<Record<string, any>>;
    };
    const named = await as({ 'x-bench-customer-id': customerId });
    assert.equal(named.status, 200, JSON.stringify(named));
    assert.equal(named.data?.me?.id, customerId);
    assert.equal(named.data?.me?.role, 'CUSTOMER');
    // Nobody without (or with a malformed) header.
    assert.equal((await as({})).data?.me, null);
    assert.equal((await as({ 'x-bench-customer-id': 'admin' })).data?.me, null);
    // A signed call still carries its own identity, header or not.
    const signed = await callSubgraph(users.url, ME, {}, null, env.SUBGRAPH_SECRET);
    assert.equal(signed.data?.me, null);
  });

  it('a malformed value is a config error naming the key', () => {
    for (const bad of ['{not json', '{"userId":"u1","role":"KING"}', '{"role":"CUSTOMER"}', 'nobody']) {
      assert.throws(
        () => loadUsersConfig({ ...env, [KEY]: bad }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.message.includes(`${KEY}: must be "anonymous", "customer-header" or JSON`),
        bad,
      );
    }
  });

  it('production refuses to start with it, naming the key', async () => {
    // Otherwise ready for production (a signing key of its own), so the refusal is this key's.
    const signingKeys = JSON.stringify([await generateSigningJwk()]);
    const config = loadUsersConfig({
      ...env,
      NODE_ENV: 'production',
      JWT_SIGNING_KEYS: signingKeys,
      [KEY]: 'anonymous',
    });
    await assert.rejects(startUsers(config, dependencies), (error: Error) =>
      error.message.startsWith(`${KEY}: refused in production`),
    );
  });
});
