import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, serviceTestEnv, freePort } from '@storefront/platform/testing';
import { buildAll, ENTRY_POINTS } from '../../scripts/build.ts';
import { ENTRIES, ServiceProcess, type ServiceName } from '../faults/support/supervisor.ts';

/**
 * A real Prometheus (Debian's package, as in production) scraping the
 * gateway and the four services, each its own process from its compiled
 * entry: through Prometheus's HTTP API, every target is up and the series an
 * operator's dashboards and alerts read have arrived — per-operation and
 * per-client request counts, subgraph requests, resolver durations, SQL
 * statements per request, outbox, consumer lag and dead-letter figures —
 * with trace ids as exemplars, the alert rules of ops/prometheus/ load and
 * every query of the Grafana dashboards runs.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SUBGRAPHS = ['users', 'products', 'orders', 'notifications'] as const;
const SERVICES: ServiceName[] = [...SUBGRAPHS, 'gateway'];

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('Prometheus scrapes the gateway and every service', { timeout: 300_000 }, () => {
  const processes = {} as Record<ServiceName, ServiceProcess>;
  let prometheus: ChildProcess | undefined;
  let prometheusUrl: string;
  let gatewayUrl: string;
  const logDir = mkdtempSync(join(tmpdir(), 'storefront-prometheus-'));

  const query = async (promql: string): Promise<Sample[]> => {
    const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data: { result: Sample[] }; error?: string };
    assert.equal(body.status, 'success', body.error);
    return body.data.result;
  };
  /** Waits until `promql` has a series for each of `values` of `label`. */
  const arrives = (promql: string, label: string, values: readonly string[]) =>
    eventually(
      async () => {
        const found = new Set((await query(promql)).map((s) => s.metric[label]));
        return values.every((v) => found.has(v)) ? found : undefined;
      },
      60_000,
      `${promql} for every ${label} of ${values.join(', ')}`,
    );

  before(async () => {
    const ports = Object.fromEntries(
      await Promise.all(SERVICES.map(async (name) => [name, await freePort()] as const)),
    ) as Record<ServiceName, number>;
    const wanted = new Set(Object.values(ENTRIES));
    await buildAll({ logLevel: 'silent', entries: ENTRY_POINTS.filter((e) => wanted.has(e.output)) });
    const test = await serviceTestEnv();
    const env: Record<string, string> = {
      ...test,
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      GATEWAY_PORT: String(ports.gateway),
      ...Object.fromEntries(SUBGRAPHS.map((name) => [`${name.toUpperCase()}_PORT`, String(ports[name])])),
      // As deployed: a prebuilt supergraph, one URL per subgraph.
      SUPERGRAPH_SDL: 'supergraph.graphql',
      ...Object.fromEntries(
        SUBGRAPHS.map((name) => [`SUBGRAPH_URL_${name.toUpperCase()}`, `http://127.0.0.1:${ports[name]}/graphql`]),
      ),
      JWKS_URL: `http://127.0.0.1:${ports.users}/.well-known/jwks.json`,
      // Every request traced (to the test Jaeger), so every latency observation has a trace id for its exemplar.
      ...(process.env.JAEGER_OTLP_URL
        ? { OTEL_EXPORTER_OTLP_ENDPOINT: process.env.JAEGER_OTLP_URL, OTEL_TRACES_SAMPLER: 'always_on' }
        : {}),
    };
    assert.ok(env.KAFKA_BROKERS && env.DATABASE_URL, 'needs the test Kafka and PostgreSQL (npm test starts them)');
    for (const name of SERVICES) processes[name] = new ServiceProcess(name, ports[name], env, logDir, ROOT);
    await Promise.all(SUBGRAPHS.map((name) => processes[name].start()));
    await processes.gateway.start();
    gatewayUrl = processes.gateway.url;

    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    const config = join(logDir, 'prometheus.yml');
    const rules = (file: string) => join(ROOT, 'ops/prometheus', file);
    writeFileSync(
      config,
      [
        'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
        `rule_files: ['${rules('slo-rules.yml')}', '${rules('alerts.yml')}']`,
        'scrape_configs:',
        // Job names as in ops/prometheus/prometheus.yml: the alerts rely on them.
        ...SERVICES.map(
          (name) => `  - { job_name: ${name}, static_configs: [{ targets: ['127.0.0.1:${ports[name]}'] }] }`,
        ),
      ].join('\n') + '\n',
    );
    const log = createWriteStream(join(logDir, 'prometheus.log'));
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(logDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--enable-feature=exemplar-storage',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.pipe(log);
    prometheus.stderr!.pipe(log);
    await eventually(
      async () => {
        if (prometheus!.exitCode !== null)
          throw new Error(`prometheus exited: ${readFileSync(join(logDir, 'prometheus.log'), 'utf8')}`);
        return (await fetch(`${prometheusUrl}/-/ready`).catch(() => undefined))?.ok;
      },
      60_000,
      'Prometheus to be ready',
    );

    // Traffic: a sign-up (users writes its outbox), the catalog from a named app, and a query of the customer's orders.
    const post = async (body: object, headers: Record<string, string> = {}) => {
      const res = await fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { data?: any; errors?: unknown[] };
      assert.equal(json.errors, undefined, JSON.stringify(json.errors));
      return json.data;
    };
    const signUp = await post({
      query: `mutation SignUp($email: String!) { signUp(input: { email: $email, name: "Metrics Customer", password: "a-good-password-1" }) { accessToken } }`,
      variables: { email: `metrics-${Date.now()}@example.com` },
    });
    const web = { 'apollographql-client-name': 'storefront-web', 'apollographql-client-version': '3.2.1' };
    for (let i = 0; i < 3; i++)
      await post({ query: `query Catalog { products(first: 5) { edges { node { id name } } } }` }, web);
    await post(
      { query: `query MyOrders { me { name orders(first: 5) { edges { node { id } } } } }` },
      { ...web, authorization: `Bearer ${signUp.signUp.accessToken}` },
    );
  });

  after(async () => {
    prometheus?.kill('SIGKILL');
    await Promise.all(Object.values(processes).map((p) => p.stop(10_000)));
    for (const p of Object.values(processes)) p.close();
    // The logs stay for a failure's post-mortem; Prometheus's data goes.
    rmSync(join(logDir, 'data'), { recursive: true, force: true });
  });

  it('finds every target up', async () => {
    await arrives('up == 1', 'job', SERVICES);
  });

  it('receives the gateway’s requests by operation name and client app, and its latency per operation', async () => {
    const catalog = await eventually(
      async () =>
        (
          await query(
            'sum by (operation_name, client_name, client_version) (gateway_graphql_requests_total{operation_name="Catalog", outcome="ok"})',
          )
        ).find((s) => Number(s.value[1]) >= 3),
      60_000,
      'the Catalog requests',
    );
    assert.deepEqual(catalog.metric, {
      operation_name: 'Catalog',
      client_name: 'storefront-web',
      client_version: '3.2.1',
    });
    await arrives('gateway_graphql_request_duration_seconds_count', 'operation_name', [
      'Catalog',
      'MyOrders',
      'SignUp',
    ]);
    await arrives('gateway_subgraph_fetches_total', 'subgraph', ['users', 'products', 'orders']);
  });

  it('receives each service’s requests, resolver durations and SQL statements per request', async () => {
    await arrives('subgraph_graphql_requests_total{outcome="ok"}', 'service', ['users', 'products', 'orders']);
    await arrives('subgraph_graphql_request_duration_seconds_count', 'service', ['users', 'products', 'orders']);
    await arrives('subgraph_resolver_duration_seconds_count', 'field', [
      'Query.products',
      'Query._entities',
      'Mutation.signUp',
    ]);
    const statements = await arrives('subgraph_sql_statements_per_request_count > 0', 'service', [
      'users',
      'products',
      'orders',
    ]);
    assert.ok(statements.size >= 3);
  });

  it('receives the outbox, consumer lag and dead-letter figures of every service', async () => {
    await arrives('outbox_backlog_events', 'service', SUBGRAPHS);
    await arrives('outbox_oldest_event_age_seconds', 'service', SUBGRAPHS);
    // Each service's own consumer groups, per partition of each topic they read.
    const lag = await arrives('events_consumer_lag', 'group', ['products', 'orders', 'notifications']);
    assert.ok(lag.size >= 3);
    const partitions = await query('count by (group, topic) (events_consumer_lag{group="products"})');
    assert.ok(partitions.length > 0 && partitions.every((s) => Number(s.value[1]) >= 1));
    await arrives('events_dead_letter_messages', 'topic', ['order-events.dlq', 'inventory-events.dlq']);
    await arrives('process_cpu_seconds_total', 'job', SERVICES);
  });

  it('keeps trace ids as exemplars of the latency buckets', async () => {
    assert.ok(process.env.JAEGER_OTLP_URL, 'JAEGER_OTLP_URL comes from `npm run services start`');
    const exemplar = await eventually(
      async () => {
        const now = Date.now() / 1000;
        const res = await fetch(
          `${prometheusUrl}/api/v1/query_exemplars?query=${encodeURIComponent('gateway_graphql_request_duration_seconds_bucket')}&start=${now - 600}&end=${now}`,
        );
        const body = (await res.json()) as {
          data: { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string> }[] }[];
        };
        return body.data.flatMap((s) => s.exemplars.map((e) => ({ series: s.seriesLabels, labels: e.labels })))[0];
      },
      60_000,
      'an exemplar',
    );
    assert.match(exemplar.labels.trace_id ?? '', /^[0-9a-f]{32}$/);
  });

  it('runs every query of the Grafana dashboards (ops/grafana/dashboards/) without error', async () => {
    const dir = join(ROOT, 'ops/grafana/dashboards');
    const failures: string[] = [];
    let queries = 0;
    for (const file of readdirSync(dir)) {
      const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
        panels: { targets: { expr: string }[] }[];
      };
      for (const { expr } of dashboard.panels.flatMap((p) => p.targets)) {
        queries++;
        // Template variables as Grafana fills them with "All".
        const promql = expr.replaceAll('$operation', '.*');
        const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
        const body = (await res.json()) as { status: string; error?: string };
        if (body.status !== 'success') failures.push(`${file}: ${expr}: ${body.error}`);
      }
    }
    assert.ok(queries > 50);
    assert.deepEqual(failures, []);
  });

  it('loads the alert rules and evaluates them without error', async () => {
    const groups = await eventually(
      async () => {
        const res = await fetch(`${prometheusUrl}/api/v1/rules`);
        const body = (await res.json()) as {
          data: { groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] };
        };
        const all = body.data.groups.flatMap((g) => g.rules);
        return all.length > 0 && all.every((r) => r.health !== 'unknown') ? body.data.groups : undefined;
      },
      90_000,
      'every rule evaluated once',
    );
    assert.deepEqual(groups.map((g) => g.name).sort(), [
      'storefront-edge',
      'storefront-events',
      'storefront-instances',
      'storefront-slo',
      'storefront-slo-alerts',
    ]);
    const failing = groups.flatMap((g) => g.rules).filter((r) => r.health !== 'ok');
    assert.deepEqual(failing, []);
  });
});
