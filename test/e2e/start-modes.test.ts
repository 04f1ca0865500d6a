import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createLogger } from '@storefront/platform/logger';
import { serviceTestEnv, TEST_SECRET } from '@storefront/platform/testing';
import { loadGatewayConfig, startGateway } from '@storefront/gateway';
import { loadOrdersConfig, startOrders } from '@storefront/orders';
import { generateSigningJwk, loadUsersConfig, startUsers } from '@storefront/users';

/**
 * No start mode that cannot work: a configuration that would run but lose
 * events, sign with throw-away keys or publish to topics nobody created stops
 * the start, and the message names the variable to set.
 */
const run = promisify(execFile);
const silent = createLogger({ name: 'test', level: 'silent' });

/** Runs a script the way `npm start` / `npm run seed` do; resolves with its exit code and output. */
async function runScript(script: string, env: Record<string, string | undefined>) {
  const clean = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, v]) => v !== undefined));
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', script], {
      env: clean,
      timeout: 120_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    return { code: code ?? 1, output: `${stdout ?? ''}${stderr ?? ''}` };
  }
}

describe('start modes that cannot work are refused', { timeout: 300_000 }, () => {
  it('npm start with DATABASE_URL but no KAFKA_BROKERS stops, naming KAFKA_BROKERS', async () => {
    const { code, output } = await runScript('scripts/start.ts', {
      DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none',
      KAFKA_BROKERS: undefined,
      LOG_LEVEL: 'silent',
    });
    assert.equal(code, 1, output);
    assert.match(output, /Failed to start: KAFKA_BROKERS: required when DATABASE_URL is set/);
  });

  it('a service started on its own on PostgreSQL without Kafka stops, naming KAFKA_BROKERS', async () => {
    const env = { ...(await serviceTestEnv({ embedded: true })), DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none' };
    await assert.rejects(startOrders(loadOrdersConfig(env), { logger: silent }), /^Error: KAFKA_BROKERS: required/);
  });

  it('production refuses the development secrets, naming each variable', async () => {
    const env = await serviceTestEnv({ embedded: true });
    await assert.rejects(
      startOrders(loadOrdersConfig({ ...env, NODE_ENV: 'production', SUBGRAPH_SECRET: '' }), { logger: silent }),
      /^Error: SUBGRAPH_SECRET: set a secret of your own in production/,
    );
    assert.throws(
      () => loadGatewayConfig({ NODE_ENV: 'production' }),
      /^Error: SUBGRAPH_SECRET: set a secret of your own in production/,
    );
    // Without JWT_SIGNING_KEYS each users instance would sign with a key of its own, made at start.
    await assert.rejects(
      startUsers(loadUsersConfig({ ...env, NODE_ENV: 'production' }), { logger: silent }),
      /^Error: JWT_SIGNING_KEYS: required in production/,
    );
  });

  if (process.env.KAFKA_BROKERS && process.env.TEST_DATABASE_URL) {
    it('npm run seed in production refuses the development admin password, naming SEED_ADMIN_PASSWORD', async () => {
      const env = await serviceTestEnv();
      const { code, output } = await runScript('scripts/seed.ts', {
        ...env,
        NODE_ENV: 'production',
        SUBGRAPH_SECRET: TEST_SECRET,
        JWT_SIGNING_KEYS: JSON.stringify([await generateSigningJwk()]),
        SEED_ADMIN_PASSWORD: undefined,
        LOG_LEVEL: 'silent',
      });
      assert.equal(code, 1, output);
      assert.match(output, /Failed to start: SEED_ADMIN_PASSWORD: set a password of your own in production/);
    });

    it('with KAFKA_CREATE_TOPICS=false, topics that do not exist stop the start, named with the variable', async () => {
      const env = {
        ...(await serviceTestEnv()),
        KAFKA_TOPIC_PREFIX: `missing${randomBytes(4).toString('hex')}.`,
        KAFKA_CREATE_TOPICS: 'false',
      };
      await assert.rejects(startOrders(loadOrdersConfig(env), { logger: silent }), (error: Error) => {
        assert.match(error.message, /^KAFKA_CREATE_TOPICS is off and these topics do not exist: /);
        assert.match(error.message, new RegExp(`${env.KAFKA_TOPIC_PREFIX.replace('.', '\\.')}inventory-events\\b`));
        return true;
      });
      // The gateway checks the topics it follows (user-events, inventory-events) the same way.
      await assert.rejects(
        startGateway({ ...loadGatewayConfig({ ...env, GATEWAY_PORT: '0' }), subgraphUrls: {} }, { logger: silent }),
        /KAFKA_CREATE_TOPICS is off and these topics do not exist: /,
      );
      // Once they exist (created by whoever manages them), the same start succeeds.
      const created = await startOrders(loadOrdersConfig({ ...env, KAFKA_CREATE_TOPICS: 'true' }), { logger: silent });
      await created.stop();
      const orders = await startOrders(loadOrdersConfig(env), { logger: silent });
      await orders.stop();
    });
  }
});
