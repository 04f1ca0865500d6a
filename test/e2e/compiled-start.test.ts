import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, freePort } from '@storefront/platform/testing';
import { buildAll, ENTRY_POINTS } from '../../scripts/build.ts';

/**
 * The production start: `npm run build`, then plain `node` on the compiled
 * files — no TypeScript loader. The compiled launcher runs the embedded
 * supergraph; the compiled gateway (what the image runs) fronts its
 * subgraphs from a process of its own. Both must find the files they read
 * at run time (schemas, migrations, supergraph.yaml, rate-limits.yaml).
 */

class NodeProcess {
  readonly child: ChildProcess;
  output = '';
  constructor(file: string, env: Record<string, string>) {
    // Plain node: no --import tsx, no loader of any kind.
    this.child = spawn(process.execPath, [file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }
  stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.kill('SIGTERM');
    return exited;
  }
}

const post = async (url: string, query: string, variables: Record<string, unknown> = {}) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
};

describe('compiled production start (npm run build, node dist/…)', { timeout: 300_000 }, () => {
  const ports = { users: 0, products: 0, orders: 0, notifications: 0 };
  let launcher: NodeProcess;
  let gateway: NodeProcess | undefined;
  let launcherUrl: string;

  const baseEnv = () => {
    const env = { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'development' } as Record<string, string>;
    // Embedded mode: nothing but Node.
    for (const name of ['DATABASE_URL', 'KAFKA_BROKERS', 'REDIS_URL', 'TEST_DATABASE_URL', 'NODE_OPTIONS'])
      delete env[name];
    return env;
  };

  before(async () => {
    await buildAll({ logLevel: 'silent' });
    for (const name of Object.keys(ports) as (keyof typeof ports)[]) ports[name] = await freePort();
    launcher = new NodeProcess('dist/start.js', {
      ...baseEnv(),
      DATA_DIR: mkdtempSync(join(tmpdir(), 'storefront-compiled-')),
      GATEWAY_PORT: '0',
      USERS_PORT: String(ports.users),
      PRODUCTS_PORT: String(ports.products),
      ORDERS_PORT: String(ports.orders),
      NOTIFICATIONS_PORT: String(ports.notifications),
    });
    launcherUrl = await eventually(
      () =>
        /ready at (http:\/\/\S+)/.exec(launcher.output)?.[1] ??
        (launcher.child.exitCode !== null ? 'exited' : undefined),
      150_000,
      'the compiled launcher to print its URL',
    );
    assert.notEqual(launcherUrl, 'exited', launcher.output);
  });
  after(async () => {
    for (const proc of [gateway, launcher]) if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
  });

  it('writes one ES module per entry that imports only packages, never a TypeScript file', () => {
    for (const entry of ENTRY_POINTS) {
      assert.ok(existsSync(entry.output), `${entry.output} was not built`);
      const code = readFileSync(entry.output, 'utf8');
      const specifiers = [...code.matchAll(/^import\s[^'"]*?['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
      assert.ok(specifiers.length > 0, `${entry.output} imports nothing`);
      for (const specifier of specifiers) {
        assert.doesNotMatch(
          specifier,
          /^\.|\.ts$|^@storefront\//,
          `${entry.output} imports ${specifier}: our code must be bundled`,
        );
      }
    }
  });

  it('the compiled launcher serves the public catalog and a log-in', async () => {
    const catalog = await post(launcherUrl, `{ products(first: 2) { edges { node { id name price { amount } } } } }`);
    assert.equal(catalog.errors, undefined, JSON.stringify(catalog.errors));
    assert.equal(catalog.data.products.edges.length, 2);
    const login = await post(
      launcherUrl,
      `mutation { logIn(email: "customer@storefront.local", password: "customer-password-1") { accessToken } }`,
    );
    assert.ok(login.data?.logIn.accessToken, JSON.stringify(login.errors));
  });

  it('the compiled gateway (the image entry) fronts the subgraphs from its own process', async () => {
    const gatewayPort = await freePort();
    const subgraphUrl = (name: keyof typeof ports) => `http://127.0.0.1:${ports[name]}/graphql`;
    gateway = new NodeProcess('gateway/dist/main.js', {
      ...baseEnv(),
      GATEWAY_PORT: String(gatewayPort),
      SUBGRAPH_URL_USERS: subgraphUrl('users'),
      SUBGRAPH_URL_PRODUCTS: subgraphUrl('products'),
      SUBGRAPH_URL_ORDERS: subgraphUrl('orders'),
      SUBGRAPH_URL_NOTIFICATIONS: subgraphUrl('notifications'),
    });
    const url = `http://127.0.0.1:${gatewayPort}/graphql`;
    // Stops waiting as soon as the process exits (a missing file at start, say), to show its output.
    await eventually(
      async () =>
        gateway!.child.exitCode !== null || (await fetch(new URL('/healthz', url)).catch(() => undefined))?.ok,
      60_000,
      'the compiled gateway to listen',
    );
    assert.equal(gateway.child.exitCode, null, gateway.output);
    const login = await post(
      url,
      `mutation { logIn(email: "customer@storefront.local", password: "customer-password-1") { accessToken user { name } } }`,
    );
    assert.equal(login.data?.logIn.user.name, 'Demo Customer', JSON.stringify(login.errors));
    const catalog = await post(url, `{ products(first: 1) { edges { node { name } } } }`);
    assert.equal(catalog.errors, undefined, JSON.stringify(catalog.errors));
    // prom-client works from the bundle too (it is external: resolved from node_modules).
    const metrics = await (await fetch(new URL('/metrics', url))).text();
    assert.match(
      metrics,
      /gateway_graphql_requests_total\{operation_type="query",operation_name="",client_name="",client_version="",outcome="ok"\} 1/,
    );
    assert.equal(await gateway.stop(), 0, gateway.output);
  });

  it('the compiled launcher stops cleanly on SIGTERM', async () => {
    assert.equal(await launcher.stop(), 0, launcher.output);
  });
});
